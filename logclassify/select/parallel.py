"""The scan of a large plain file in byte ranges, one forked worker process each, merged as if scanned in one pass.

Each worker gets the scanner (and the shared progress counter) as its initialiser's arguments, which a forked
process inherits without pickling; only a range is sent per task, and its `Partial` scan comes back to be merged.
The workers run under `logclassify.pool`: a worker that dies (the OOM killer) makes the input fail with a message
naming its byte range (`InputError`), where `multiprocessing.Pool` waited forever.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from logclassify.read.sources import InputError, ReadStats
from logclassify.select import alloc, window
from logclassify.select.budget import Dropped
from logclassify.select.plan import Finder
from logclassify.select.state import ScanState, Selection, segments
from logclassify.select.window import (
    CONTEXT_BEFORE,
    MARKER_LAST,
    MARKER_LINES,
    TAIL_LINES,
    TRACEBACK_AFTER,
    Window,
)

MAX_WORKERS = 4


def select_file(
    finder: Finder,
    path: str | os.PathLike[str],
    workers: int | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Selection | None:
    """What `Scanner.select_file` does (see there)."""
    workers = workers or min(os.cpu_count() or 1, MAX_WORKERS)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            if workers < 2 or size < window.PARALLEL_MIN_BYTES or f.read(2) == b"\x1f\x8b":
                return None
            import multiprocessing

            if "fork" not in multiprocessing.get_all_start_methods():
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
    ranges = [(os.fspath(path), a, b, len(starts)) for a, b in zip(starts, [*starts[1:], size], strict=True)]
    ctx = multiprocessing.get_context("fork")
    progress = ctx.Value("q", 0) if on_bytes is not None else None

    def tick() -> None:
        if progress is not None and on_bytes is not None:
            on_bytes(progress.value)

    def lost(job: tuple[str, int, int, int], why: str) -> Partial:
        # a worker killed (the OOM killer) or failed: the selection would have a hole, so the input is not classified
        raise InputError(f"{job[0]}: the range of bytes {job[1]:,}-{job[2]:,} could not be scanned: {why}")

    from logclassify.pool import run_ordered

    parts = list(run_ordered(ranges, _scan_range, lost, jobs=len(ranges), ctx=ctx, init=_start_worker,
                             init_args=(finder, progress), tick=tick if progress is not None else None))
    tick()  # all of it, also when the workers finished before the first look
    return merge(parts)


_WORKER: tuple[Finder, Any] | None = None  # set in each worker process by `_start_worker`, never in the parent


def _start_worker(finder: Finder, progress: Any) -> None:
    """The pool's initialiser: a worker keeps the scanner and the progress counter it is started with."""
    global _WORKER
    _WORKER = (finder, progress)
    alloc.keep_freed_blocks()  # this process only scans: its chunks' big blocks are reused, not faulted in again


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


def _file_chunks(f: Any, start: int, end: int, stats: ReadStats) -> Iterator[bytes]:
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
            yield from iter_chunks(_Range(f, end - chunk_start), stats=stats)  # type: ignore[arg-type]
            return
        carry = bytes(buf[last:])
        del buf[last:]
        yield buf  # type: ignore[misc]
    if carry:
        yield carry


def _scan_range(job: tuple[str, int, int, int]) -> Partial:
    """A worker's task: scan one byte range of the file (one of `share` ranges, which share the memory budget)."""
    path, start, end, share = job
    assert _WORKER is not None, "a range is scanned only in a worker started by select_file"
    finder, progress = _WORKER

    def counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            yield chunk
            if progress is not None:
                with progress.get_lock():
                    progress.value += len(chunk)

    with open(path, "rb", buffering=0) as f:
        head = _head(f, start)
        stats = ReadStats()
        return scan_range(finder, counted(_file_chunks(f, start, end, stats)), head, share, stats)


def _head(f: Any, start: int) -> list[bytes]:
    """The first TRACEBACK_AFTER lines from `start` (none for the first range): what a window opened in the range
    before may reach into."""
    if not start:
        return []
    f.seek(start)
    return [f.readline() for _ in range(TRACEBACK_AFTER)]


@dataclass(frozen=True)
class Partial:
    """The scan of one byte range, with line numbers counted from the range's start, and what `merge` needs to
    join it to the range before: its first lines (`head`), its last ones (`recent`), its open windows."""

    kept: dict[int, bytes]
    marker_kept: dict[int, list[tuple[int, bytes]]]
    marker_last: dict[int, deque[tuple[int, bytes]]]
    recent: list[tuple[int, bytes]]
    lines: int
    win: tuple[int, int, int]  # the Window's plain, tb_deadline, tb_header
    first_hit: int | None
    bytes_read: int
    head: list[bytes]
    dropped: Dropped  # what the memory budget left out
    read: ReadStats  # the long lines shortened


def scan_range(
    finder: Finder, chunks: Iterable[bytes], head: list[bytes], share: int = 1, stats: ReadStats | None = None
) -> Partial:
    """The scan of one byte range given as line-aligned chunks; `head`: the range's first TRACEBACK_AFTER lines
    (empty for the first range); `share`: how many ranges divide the memory budget; `stats`: what the reader of
    `chunks` shortened."""
    st = ScanState(finder, share)
    for chunk in chunks:
        st.feed(chunk)
    st.kept.update((n, raw) for n, raw in st.ring.items() if n not in st.kept)
    return Partial(
        dropped=st.dropped,
        read=stats or ReadStats(),
        kept=st.kept,
        marker_kept=st.marker_kept,
        marker_last=st.marker_last,
        recent=list(st.recent),
        lines=st.line_no,
        win=(st.win.plain, st.win.tb_deadline, st.win.tb_header),
        first_hit=st.first_hit,
        bytes_read=st.bytes_read,
        head=head,
    )


def merge(parts: list[Partial]) -> Selection:
    """Join the scans of consecutive byte ranges as if the file had been scanned in one pass."""
    kept: dict[int, bytes] = {}
    marker_kept: dict[int, list[tuple[int, bytes]]] = {}
    marker_last: dict[int, deque[tuple[int, bytes]]] = {}
    offset = 0
    win = Window()
    prev_recent: list[tuple[int, bytes]] = []
    total_bytes = 0
    dropped = Dropped()
    read = ReadStats()
    for p in parts:
        if offset:
            for i, raw in enumerate(p.head, start=offset + 1):  # a window opened in the range before
                if i > win.limit() or not raw:
                    break
                kept.setdefault(i, raw)
                if win.tb_deadline:
                    win.took(i, raw)
            if p.first_hit is not None:  # backward context reaching into the range before
                lo = offset + p.first_hit - CONTEXT_BEFORE
                for n, raw in prev_recent:
                    if n >= lo:
                        kept.setdefault(n, raw)
        for n, raw in p.kept.items():
            kept[offset + n] = raw
        for k, lines in p.marker_kept.items():
            have = marker_kept.setdefault(k, [])
            for n, raw in lines[: MARKER_LINES - len(have)]:
                have.append((offset + n, raw))
        for k, tail in p.marker_last.items():
            last = marker_last.setdefault(k, deque(maxlen=MARKER_LAST))
            last.extend((offset + n, raw) for n, raw in tail)
        plain, deadline, header = p.win
        win.plain = max(win.plain, offset + plain)
        if deadline:
            win.tb_deadline = max(win.tb_deadline, offset + deadline)
            win.tb_header = max(win.tb_header, offset + header)
        dropped.merge(p.dropped, offset)
        read.long_lines += p.read.long_lines
        read.skipped_bytes += p.read.skipped_bytes
        prev_recent = [(offset + n, raw) for n, raw in p.recent]
        offset += p.lines
        total_bytes += p.bytes_read
    for lines in marker_kept.values():
        for n, raw in lines:
            kept.setdefault(n, raw)
    for tail in marker_last.values():
        for n, raw in tail:
            kept.setdefault(n, raw)
    for n, raw in prev_recent:
        if n > offset - TAIL_LINES:
            kept.setdefault(n, raw)
    return Selection(segments=list(segments(kept)), total_lines=offset, bytes_read=total_bytes, dropped=dropped, read=read)
