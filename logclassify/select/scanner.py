"""`Scanner`: the triggers of all rules searched together, one pass over each chunk, by Hyperscan or `bytes.find`.

It is built from a `ScanPlan` and adds what must be compiled (the Hyperscan databases, each trigger's `Verifier`),
lazily. It turns candidates (from either backend) into a `Selection` through `state.ScanState`; a large file goes
to `parallel`, whose workers get the scanner as their pool initialiser's argument.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from itertools import chain
from typing import TYPE_CHECKING

from logclassify.read.sources import decode
from logclassify.select.hyperscan_db import HyperscanDatabases
from logclassify.select.plan import Candidates, ScanPlan
from logclassify.select.state import ScanState, Selection
from logclassify.select.triggers import Verifier

if TYPE_CHECKING:
    from concurrent.futures import Future

HYPERSCAN_MIN_CHUNK = 0  # chunks smaller than this are searched with bytes.find (Hyperscan is faster even on 1 KB)


class Scanner:
    """Selects lines from line-aligned byte chunks (see `read.sources.iter_chunks`)."""

    def __init__(self, plan: ScanPlan, *, backend: str | None = None) -> None:
        """backend: auto (Hyperscan on large chunks when installed), hyperscan (always, or fail), python (never).
        The default comes from $LOGCLASSIFY_SCAN_BACKEND, else auto."""
        backend = backend or os.environ.get("LOGCLASSIFY_SCAN_BACKEND") or "auto"
        if backend not in ("auto", "hyperscan", "python"):
            raise ValueError(f"unknown scan backend {backend!r}")
        self.plan = plan
        self.verifiers = {i: Verifier(plan.triggers[i]) for i in plan.anchors}
        self.backend = backend
        self._hs: HyperscanDatabases | None = None
        self._hs_tried = backend == "python"

    # -- backends -------------------------------------------------------------------------------------------
    def hyperscan(self) -> HyperscanDatabases | None:
        """The Hyperscan databases, built (or loaded from the cache) on first use; None without Hyperscan."""
        if not self._hs_tried:
            self._hs_tried = True
            try:
                self._hs = HyperscanDatabases(self.plan, lambda i: self.verifiers[i].pattern is not None)
            except Exception as exc:  # not installed, or a database that cannot be built: bytes.find does it all
                if self.backend == "hyperscan":
                    raise
                if os.environ.get("LOGCLASSIFY_DEBUG"):
                    print(f"logclassify: hyperscan unavailable ({exc}); using bytes.find", file=sys.stderr)
                self._hs = None
        return self._hs

    def candidates(self, chunk: bytes) -> Candidates:
        """(offset, anchor trigger) for candidate anchor lines, and the first offset of each marker present."""
        if self.backend != "python" and (len(chunk) >= HYPERSCAN_MIN_CHUNK or self.backend == "hyperscan"):
            hs = self.hyperscan()
            if hs is not None:
                return hs.scan(chunk)
        return self._find(chunk)

    def verify(self, trigger: int, text: str) -> bool:
        """Whether a candidate line (decoded, without its newline) really matches anchor `trigger`."""
        return self.verifiers[trigger](text)

    def _find(self, chunk: bytes) -> Candidates:
        hits: list[tuple[int, int]] = []
        plan = self.plan
        for hay, table in ((chunk, plan.exact), (chunk.lower() if plan.folded else b"", plan.folded)):
            for lit, idxs in table:
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
        for k, lit in enumerate(plan.markers):
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
            if self.verify(i, text):
                return True
        return False

    @property
    def pattern(self) -> _LinePattern:
        """`pattern.search(line)`: truthy when `hit(line)` (for callers that test lines one at a time)."""
        return _LinePattern(self)

    # -- selection ------------------------------------------------------------------------------------------
    def select(self, chunks: Iterable[bytes], on_bytes: Callable[[int], None] | None = None) -> Selection:
        """The lines kept from one input; `on_bytes(n)` is told the bytes scanned so far after each chunk.

        From the second chunk on, a helper thread searches the next chunk (Hyperscan releases the GIL) while this
        one is read and walked: a stream (stdin, gzip, a file below `parallel`'s size) uses two cores, where it
        used one. The candidates are a function of the chunk alone, so the selection is the same."""
        st = ScanState(self)
        it = iter(chunks)
        first = next(it, None)
        if first is None:
            return st.finish()
        second = next(it, None)
        if second is None or self.hyperscan() is None:  # one chunk (most inputs), or bytes.find: no thread
            for chunk in chain((first,), () if second is None else (second,), it):
                self._feed(st, chunk, None, on_bytes)
            return st.finish()
        from concurrent.futures import ThreadPoolExecutor  # imported here: only inputs of several chunks need it

        if not second.endswith(b"\n"):
            second = second + b"\n"
        with ThreadPoolExecutor(1, thread_name_prefix="logclassify-scan") as pool:
            # the first chunk is walked before the second is searched: a crash loop fills the first lines within
            # it, and then no chunk is searched at all
            self._feed(st, first, None, on_bytes)
            ahead: Future[Candidates] | None = pool.submit(self.candidates, second) if not st.full else None
            chunk = second
            for nxt in it:
                if nxt and not nxt.endswith(b"\n"):  # what `ScanState.feed` would do: the search sees the same
                    nxt = nxt + b"\n"
                # the next chunk's search runs while this one is walked; a crash loop past its first lines goes
                # to `repeats`, which needs no candidates, so none are searched for it
                after = pool.submit(self.candidates, nxt) if not st.full else None
                self._feed(st, chunk, ahead, on_bytes)
                chunk, ahead = nxt, after
            self._feed(st, chunk, ahead, on_bytes)
        return st.finish()

    @staticmethod
    def _feed(st: ScanState, chunk: bytes, ahead: Future[Candidates] | None,
              on_bytes: Callable[[int], None] | None) -> None:
        st.feed(chunk, ahead.result() if ahead is not None else None)
        if on_bytes is not None:
            on_bytes(st.bytes_read)

    def select_file(
        self, path: str | os.PathLike[str], workers: int | None = None, on_bytes: Callable[[int], None] | None = None
    ) -> Selection | None:
        """Scan a large plain file in `workers` processes, one byte range each; None when that does not apply
        (small, compressed or special file, one CPU, no fork, no Hyperscan): scan it as a stream then."""
        if self.hyperscan() is None:  # without it, a worker's scan is too slow to be worth the processes
            return None
        from logclassify.select import parallel  # imported here: only large files need it

        return parallel.select_file(self, path, workers, on_bytes)


class _LinePattern:
    def __init__(self, scanner: Scanner) -> None:
        self.scanner = scanner

    def search(self, line: bytes) -> bool | None:
        return True if self.scanner.hit(line) else None
