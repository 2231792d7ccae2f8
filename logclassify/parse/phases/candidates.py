"""Which lines each phase reader has to look at, from the input's shared `LineIndex`.

Every reader acts only on lines that hold one of its literals (a marker, an error word, a progress bar, a waiting
message), so it visits those lines alone instead of testing every line. The index searches whole lines, which
contain the message, so the rows found are a superset: readers still test the message as before.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from functools import cached_property

from logclassify.parse.phases.markers import (
    LITERALS,
    MAYBE_BAD_FOLDED,
    MAYBE_BAD_ODD_LETTERS,
    RETRY_TRIGGERS,
    TQDM_LITERALS,
    WAITING,
)
from logclassify.read.lineindex import LineIndex
from logclassify.read.logline import LogLine
from logclassify.select.literal_index import LiteralIndex


def between(rows: Sequence[int], start: int, stop: int | None = None) -> Sequence[int]:
    """The rows (ascending) from `start` (clamped at 0) up to, not including, `stop`."""
    lo = bisect.bisect_left(rows, max(0, start))
    hi = len(rows) if stop is None else bisect.bisect_left(rows, stop, lo)
    return rows[lo:hi]


_OWN: list[LiteralIndex] = []


def own_index(lines: Sequence[LogLine]) -> LineIndex:
    """A `LineIndex` for a caller that has none, with the absent literals ruled out in one Hyperscan pass (as the
    classifier's index does): otherwise each of the ~90 `LITERALS` costs a search of the whole input."""
    if not _OWN:
        _OWN.append(LiteralIndex(LITERALS, MAYBE_BAD_FOLDED))
    index = LineIndex(lines)
    presence = _OWN[0].presence(index.haystack(True, False)[0])
    if presence is not None:
        index.known = presence.known
    return index


class Candidates:
    """One input's candidate rows per reader, looked up when first needed and kept for the other readers."""

    def __init__(self, lines: Sequence[LogLine], index: LineIndex | None) -> None:
        self.index = index if index is not None else own_index(lines)

    @cached_property
    def literals(self) -> dict[int, list[str]]:
        """Row -> the `LITERALS` in its whole line, in `LITERALS` order (rows ascending)."""
        by_row: dict[int, list[str]] = {}
        for lit in self.index.maybe_present(LITERALS):
            for i in self.index.lines_with(lit):
                found = by_row.get(i)
                if found is None:
                    by_row[i] = [lit]
                else:
                    found.append(lit)
        return dict(sorted(by_row.items()))

    @cached_property
    def maybe_bad(self) -> list[int]:
        """The rows `MAYBE_BAD` can match (it is searched in the whole line)."""
        rows = self.index.lines_with_any(MAYBE_BAD_FOLDED, lower=True)
        odd = self.index.lines_with_any(MAYBE_BAD_ODD_LETTERS)
        return sorted(set(rows).union(odd)) if odd else rows

    @cached_property
    def bars(self) -> list[int]:
        """The rows that may hold a tqdm progress bar."""
        return self.index.lines_with_any(TQDM_LITERALS)

    @cached_property
    def waiting(self) -> list[int]:
        """The rows that may hold a periodic waiting message."""
        return self.index.lines_with_any(w[0] for w in WAITING)

    @cached_property
    def retries(self) -> list[int]:
        """The rows that may report a retried download."""
        return self.index.lines_with_any(RETRY_TRIGGERS)
