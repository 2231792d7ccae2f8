"""One pass over the raw bytes that keeps only the lines some rule might care about, with their context.

Every rule condition that names text becomes a *trigger*; the triggers of all rules (plus the traceback header, the
failure words, fact and phase markers) are searched together in one multi-pattern pass over each chunk, so the cost
is one pass over the bytes whatever the number of rules. Two kinds of trigger:

* anchors (rule conditions, traceback header, failure words): a line that matches one is kept with CONTEXT_BEFORE
  lines before it and CONTEXT_AFTER after; a traceback header keeps lines until CONTEXT_AFTER lines past its
  exception line, at most TRACEBACK_AFTER;
* markers (fact, phase and environment literals): the line alone is kept, for the first MARKER_LINES lines holding
  that literal and the last MARKER_LAST ones. Markers such as "Avg prompt throughput" are on most lines of a serving
  log; keeping each with context would keep the whole file.

A line matches an anchor when the condition's regex (with ^ $ \\A \\Z dropped: the message starts after a prefix that
the raw line still has) is found in the raw line, or, for conditions without a usable regex, when the line contains
one of the condition's literals. Lines that the normaliser rewrites (ANSI colour codes, journald JSON, pasted escape
sequences) match on the literal alone. The last TAIL_LINES lines of the input are always kept: a log that stops in
the middle of a startup phase is evidence too. The selection depends only on the lines, never on how the input was
cut into chunks or byte ranges (tests/test_scale.py).

Backends: Hyperscan (the `hyperscan` package, where it has wheels), rule regexes compiled as prefilters; elsewhere
`bytes.find` per literal. Both give exactly the same selection: candidate lines are always verified in Python.
Large plain files are scanned in byte ranges by forked worker processes (`Scanner.select_file`). bench/README.md
has the measurements behind these choices.
"""

from __future__ import annotations

import bisect
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import regex

from logclassify.lazyre import lazy
from logclassify.read.logline import LogLine
from logclassify.read.normalize import normalize_line
from logclassify.read.sources import decode

CONTEXT_BEFORE = 40  # lines kept before a hit (proximity conditions, the start of a traceback)
CONTEXT_AFTER = 60  # lines kept after a hit
TRACEBACK_AFTER = 400  # a traceback header keeps up to this many lines after it, to reach its exception line
TAIL_LINES = 40  # always keep the end of the input
MARKER_LINES = 100  # a marker literal keeps its first this many lines ...
MARKER_LAST = 20  # ... and its last this many
LOCATE_MAX = 20_000  # occurrences one LiteralIndex.locate pass reports before it gives way to per-literal searches
HYPERSCAN_MIN_CHUNK = 0  # chunks smaller than this are searched with bytes.find (Hyperscan is faster even on 1 KB)
VERIFY_TIMEOUT_S = 0.25  # a regex that takes longer on one line counts as a match (the line is kept) ...
MAX_TIMEOUTS = 3  # ... and after this many timeouts its literals alone decide

ANCHOR, TRACEBACK, MARKER = 0, 1, 2
_AFTER = {ANCHOR: CONTEXT_AFTER, TRACEBACK: TRACEBACK_AFTER}  # the longest a window can be
# Raw lines that the normaliser rewrites before rules see them: matched on literals only.
_ESCAPES: tuple[bytes, ...] = (b"\x1b", b"^[[", b"#033[", b"\\033[", b"\\x1b[", b"\\u001b[", b"\\e[", b'"MESSAGE"')
_ESCAPES_STR = tuple(e.decode() for e in _ESCAPES)


@dataclass(frozen=True)
class Trigger:
    """Text that makes a line worth keeping. `literals`: one of them occurs in every matching line."""

    literals: tuple[str, ...]
    regex: str | None = None  # searched in the raw line when given (anchors stripped)
    ignore_case: bool = False
    kind: int = ANCHOR


@dataclass
class Selection:
    """The kept lines as runs of consecutive input lines (segments), and the input's line count."""

    segments: list[list[LogLine]] = field(default_factory=list)
    total_lines: int = 0
    bytes_read: int = 0

    @property
    def lines(self) -> list[LogLine]:
        return [ln for seg in self.segments for ln in seg]


def strip_anchors(pattern: str) -> str:
    """The pattern with ^ $ \\A \\Z \\z removed (a superset of its matches) and `{,n}` spelled `{0,n}`."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if not in_class and nxt in "AZz":
                i += 2
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("]")
                i += 1
            continue
        if c in "^$":
            i += 1
            continue
        if c == "{" and pattern.startswith("{,", i):
            out.append("{0,")
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


class _Verifier:
    """Decides whether a candidate line really matches an anchor trigger (its regex is compiled on first use)."""

    __slots__ = ("_compiled", "_pattern", "flags", "source", "timeouts")

    def __init__(self, trig: Trigger) -> None:
        self.source = trig.regex
        self.flags = regex.V0 | (regex.IGNORECASE if trig.ignore_case else 0)
        self._pattern: Any = None
        self._compiled = trig.regex is None
        self.timeouts = 0

    @property
    def pattern(self) -> Any:
        """The compiled regex, or None: no regex, one that does not compile, or one given up on after timeouts."""
        if not self._compiled:
            self._compiled = True
            try:
                self._pattern = regex.compile(strip_anchors(self.source or ""), self.flags)
            except regex.error:
                self._pattern = None
        return self._pattern

    def __call__(self, text: str) -> bool:
        pattern = self.pattern
        if pattern is None:
            return True
        if any(e in text for e in _ESCAPES_STR):
            return True
        try:
            return pattern.search(text, timeout=VERIFY_TIMEOUT_S) is not None
        except TimeoutError:
            self.timeouts += 1
            if self.timeouts >= MAX_TIMEOUTS:  # a pathological regex: its literals alone decide from now on
                self._pattern = None
            return True


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
        self.verifiers = {i: _Verifier(self.triggers[i]) for i in self.anchors}
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
        self._hs: _Hyperscan | None = None
        self._hs_tried = backend == "python"

    # -- backends -------------------------------------------------------------------------------------------
    def _hyperscan(self) -> _Hyperscan | None:
        if not self._hs_tried:
            self._hs_tried = True
            try:
                self._hs = _Hyperscan(self)
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
        st = _State(self)
        for chunk in chunks:
            st.feed(chunk)
            if self.on_bytes is not None:
                self.on_bytes(st.bytes_read)
        return st.finish()


    def select_file(self, path: str | os.PathLike[str], workers: int | None = None) -> Selection | None:
        """Scan a large plain file in `workers` processes, one byte range each; None when that does not apply
        (small, compressed or special file, one CPU, no fork, no Hyperscan): scan it as a stream then."""
        workers = workers or min(os.cpu_count() or 1, MAX_WORKERS)
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                if workers < 2 or size < PARALLEL_MIN_BYTES or f.read(2) == b"\x1f\x8b":
                    return None
                import multiprocessing

                if "fork" not in multiprocessing.get_all_start_methods() or self._hyperscan() is None:
                    return None
                starts = [0]
                for k in range(1, workers):
                    f.seek(size * k // workers)
                    f.readline()
                    pos = f.tell()
                    if starts[-1] < pos < size:
                        starts.append(pos)
        except OSError:
            return None
        ranges = [(os.fspath(path), a, b) for a, b in zip(starts, [*starts[1:], size], strict=True)]
        global _FORKED, _PROGRESS
        ctx = multiprocessing.get_context("fork")
        _FORKED = self
        _PROGRESS = ctx.Value("q", 0) if self.on_bytes is not None else None
        try:
            with ctx.Pool(len(ranges)) as pool:
                pending = pool.map_async(_scan_range, ranges, chunksize=1)
                while _PROGRESS is not None and self.on_bytes is not None and not pending.ready():
                    pending.wait(0.1)
                    self.on_bytes(_PROGRESS.value)
                parts = pending.get()
        finally:
            _FORKED = _PROGRESS = None
        return _merge(parts)


class _LinePattern:
    def __init__(self, scanner: Scanner) -> None:
        self.scanner = scanner

    def search(self, line: bytes) -> bool | None:
        return True if self.scanner.hit(line) else None


PARALLEL_MIN_BYTES = 64 << 20  # plain files at least this large are scanned in several processes
MAX_WORKERS = 4
_FORKED: Scanner | None = None
_PROGRESS: Any = None  # bytes done by all workers (a shared counter), when progress is shown


class _Range:
    """A file seen from `start` for `size` bytes (ranges begin at line starts, so no line spans two)."""

    def __init__(self, f: Any, size: int) -> None:
        self.f = f
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        b = self.f.read(n) if n > 0 else b""
        self.left -= len(b)
        return b

    def readline(self, limit: int = -1) -> bytes:
        n = self.left if limit < 0 else min(limit, self.left)
        b = self.f.readline(n) if n > 0 else b""
        self.left -= len(b)
        return b


def _file_chunks(f: Any, start: int, end: int) -> Iterator[bytes]:
    """Line-aligned chunks of f[start:end] read straight into fresh buffers (no copy to join a partial line).
    Yields what `iter_chunks` would; where a line is longer than MAX_LINE it hands over to `iter_chunks`."""
    from logclassify.read.sources import CHUNK_SIZE, MAX_LINE, iter_chunks

    pos = start
    carry = b""
    buf = bytearray()  # one buffer, reused: the consumer is done with a chunk before asking for the next
    while pos < end:
        want = min(CHUNK_SIZE, end - pos)
        need = len(carry) + want
        if len(buf) < need:
            buf.extend(bytes(need - len(buf)))
        elif len(buf) > need:
            del buf[need:]
        buf[: len(carry)] = carry
        f.seek(pos)
        with memoryview(buf) as whole, whole[len(carry) :] as into:
            got = f.readinto(into)
        if not got:
            break
        if got < want:
            del buf[len(carry) + got :]
        chunk_start = pos - len(carry)
        pos += got
        last = buf.rfind(b"\n") + 1
        if pos >= end:
            last = len(buf)
        # a line longer than MAX_LINE anywhere: the general reader cuts it where it must
        i = 0
        long_line = len(buf) - last > MAX_LINE
        while not long_line and last - i > MAX_LINE:
            nl = buf.rfind(b"\n", i, i + MAX_LINE + 1)
            if nl < 0:
                long_line = True
            i = nl + 1
        if long_line or last == 0:
            f.seek(chunk_start)
            yield from iter_chunks(_Range(f, end - chunk_start))  # type: ignore[arg-type]
            return
        carry = bytes(buf[last:])
        del buf[last:]
        yield buf  # type: ignore[misc]
    if carry:
        yield carry


def _scan_range(job: tuple[str, int, int]) -> dict[str, Any]:
    path, start, end = job
    assert _FORKED is not None
    st = _State(_FORKED)
    with open(path, "rb", buffering=0) as f:
        for chunk in _file_chunks(f, start, end):
            st.feed(chunk)
            if _PROGRESS is not None:
                with _PROGRESS.get_lock():
                    _PROGRESS.value += len(chunk)
        f.seek(start)
        head = [f.readline() for _ in range(TRACEBACK_AFTER)] if start else []
    return _partial(st, head)


def _scan_range_bytes(scanner: Scanner, data: bytes) -> dict[str, Any]:
    """What a worker returns for a range holding `data` (for tests)."""
    import io

    from logclassify.read.sources import iter_chunks

    st = _State(scanner)
    for chunk in iter_chunks(io.BytesIO(data), 5000):
        st.feed(chunk)
    return _partial(st, data.splitlines(keepends=True)[:TRACEBACK_AFTER])


def _partial(st: _State, head: list[bytes]) -> dict[str, Any]:
    return {
        "kept": st.kept,
        "marker_kept": st.marker_kept,
        "marker_last": st.marker_last,
        "recent": list(st.recent),
        "lines": st.line_no,
        "win": (st.win.plain, st.win.tb_deadline, st.win.tb_header),
        "first_hit": st.first_hit,
        "bytes": st.bytes_read,
        "head": head,
    }


def _merge(parts: list[dict[str, Any]]) -> Selection:
    """Join the scans of consecutive byte ranges as if the file had been scanned in one pass."""
    kept: dict[int, bytes] = {}
    marker_kept: dict[int, list[tuple[int, bytes]]] = {}
    marker_last: dict[int, deque[tuple[int, bytes]]] = {}
    offset = 0
    win = _Window()
    prev_recent: list[tuple[int, bytes]] = []
    total_bytes = 0
    for p in parts:
        if offset:
            for i, raw in enumerate(p["head"], start=offset + 1):  # a window opened in the range before
                if i > win.limit() or not raw:
                    break
                kept.setdefault(i, raw)
                if win.tb_deadline:
                    win.took(i, raw)
            if p["first_hit"] is not None:  # backward context reaching into the range before
                lo = offset + p["first_hit"] - CONTEXT_BEFORE
                for n, raw in prev_recent:
                    if n >= lo:
                        kept.setdefault(n, raw)
        for n, raw in p["kept"].items():
            kept[offset + n] = raw
        for k, lines in p["marker_kept"].items():
            have = marker_kept.setdefault(k, [])
            for n, raw in lines[: MARKER_LINES - len(have)]:
                have.append((offset + n, raw))
        for k, lines in p["marker_last"].items():
            last = marker_last.setdefault(k, deque(maxlen=MARKER_LAST))
            last.extend((offset + n, raw) for n, raw in lines)
        plain, deadline, header = p["win"]
        win.plain = max(win.plain, offset + plain)
        if deadline:
            win.tb_deadline = max(win.tb_deadline, offset + deadline)
            win.tb_header = max(win.tb_header, offset + header)
        prev_recent = [(offset + n, raw) for n, raw in p["recent"]]
        offset += p["lines"]
        total_bytes += p["bytes"]
    for lines in marker_kept.values():
        for n, raw in lines:
            kept.setdefault(n, raw)
    for lines in marker_last.values():
        for n, raw in lines:
            kept.setdefault(n, raw)
    for n, raw in prev_recent:
        if n > offset - TAIL_LINES:
            kept.setdefault(n, raw)
    return Selection(segments=list(_segments(kept)), total_lines=offset, bytes_read=total_bytes)


_EXCEPTION_LINE = lazy(
    r"^\s*(?:[A-Za-z_]\w*\.)*(?:[A-Z]\w*(?:Error|Exception|Interrupt|Exit)|AssertionError)\b(?::|\s*$)"
)


class _Window:
    """How far forward lines are kept: `plain` (anchor windows, and tracebacks whose exception line was seen) and
    a pending traceback window that ends CONTEXT_AFTER lines after the traceback's exception line, or at its
    deadline (TRACEBACK_AFTER lines after the header) when no exception line comes."""

    __slots__ = ("plain", "tb_deadline", "tb_header")

    def __init__(self) -> None:
        self.plain = 0
        self.tb_deadline = 0  # 0: no traceback window pending
        self.tb_header = 0

    def limit(self) -> int:
        return max(self.plain, self.tb_deadline)

    def open(self, n: int, kind: int) -> None:
        if kind == TRACEBACK:
            self.tb_deadline = max(self.tb_deadline, n + TRACEBACK_AFTER)
            self.tb_header = max(self.tb_header, n)
        else:
            self.plain = max(self.plain, n + CONTEXT_AFTER)

    def took(self, n: int, raw: bytes) -> None:
        """Line n was kept while a traceback window is pending: its exception line closes it."""
        if n >= self.tb_deadline:
            self.plain = max(self.plain, self.tb_deadline)
            self.tb_deadline = 0
        elif n > self.tb_header and _is_exception_line(raw):
            self.plain = max(self.plain, min(self.tb_deadline, n + CONTEXT_AFTER))
            self.tb_deadline = 0


def _is_exception_line(raw: bytes) -> bool:
    if b"Error" not in raw and b"Exception" not in raw and b"Interrupt" not in raw and b"Exit" not in raw:
        return False
    return any(_EXCEPTION_LINE.match(ln.message) for ln in normalize_line(0, decode(raw).rstrip("\r\n")))


class _State:
    """The scan of one input: counts lines, keeps windows around verified hits, remembers what context needs."""

    def __init__(self, scanner: Scanner) -> None:
        self.sc = scanner
        self.kept: dict[int, bytes] = {}
        self.recent: deque[tuple[int, bytes]] = deque(maxlen=max(CONTEXT_BEFORE, TAIL_LINES))
        self.line_no = 0  # lines fully consumed
        self.win = _Window()  # forward context: keep every line up to win.limit()
        self.bytes_read = 0
        self.marker_count = [0] * len(scanner.markers)
        self.marker_kept: dict[int, list[tuple[int, bytes]]] = {}
        self.marker_last: dict[int, deque[tuple[int, bytes]]] = {}
        self.first_hit: int | None = None  # the first line that opened a window

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if not chunk.endswith(b"\n"):
            chunk += b"\n"  # only the last chunk of an input can lack it
        self.bytes_read += len(chunk)
        sc = self.sc
        anchor_hits, marker_first = sc._candidates(chunk)
        # Marker lines wanted from this chunk: (offset, marker) for the first lines within quota, and the last.
        marker_offs: list[tuple[int, int]] = []
        for k, pos in marker_first.items():
            lit = sc.markers[k]
            quota = MARKER_LINES - self.marker_count[k]
            got = 0
            while pos >= 0 and got < quota:
                marker_offs.append((pos, k))
                got += 1
                nl = chunk.find(b"\n", pos)
                pos = chunk.find(lit, nl + 1) if nl >= 0 else -1
            self.marker_count[k] += got
            pos = chunk.rfind(lit)
            last: list[tuple[int, int]] = []
            while pos >= 0 and len(last) < MARKER_LAST:  # the chunk's last lines with it
                last.append((pos, -1 - k))
                sol = chunk.rfind(b"\n", 0, pos)
                pos = chunk.rfind(lit, 0, sol) if sol > 0 else -1
            marker_offs.extend(reversed(last))
        # Walk the candidate offsets in order, numbering lines incrementally.
        events = sorted([(off, 0, i) for off, i in anchor_hits] + [(off, 1, k) for off, k in marker_offs])
        line_no = self.line_no
        win = self.win
        kept = self.kept
        triggers = sc.triggers
        pos_n = line_no + 1  # next line not yet kept or passed over ...
        pos_off = 0  # ... and where it starts
        count_off = 0  # the newlines before count_off are counted in count_n
        count_n = line_no
        last_start = -1
        n = line_no
        verified_line = -1
        verified: set[int] = set()
        size = len(chunk)
        find = chunk.find
        rfind = chunk.rfind

        def take() -> None:
            """Keep lines from pos_n while the forward window lasts (those in this chunk)."""
            nonlocal pos_n, pos_off
            while pos_off < size and pos_n <= win.limit():
                end = find(b"\n", pos_off) + 1
                raw = chunk[pos_off:end]
                kept[pos_n] = raw
                if win.tb_deadline:
                    win.took(pos_n, raw)
                pos_n += 1
                pos_off = end

        if win.limit() >= pos_n:  # forward context carried over from the previous chunk
            take()
        for off, kind, idx in events:
            if off < 0:
                off = 0
            start = rfind(b"\n", 0, off) + 1 if off > 0 else 0
            if start != last_start:
                count_n += _count_nl(chunk, count_off, start)
                count_off = start
                last_start = start
                n = count_n + 1
            if kind == 1:
                raw = chunk[start : find(b"\n", start) + 1]
                if idx >= 0:
                    self.marker_kept.setdefault(idx, []).append((n, raw))
                else:
                    q = self.marker_last.get(-1 - idx)
                    if q is None:
                        q = self.marker_last[-1 - idx] = deque(maxlen=MARKER_LAST)
                    if not q or q[-1][0] != n:
                        q.append((n, raw))
                continue
            if n != verified_line:
                verified_line = n
                verified = set()
            elif idx in verified:
                continue
            verified.add(idx)
            after = n + _AFTER[triggers[idx].kind]
            if after <= win.limit() and n < pos_n:
                continue  # inside a window already kept, and would not extend it
            text = decode(chunk[start : find(b"\n", start) + 1]).rstrip("\r\n")
            if not sc.verifiers[idx](text):
                continue
            if self.first_hit is None:
                self.first_hit = n
            lo = n - CONTEXT_BEFORE
            if lo <= line_no:  # backward context from earlier chunks
                for rn, raw in self.recent:
                    if rn >= lo:
                        kept.setdefault(rn, raw)
                lo = line_no + 1
            if lo >= pos_n:  # jump: walk back from this line's start to line lo
                back = start
                for _ in range(n - lo):
                    if back <= 0:
                        break
                    back = rfind(b"\n", 0, back - 1) + 1
                pos_n, pos_off = lo, back
            win.open(n, triggers[idx].kind)
            take()
        # count the rest of the chunk
        total = count_n + _count_nl(chunk, count_off, size)
        # remember the last lines for the backward context of the next chunk and the tail
        want = self.recent.maxlen or 0
        cut = size
        tail: list[tuple[int, bytes]] = []
        n = total
        while len(tail) < want and cut > 0:
            s = rfind(b"\n", 0, cut - 1) + 1
            tail.append((n, chunk[s:cut]))
            n -= 1
            cut = s
        for item in reversed(tail):
            self.recent.append(item)
        self.line_no = total

    def finish(self) -> Selection:
        sel = Selection(total_lines=self.line_no, bytes_read=self.bytes_read)
        for n, raw in self.recent:
            if n > self.line_no - TAIL_LINES:
                self.kept.setdefault(n, raw)
        for lines in self.marker_kept.values():
            for n, raw in lines:
                self.kept.setdefault(n, raw)
        for q in self.marker_last.values():
            for n, raw in q:
                self.kept.setdefault(n, raw)
        sel.segments = list(_segments(self.kept))
        return sel


_np_out: Any = None
_np: Any = None  # numpy, when installed: counts newlines 3x faster than bytes.count


def _count_nl(buf: bytes, start: int, end: int) -> int:
    global _np
    if end - start < (1 << 20):
        return buf.count(b"\n", start, end)
    if _np is None:
        try:
            import numpy

            _np = numpy
        except ImportError:
            _np = False
    if _np is False:
        return buf.count(b"\n", start, end)
    global _np_out
    n = end - start
    if _np_out is None or len(_np_out) < n:
        _np_out = _np.empty(max(n, 1 << 22), dtype=_np.bool_)
    out = _np_out[:n]
    _np.equal(_np.frombuffer(buf, dtype=_np.uint8, count=n, offset=start), 10, out=out)
    return int(_np.count_nonzero(out))


class _Hyperscan:
    """Two Hyperscan databases: regexes (pure-ASCII chunks without escape sequences) and literals (any chunk)."""

    def __init__(self, sc: Scanner) -> None:
        import hyperscan

        self.hs = hyperscan
        self.sc = sc
        self._local = threading.local()  # Hyperscan scratch space may not be shared between threads
        n_markers = len(sc.markers)
        pf = hyperscan.HS_FLAG_PREFILTER
        single = hyperscan.HS_FLAG_SINGLEMATCH
        caseless = hyperscan.HS_FLAG_CASELESS
        # literal database: ids [0, n_lit) anchors' literals (id -> trigger), then markers, then nothing else
        lit_exprs: list[bytes] = []
        lit_flags: list[int] = []
        self.lit_owner: list[int] = []
        for i in sc.anchors:
            t = sc.triggers[i]
            for lit in t.literals:
                lit_exprs.append(_hs_escape(lit.encode()))
                lit_flags.append(caseless if t.ignore_case else 0)
                self.lit_owner.append(i)
        self.lit_marker_base = len(lit_exprs)
        for m in sc.markers:
            lit_exprs.append(_hs_escape(m))
            lit_flags.append(single)
        self.n_markers = n_markers
        self.lit_db = _compile(hyperscan, lit_exprs, lit_flags)

        # regex database: one expression per anchor trigger where Hyperscan accepts its regex, else its literals
        def build(ok: Any, assume_valid: bool = False) -> tuple[list[bytes], list[int], list[int], int, int]:
            exprs: list[bytes] = []
            flags: list[int] = []
            owner: list[int] = []
            for i in sc.anchors:
                t = sc.triggers[i]
                cf = caseless if t.ignore_case else 0
                expr = None
                if t.regex is not None and (assume_valid or sc.verifiers[i].pattern is not None):
                    expr = strip_anchors(t.regex).encode()
                if expr is not None and ok(expr, pf | cf):
                    exprs.append(expr)
                    flags.append(pf | cf)
                    owner.append(i)
                else:
                    for lit in t.literals:
                        exprs.append(_hs_escape(lit.encode()))
                        flags.append(cf)
                        owner.append(i)
            mbase = len(exprs)
            for m in sc.markers:
                exprs.append(_hs_escape(m))
                flags.append(single)
            ebase = len(exprs)
            for e in _ESCAPES:
                exprs.append(_hs_escape(e))
                flags.append(single)
            return exprs, flags, owner, mbase, ebase

        # The key assumes every trigger regex compiles (so that a cached database needs none compiled); what
        # is stored under it is built from the real outcome, a function of the same expressions.
        exprs, flags, _, _, _ = build(lambda e, f: True, assume_valid=True)
        key = _key(hyperscan, exprs, flags)
        cached = _cache_load(hyperscan, f"rx-{key}")
        if cached is not None:
            self.rx_db, (self.rx_owner, self.rx_marker_base, self.rx_escape_base) = cached
            return
        exprs, flags, owner, mbase, ebase = build(lambda e, f: True)
        try:
            db = _compile(hyperscan, exprs, flags, cache=False)
        except Exception:  # some regex Hyperscan cannot take even as a prefilter: those go by their literals
            exprs, flags, owner, mbase, ebase = build(lambda e, f: _hs_ok(hyperscan, e, f))
            db = _compile(hyperscan, exprs, flags, cache=False)
        self.rx_db, self.rx_owner, self.rx_marker_base, self.rx_escape_base = db, owner, mbase, ebase
        _cache_store(hyperscan, f"rx-{key}", db, (owner, mbase, ebase))

    def _scratch(self, db: Any) -> Any:
        """This thread's scratch space for `db` (a Classifier is shared between a bot's threads)."""
        cache: dict[int, Any] | None = getattr(self._local, "scratch", None)
        if cache is None:
            cache = self._local.scratch = {}
        if id(db) not in cache:
            cache[id(db)] = self.hs.Scratch(db)
        return cache[id(db)]

    def scan(self, chunk: bytes) -> tuple[list[tuple[int, int]], dict[int, int]]:
        hits: list[tuple[int, int]] = []
        markers: dict[int, int] = {}
        escaped = [False]
        marks = self.sc.markers
        if chunk.isascii():
            owner = self.rx_owner
            mbase = self.rx_marker_base
            ebase = self.rx_escape_base

            def on_rx(i: int, _from: int, to: int, _flags: int, _ctx: object) -> bool | None:
                if i < mbase:
                    hits.append((to - 1 if to else 0, owner[i]))
                elif i < ebase:
                    markers[i - mbase] = to - len(marks[i - mbase])
                else:
                    escaped[0] = True  # this chunk is searched on literals instead
                return None

            self.rx_db.scan(chunk, match_event_handler=on_rx, scratch=self._scratch(self.rx_db))
            if not escaped[0]:
                return hits, markers
            hits.clear()
            markers.clear()
        owner = self.lit_owner
        mbase = self.lit_marker_base

        def on_lit(i: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            if i < mbase:
                hits.append((to - 1 if to else 0, owner[i]))
            else:
                markers[i - mbase] = to - len(marks[i - mbase])

        self.lit_db.scan(chunk, match_event_handler=on_lit, scratch=self._scratch(self.lit_db))
        return hits, markers


# Each byte as Hyperscan reads it literally: letters and digits as they are, anything else as \xNN.
_HS_BYTE = [bytes([c]) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else b"\\x%02x" % c for c in range(256)]


def _hs_escape(lit: bytes) -> bytes:
    table = _HS_BYTE
    return b"".join([table[c] for c in lit])


def _hs_ok(hyperscan: Any, expr: bytes, flags: int) -> bool:
    try:
        hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(expressions=[expr], flags=[flags])
        return True
    except Exception:
        return False


def _key(hyperscan: Any, exprs: list[bytes], flags: list[int]) -> str:
    from logclassify.engine.rulecache import digest

    versions = (getattr(hyperscan, "__version__", ""), getattr(regex, "__version__", ""))
    return digest(repr((versions, exprs, flags)))


def _cache_load(hyperscan: Any, name: str) -> tuple[Any, Any] | None:
    """A database (and its side data) compiled by an earlier run, or None."""
    import pickle

    from logclassify.engine.rulecache import cache_dir

    try:
        path = cache_dir() / f"hs-{name}.pickle"
        if not path.is_file():
            return None
        extra, blob = pickle.loads(path.read_bytes())
        db = hyperscan.loadb(blob, mode=hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)
        return db, extra
    except Exception:  # unreadable, stale or from another Hyperscan: compile again
        return None


def _cache_store(hyperscan: Any, name: str, db: Any, extra: Any) -> None:
    import pickle

    from logclassify.engine.rulecache import cache_dir, store

    try:
        data = pickle.dumps((extra, hyperscan.dumpb(db)))
    except Exception:
        return
    store(cache_dir() / f"hs-{name}.pickle", data)


def _compile(hyperscan: Any, exprs: list[bytes], flags: list[int], cache: bool = True) -> Any:
    """A block-mode database, from the user cache when the same expressions were compiled before."""
    key = _key(hyperscan, exprs, flags)
    if cache:
        cached = _cache_load(hyperscan, f"lit-{key}")
        if cached is not None:
            return cached[0]
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    if exprs:
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
    else:
        db.compile(expressions=[b"(?!)"], flags=[hyperscan.HS_FLAG_ALLOWEMPTY])
    if cache:
        _cache_store(hyperscan, f"lit-{key}", db, None)
    return db


def _segments(kept: dict[int, bytes]) -> Iterator[list[LogLine]]:
    """Decode and normalise the kept lines, grouped into runs of consecutive numbers."""
    segment: list[LogLine] = []
    prev = -1
    for n in sorted(kept):
        if segment and n != prev + 1:
            yield segment
            segment = []
        segment.extend(normalize_line(n, decode(kept[n]).rstrip("\r\n")))
        prev = n
    if segment:
        yield segment


@dataclass(frozen=True)
class Presence:
    """Which indexed literals one text contains: exact ones as given, folded ones lowercased."""

    exact: set[str]
    folded: set[str]
    indexed_exact: frozenset[str]
    indexed_folded: frozenset[str]

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
        """For `LineIndex`: no lines when the literal is absent (or not ASCII: the text is), else None (search)."""
        return [] if self.excludes(literal, folded) or not literal.isascii() else None


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
                exprs = [_hs_escape(a.encode()) for a, _ in self._lits]
                flags = [one | (hyperscan.HS_FLAG_CASELESS if f else 0) for _, f in self._lits]
                self._dbs[every], self._hs = _compile(hyperscan, exprs, flags), hyperscan
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
        `text` begins) each literal is on. None where `present` gives None, or when the literals occur so often
        (over LOCATE_MAX times) that per-literal searches are cheaper than one callback per occurrence."""
        db = self._database(every=True)
        if db is None or not text.isascii():
            return None
        scratch = getattr(self._local, "scratch_every", None)
        if scratch is None:
            scratch = self._local.scratch_every = self._hs.Scratch(db)
        rows: dict[int, list[int]] = {}
        count = 0
        lits = self._lits

        def on(i: int, _from: int, to: int, _flags: int, _ctx: object) -> int | None:
            nonlocal count
            count += 1
            if count > LOCATE_MAX:
                return 1  # stop the scan
            row = bisect.bisect_right(starts, to - len(lits[i][0])) - 1
            found = rows.get(i)
            if found is None:
                rows[i] = [row]
            elif found[-1] != row:
                found.append(row)
            return None

        try:
            db.scan(text.encode("ascii"), match_event_handler=on, scratch=scratch)
        except self._hs.ScanTerminated:
            return None
        if count > LOCATE_MAX:
            return None
        exact = {lits[i][0] for i in rows if not lits[i][1]}
        folded = {lits[i][0] for i in rows if lits[i][1]}
        return Located(exact, folded, self._exact, self._folded, {lits[i]: r for i, r in rows.items()})

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
