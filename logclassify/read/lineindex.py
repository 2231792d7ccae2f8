"""`LineIndex`: which of an input's lines contain a given literal, asked for many literals.

Rules, fact extractors and the collect_env reader each look for dozens of literals, most absent from any given log.
Testing every literal against every line costs literals x lines `in` tests; here the lines are joined once, each
literal is found with `str.find` (skipping to the next line after a hit), and answers are kept for the next asker.
An optional `known(literal, folded)` (a one-pass multi-literal scan, see `select.LiteralIndex`) answers for
the literals it looked for, present or absent, without any search; it returns None for the others. An optional
`screen(literals, folded)` from the same scan drops the absent ones of many literals in one call: readers that ask
for a hundred literals, most absent, then look up only the few that may occur.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Sequence

from logclassify.read.logline import LogLine

Known = Callable[[str, bool], "list[int] | None"]
Screen = Callable[[Iterable[str], bool], "list[str]"]


class LineIndex:
    """Literal lookups over one input's lines. Whole lines are searched: a message is part of its line, so the
    lines found also bound those whose message contains the literal (callers check the message itself)."""

    def __init__(self, lines: Sequence[LogLine], known: Known | None = None) -> None:
        self.lines = lines
        self.known = known
        self.screen: Screen | None = None
        self._haystacks: dict[tuple[bool, bool], tuple[str, list[str]]] = {}
        self._starts: dict[bool, list[int]] = {}
        self._found: dict[tuple[str, bool], list[int]] = {}

    def haystack(self, whole_line: bool, lower: bool) -> tuple[str, list[str]]:
        """The lines' texts (whole lines or messages, lowercased or not), joined by newlines and as a list."""
        key = (whole_line, lower)
        found = self._haystacks.get(key)
        if found is None:
            if lower:  # one lower() of the joined text, split again (a line never holds a newline)
                blob = self.haystack(whole_line, False)[0].lower()
                texts = blob.split("\n")
                if len(texts) != len(self.lines):
                    texts = [(ln.text if whole_line else ln.message).lower() for ln in self.lines]
                    blob = "\n".join(texts)
            else:
                texts = [ln.text if whole_line else ln.message for ln in self.lines]
                blob = "\n".join(texts)
            found = self._haystacks[key] = (blob, texts)
        return found

    def lines_with(self, literal: str, lower: bool = False) -> list[int]:
        """Indexes (into `lines`, ascending) of the lines whose text contains `literal` (lowercased text with
        `lower`; give the literal lowercased then). A literal with a newline is never on one line."""
        key = (literal, lower)
        found = self._found.get(key)
        if found is not None:
            return found
        if not literal or "\n" in literal:
            found = self._found[key] = []
            return found
        if self.known is not None:
            answer = self.known(literal, lower)
            if answer is not None:
                self._found[key] = answer
                return answer
        found = self._found[key] = []
        blob = self.haystack(True, lower)[0]
        starts = self.line_starts(lower)
        last = len(starts) - 1
        pos = blob.find(literal)
        while pos >= 0:
            i = bisect.bisect_right(starts, pos) - 1
            found.append(i)
            pos = blob.find(literal, starts[i + 1]) if i < last else -1
        return found

    def line_starts(self, lower: bool = False) -> list[int]:
        """Where each line begins in `haystack(True, lower)[0]`."""
        starts = self._starts.get(lower)
        if starts is None:
            texts = self.haystack(True, lower)[1]
            starts = self._starts[lower] = list(itertools.accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
        return starts

    def maybe_present(self, literals: Iterable[str], lower: bool = False) -> Iterable[str]:
        """The literals, in their order, less those `screen` knows to be absent (all of them without a screen)."""
        return literals if self.screen is None else self.screen(literals, lower)

    def lines_with_any(self, literals: Iterable[str], lower: bool = False) -> list[int]:
        """Indexes of the lines that contain at least one of the literals, ascending (a new list)."""
        if self.screen is not None:
            literals = self.screen(literals, lower)
            if len(literals) < 2:  # most readers' literals are all absent, or one is there
                return list(self.lines_with(literals[0], lower)) if literals else []
        rows: set[int] = set()
        for lit in literals:
            rows.update(self.lines_with(lit, lower))
        return sorted(rows)
