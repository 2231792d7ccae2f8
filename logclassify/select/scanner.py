"""`Scanner`: the triggers of all rules searched together, one pass over each chunk, by Hyperscan or `bytes.find`.

It turns candidates (from either backend) into a `Selection` through `state.ScanState`; large files go to `parallel`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence

from logclassify.read.sources import decode
from logclassify.select import parallel
from logclassify.select.hyperscan_db import HyperscanDatabases
from logclassify.select.state import ScanState, Selection
from logclassify.select.triggers import MARKER, Trigger, Verifier

HYPERSCAN_MIN_CHUNK = 0  # chunks smaller than this are searched with bytes.find (Hyperscan is faster even on 1 KB)


class Scanner:
    """Selects lines from line-aligned byte chunks (see `read.sources.iter_chunks`)."""

    def __init__(self, triggers: Sequence[Trigger], *, backend: str | None = None) -> None:
        """backend: auto (Hyperscan on large chunks when installed), hyperscan (always, or fail), python (never).
        The default comes from $LOGCLASSIFY_SCAN_BACKEND, else auto."""
        backend = backend or os.environ.get("LOGCLASSIFY_SCAN_BACKEND") or "auto"
        if backend not in ("auto", "hyperscan", "python"):
            raise ValueError(f"unknown scan backend {backend!r}")
        self.triggers = tuple(triggers)
        self.anchors = [i for i, t in enumerate(self.triggers) if t.kind != MARKER and t.literals]
        self.verifiers = {i: Verifier(self.triggers[i]) for i in self.anchors}
        # Markers: one per literal; a literal that is also an anchor's needs no marker.
        anchor_lits = {lit for i in self.anchors if self.triggers[i].regex is None and not self.triggers[i].ignore_case
                       for lit in self.triggers[i].literals}
        self.markers: list[bytes] = sorted(
            {lit.encode() for t in self.triggers if t.kind == MARKER for lit in t.literals if lit} - {
                a.encode() for a in anchor_lits}
        )
        # bytes.find plan: literal -> anchor triggers, case-sensitive and folded
        self._exact: dict[bytes, list[int]] = {}
        self._folded: dict[bytes, list[int]] = {}
        for i in self.anchors:
            t = self.triggers[i]
            for lit in t.literals:
                if t.ignore_case:
                    self._folded.setdefault(lit.lower().encode(), []).append(i)
                else:
                    self._exact.setdefault(lit.encode(), []).append(i)
        self.backend = backend
        self.on_bytes: Callable[[int], None] | None = None  # progress: bytes scanned so far in this input
        self._hs: HyperscanDatabases | None = None
        self._hs_tried = backend == "python"

    # -- backends -------------------------------------------------------------------------------------------
    def _hyperscan(self) -> HyperscanDatabases | None:
        if not self._hs_tried:
            self._hs_tried = True
            try:
                self._hs = HyperscanDatabases(self)
            except Exception as exc:  # not installed, or a database that cannot be built: bytes.find does it all
                if self.backend == "hyperscan":
                    raise
                if os.environ.get("LOGCLASSIFY_DEBUG"):
                    print(f"logclassify: hyperscan unavailable ({exc}); using bytes.find", file=sys.stderr)
                self._hs = None
        return self._hs

    def _candidates(self, chunk: bytes) -> tuple[list[tuple[int, int]], dict[int, int]]:
        """(offset, anchor trigger) for candidate anchor lines, and the first offset of each marker present."""
        if self.backend != "python" and (len(chunk) >= HYPERSCAN_MIN_CHUNK or self.backend == "hyperscan"):
            hs = self._hyperscan()
            if hs is not None:
                return hs.scan(chunk)
        return self._find(chunk)

    def _find(self, chunk: bytes) -> tuple[list[tuple[int, int]], dict[int, int]]:
        hits: list[tuple[int, int]] = []
        for hay, table in ((chunk, self._exact), (chunk.lower() if self._folded else b"", self._folded)):
            for lit, idxs in table.items():
                find = hay.find
                pos = find(lit)
                while pos >= 0:
                    for i in idxs:
                        hits.append((pos, i))
                    nl = find(b"\n", pos)
                    if nl < 0:
                        break
                    pos = find(lit, nl + 1)
        markers: dict[int, int] = {}
        for k, lit in enumerate(self.markers):
            pos = chunk.find(lit)
            if pos >= 0:
                markers[k] = pos
        return hits, markers

    def hit(self, line: bytes) -> bool:
        """Whether one raw line holds something a rule, fact or phase looks for (a marker, or a verified anchor)."""
        anchors, markers = self._find(line)
        if markers:
            return True
        text = None
        for _, i in anchors:
            text = text if text is not None else decode(line).rstrip("\r\n")
            if self.verifiers[i](text):
                return True
        return False

    @property
    def pattern(self) -> _LinePattern:
        """`pattern.search(line)`: truthy when `hit(line)` (for callers that test lines one at a time)."""
        return _LinePattern(self)

    # -- selection ------------------------------------------------------------------------------------------
    def select(self, chunks: Iterable[bytes]) -> Selection:
        st = ScanState(self)
        for chunk in chunks:
            st.feed(chunk)
            if self.on_bytes is not None:
                self.on_bytes(st.bytes_read)
        return st.finish()

    def select_file(self, path: str | os.PathLike[str], workers: int | None = None) -> Selection | None:
        """Scan a large plain file in `workers` processes, one byte range each; None when that does not apply
        (small, compressed or special file, one CPU, no fork, no Hyperscan): scan it as a stream then."""
        return parallel.select_file(self, path, workers)


class _LinePattern:
    def __init__(self, scanner: Scanner) -> None:
        self.scanner = scanner

    def search(self, line: bytes) -> bool | None:
        return True if self.scanner.hit(line) else None
