"""`ScanPlan`: what one scan looks for, fixed once from the rules' triggers and then shared read-only.

The classifier builds it from the rules; the scanner, its Hyperscan databases and each forked worker read it. It
holds no compiled pattern and no per-input state, so it is the same in every process and thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from logclassify.select.triggers import MARKER, Trigger

# What a backend finds in a chunk: (offset, anchor trigger) of each candidate anchor line, and the first offset of
# each marker present (by its index in `ScanPlan.markers`).
Candidates = tuple[list[tuple[int, int]], dict[int, int]]


@dataclass(frozen=True)
class ScanPlan:
    """The triggers (by index), which of them are anchors, the marker literals, and the `bytes.find` tables."""

    triggers: tuple[Trigger, ...]
    anchors: tuple[int, ...]  # triggers that keep a line with context: anchors and traceback headers with literals
    markers: tuple[bytes, ...]  # literals that keep their line alone (sorted); an anchor's plain literal is not one
    exact: tuple[tuple[bytes, tuple[int, ...]], ...]  # literal -> anchors, searched as written ...
    folded: tuple[tuple[bytes, tuple[int, ...]], ...]  # ... and lowercased, in the lowercased chunk

    @classmethod
    def of(cls, triggers: Sequence[Trigger]) -> ScanPlan:
        trigs = tuple(triggers)
        anchors = tuple(i for i, t in enumerate(trigs) if t.kind != MARKER and t.literals)
        # Markers: one per literal; a literal that is also an anchor's needs no marker.
        anchor_lits = {lit for i in anchors if trigs[i].regex is None and not trigs[i].ignore_case
                       for lit in trigs[i].literals}
        markers = sorted(
            {lit.encode() for t in trigs if t.kind == MARKER for lit in t.literals if lit} - {
                a.encode() for a in anchor_lits}
        )
        exact: dict[bytes, list[int]] = {}
        folded: dict[bytes, list[int]] = {}
        for i in anchors:
            t = trigs[i]
            for lit in t.literals:
                if t.ignore_case:
                    folded.setdefault(lit.lower().encode(), []).append(i)
                else:
                    exact.setdefault(lit.encode(), []).append(i)
        return cls(
            triggers=trigs,
            anchors=anchors,
            markers=tuple(markers),
            exact=tuple((lit, tuple(idxs)) for lit, idxs in exact.items()),
            folded=tuple((lit, tuple(idxs)) for lit, idxs in folded.items()),
        )


class Finder(Protocol):
    """What a scan of one input needs from the scanner (`scanner.Scanner`): its plan, the candidate lines of a chunk
    from either backend, and the check that a candidate really matches."""

    @property
    def plan(self) -> ScanPlan: ...

    def candidates(self, chunk: bytes) -> Candidates: ...

    def verify(self, trigger: int, text: str) -> bool: ...
