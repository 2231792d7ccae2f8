"""`LiteralIndex`: which of many literals occur in a text, and on which lines, in one Hyperscan pass.

Run on the selected lines (every rule, fact and phase literal), so that readers never search one by one for a literal
that is absent; `Presence` and `Located` are its answers, used through `LineIndex.known`.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from logclassify.select.hyperscan_db import compile_database, hs_escape

LOCATE_MAX = 20_000  # occurrences one LiteralIndex.locate pass reports before it gives way to per-literal searches


@dataclass(frozen=True)
class Presence:
    """Which indexed literals one text contains: exact ones as given, folded ones lowercased."""

    exact: set[str]
    folded: set[str]
    indexed_exact: frozenset[str]
    indexed_folded: frozenset[str]
    ascii_text: bool = True  # then no literal with other characters can be in it

    def any_of(self, literals: frozenset[str], folded: bool) -> bool | None:
        """Whether one of the literals is in the text; None when some were not looked for."""
        if folded:
            return not literals.isdisjoint(self.folded) if literals <= self.indexed_folded else None
        return not literals.isdisjoint(self.exact) if literals <= self.indexed_exact else None

    def excludes(self, literal: str, folded: bool) -> bool:
        """True when the literal was looked for and is not in the text (False when it was not looked for)."""
        if folded:
            return literal in self.indexed_folded and literal not in self.folded
        return literal in self.indexed_exact and literal not in self.exact

    def known(self, literal: str, folded: bool) -> list[int] | None:
        """For `LineIndex`: no lines when the literal is absent, else None (search)."""
        return [] if self.excludes(literal, folded) or (self.ascii_text and not literal.isascii()) else None


@dataclass(frozen=True)
class Located(Presence):
    """A `Presence` that also knows, for each literal found, the lines (by index) it is on."""

    rows: dict[tuple[str, bool], list[int]] = field(default_factory=dict)

    def known(self, literal: str, folded: bool) -> list[int] | None:
        found = self.rows.get((literal, folded))
        if found is not None:
            return found
        return super().known(literal, folded)


class LiteralIndex:
    """Which of many literals occur in a text, found in one Hyperscan pass instead of one `in` per literal.

    `present(text)` gives the case-sensitive literals found and the folded ones (given lowercased, matched ASCII
    case-insensitively), or None where the answer must come from `in` tests: no Hyperscan, or a text that is not
    pure ASCII (where `str.lower()` folds more than ASCII). The empty literal is never reported.
    """

    def __init__(self, exact: Iterable[str], folded: Iterable[str]) -> None:
        self._lits = [(a, False) for a in sorted(set(exact)) if a] + [(a, True) for a in sorted(set(folded)) if a]
        self._exact = frozenset(a for a, f in self._lits if not f)
        self._folded = frozenset(a for a, f in self._lits if f)
        self._sizes = [len(a.encode("utf-8", "surrogatepass")) for a, _ in self._lits]  # bytes, as Hyperscan counts
        self._dbs: dict[bool, Any] = {}
        self._hs: Any = None
        self._disabled = os.environ.get("LOGCLASSIFY_SCAN_BACKEND") == "python" or not self._lits
        self._local = threading.local()

    def _database(self, every: bool = False) -> Any:
        """The database reporting each literal once (`present`) or at every occurrence (`locate`)."""
        if every not in self._dbs:
            self._dbs[every] = None
            if self._disabled:
                return None
            try:
                import hyperscan

                one = 0 if every else hyperscan.HS_FLAG_SINGLEMATCH
                exprs = [hs_escape(a.encode()) for a, _ in self._lits]
                flags = [one | (hyperscan.HS_FLAG_CASELESS if f else 0) for _, f in self._lits]
                self._dbs[every], self._hs = compile_database(hyperscan, exprs, flags), hyperscan
            except Exception:  # not installed, or a database that cannot be built: `in` tests do it
                pass
        return self._dbs[every]

    def presence(self, text: str) -> Presence | None:
        """`present(text)` as a `Presence`, which also knows which literals were looked for."""
        found = self.present(text)
        if found is None:
            return None
        return Presence(found[0], found[1], self._exact, self._folded)

    def locate(self, text: str, starts: Sequence[int]) -> Located | None:
        """Every occurrence of every literal in one Hyperscan pass, as the lines (`starts`: where each line of
        `text` begins) each literal is on. None without Hyperscan, or when the literals occur so often (over
        LOCATE_MAX times) that per-literal searches are cheaper than one callback per occurrence.

        Text that is not pure ASCII is scanned as UTF-8, which finds exact literals exactly (no character's
        encoding contains another's); folded ones are then left to searches of the lowercased text, since
        `str.lower()` folds more than ASCII (the Kelvin sign becomes `k`)."""
        db = self._database(every=True)
        if db is None:
            return None
        ascii_text = text.isascii()
        if ascii_text:
            data, line_starts = text.encode("ascii"), starts
        else:
            data = text.encode("utf-8", "surrogatepass")
            line_starts = [0]
            nl = data.find(b"\n")
            while nl >= 0:
                line_starts.append(nl + 1)
                nl = data.find(b"\n", nl + 1)
        scratch = getattr(self._local, "scratch_every", None)
        if scratch is None:
            scratch = self._local.scratch_every = self._hs.Scratch(db)
        rows: dict[int, list[int]] = {}
        count = 0
        lits = self._lits
        sizes = self._sizes

        def on(i: int, _from: int, to: int, _flags: int, _ctx: object) -> int | None:
            nonlocal count
            if not ascii_text and lits[i][1]:
                return None
            count += 1
            if count > LOCATE_MAX:
                return 1  # stop the scan
            row = bisect.bisect_right(line_starts, to - sizes[i]) - 1
            found = rows.get(i)
            if found is None:
                rows[i] = [row]
            elif found[-1] != row:
                found.append(row)
            return None

        try:
            db.scan(data, match_event_handler=on, scratch=scratch)
        except self._hs.ScanTerminated:
            return None
        if count > LOCATE_MAX:
            return None
        exact = {lits[i][0] for i in rows if not lits[i][1]}
        folded = {lits[i][0] for i in rows if lits[i][1]}
        indexed_folded = self._folded if ascii_text else frozenset()
        return Located(exact, folded, self._exact, indexed_folded, ascii_text, {lits[i]: r for i, r in rows.items()})

    def present(self, text: str) -> tuple[set[str], set[str]] | None:
        db = self._database()
        if db is None or not text.isascii():
            return None
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hs.Scratch(db)
        exact: set[str] = set()
        folded: set[str] = set()
        lits = self._lits

        def on(i: int, _from: int, _to: int, _flags: int, _ctx: object) -> None:
            lit, fold = lits[i]
            (folded if fold else exact).add(lit)

        db.scan(text.encode("ascii"), match_event_handler=on, scratch=scratch)
        return exact, folded
