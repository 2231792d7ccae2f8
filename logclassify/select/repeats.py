"""A crash loop in bulk: past the first lines, a chunk whose lines only repeat lines seen before costs a few passes
in C, not Python work per line.

A crash-looping server prints the same traceback 100,000 times; every one of its lines is a candidate for some
trigger, and judging them one by one cost about 100 s/GB. Once `ScanState` has kept its first lines (`budget`), what
it keeps of a line depends only on what the line is (a failure line, a traceback header, an exception line, which
markers it holds), and lines that differ only in their digits (timestamps, pids, sizes) are the same failure
(`budget.signature`). So each distinct line *shape* (the line with every digit written as 0) is judged once, on the
first line of that shape, and remembered in a `ShapeTable`; a chunk is then a list of shape numbers, and its windows,
ring of latest lines, marker lines and repeat counts are worked out on whole arrays (numpy) with the same rules as
the line-by-line path in `state`. A chunk with a shape whose failure signature is new (a first occurrence, whose
window is kept exactly), with many new shapes, or that starts inside a first occurrence's window goes the
line-by-line way. Without numpy, every chunk does.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Protocol

from logclassify.read.sources import decode
from logclassify.select import budget
from logclassify.select.budget import Dropped
from logclassify.select.plan import Finder
from logclassify.select.triggers import ANCHOR, TRACEBACK
from logclassify.select.window import (
    CONTEXT_AFTER,
    CONTEXT_BEFORE,
    MARKER_LAST,
    MARKER_LINES,
    TRACEBACK_AFTER,
    Window,
    is_exception_line,
)

MAX_SHAPES = 16_384  # distinct line shapes remembered per input (a few MB); past that, chunks go line by line
NEW_SHARE = 8  # a chunk with more than 1/8 of its lines of new shapes is not a crash loop: line by line
_ZERO = bytes.maketrans(b"123456789", b"000000000")
_SAMPLE = 64 << 10  # bytes of a chunk compared with themselves one block before, to tell whether it loops
_HEAD = 1024  # > TRACEBACK_AFTER + CONTEXT_AFTER: how far into a handed-over chunk lines may be kept already

_np: Any = None


def _numpy() -> Any:
    global _np
    if _np is None:
        try:
            import numpy

            _np = numpy
        except ImportError:
            _np = False
    return _np


@dataclass
class ShapeTable:
    """What each line shape is, judged on its first line: the kind of its first verified anchor trigger (-1: none),
    whether it is an exception line (which ends a traceback's window), its failure signature, its markers."""

    ids: dict[bytes, int] = field(default_factory=dict)
    kind: list[int] = field(default_factory=list)
    exception: list[bool] = field(default_factory=list)
    sig: list[bytes] = field(default_factory=list)
    markers: list[tuple[int, ...]] = field(default_factory=list)
    arrays: tuple[Any, Any] | None = None  # kind and exception as numpy arrays, rebuilt after the table grows

    def judge(self, st: ScanState, shapes: list[bytes], raws: list[bytes]) -> None:
        """Add the shapes (with one raw line each, without its newline) to the table."""
        finder = st.finder
        plan = finder.plan
        mini = b"\n".join(raws) + b"\n"
        starts = [0]
        for raw in raws:
            starts.append(starts[-1] + len(raw) + 1)
        events: list[list[tuple[int, int]]] = [[] for _ in raws]
        import bisect

        for off, idx in finder.candidates(mini)[0]:
            events[bisect.bisect_right(starts, max(off, 0)) - 1].append((off, idx))
        normlits = [lit.translate(_ZERO) for lit in plan.markers]
        for shape, raw, evs in zip(shapes, raws, events, strict=True):
            kind = -1
            if evs:
                text = decode(raw).rstrip("\r\n")
                for _, idx in sorted(evs):
                    if finder.verify(idx, text):
                        kind = plan.triggers[idx].kind
                        break
            self.ids[shape] = len(self.kind)
            self.kind.append(kind)
            self.exception.append(is_exception_line(raw + b"\n"))
            self.sig.append(budget.signature(raw + b"\n") if kind >= 0 else b"")
            self.markers.append(tuple(k for k, lit in enumerate(normlits) if lit in shape))
        self.arrays = None

    def numpy_arrays(self) -> tuple[Any, Any]:
        if self.arrays is None:
            np = _np
            self.arrays = (np.array(self.kind, dtype=np.int8), np.array(self.exception, dtype=np.bool_))
        return self.arrays


class ScanState(Protocol):
    """What this path reads and updates of `state.ScanState` (the scan of one input)."""

    finder: Finder
    line_no: int
    recent: deque[tuple[int, bytes]]
    kept: dict[int, bytes]
    ring_later: LaterRing | None
    ring_bytes: int
    limits: tuple[int, ...]
    dropped: Dropped
    win: Window
    shapes: ShapeTable | None
    marker_count: list[int]
    promoted_until: int
    counted: int
    first_hit: int | None

    @property
    def ring(self) -> OrderedDict[int, bytes]: ...

    def keep_line(self, n: int, raw: bytes) -> None: ...

    def keep_marker(self, idx: int, n: int, raw: bytes) -> None: ...


def feed(st: ScanState, chunk: bytes) -> bool:
    """Scan one chunk (ending with a newline) of an input whose first lines are kept, if it is a run of known
    line shapes without a new failure; False (nothing changed in `st`) when it must go line by line."""
    np = _numpy()
    if np is False or st.promoted_until > st.line_no:
        return False
    table = st.shapes
    if table is None:
        table = st.shapes = ShapeTable()
    zeroed = bytes(chunk).translate(_ZERO)  # bytes: a parallel scan's chunk is a reused bytearray
    starts = _line_starts(np, chunk)
    arr, shapes = _shape_ids(np, table, zeroed, starts)
    n_lines = len(arr)
    if n_lines and int(arr.min()) < 0:  # shapes not judged yet: each judged on its first line here
        most = n_lines // NEW_SHARE
        first: dict[bytes, int] = {}
        if shapes is not None:  # every line's shape at hand (the chunk did not go by its block)
            for i in np.flatnonzero(arr < 0).tolist():
                if shapes[i] not in first:
                    first[shapes[i]] = i
            if len(first) > most or len(table.kind) + len(first) > MAX_SHAPES:
                return False
            table.judge(st, list(first), [chunk[starts[i] : starts[i + 1] - 1] for i in first.values()])
            arr = np.fromiter(map(table.ids.__getitem__, shapes), dtype=np.int32, count=n_lines)
        else:  # by block: the lines looked up that are not in the table, and their copies (the same mark)
            unknown = np.flatnonzero(arr < 0)
            marks, which = np.unique(arr[unknown], return_inverse=True)
            shape_of: list[bytes] = []
            for i in (-2 - marks[::-1]).tolist():  # a line of each mark, in the order of the lines
                shape = zeroed[starts[i] : starts[i + 1] - 1]
                shape_of.append(shape)
                if shape not in first:
                    first[shape] = i
                    if len(first) > most:
                        return False
            if len(table.kind) + len(first) > MAX_SHAPES:
                return False
            table.judge(st, list(first), [chunk[starts[i] : starts[i + 1] - 1] for i in first.values()])
            ids = table.ids
            arr[unknown] = np.array([ids[shape] for shape in reversed(shape_of)], dtype=np.int32)[which]
    counts = np.bincount(arr, minlength=len(table.kind))
    present = np.flatnonzero(counts)
    sigs = st.dropped.signatures
    full_sigs = len(sigs) >= budget.MAX_SIGNATURES
    for i in present.tolist():
        if table.kind[i] >= 0 and table.sig[i] not in sigs and not full_sigs:
            return False  # a first occurrence: its window is kept exactly, line by line
    # From here on, the chunk is this path's: nothing below returns False.
    base = st.line_no
    for i in present.tolist():  # every failure line here repeats a known one
        if table.kind[i] >= 0:
            seen = sigs.get(table.sig[i])
            if seen is not None:
                seen.repeats += int(counts[i])
    kind_of, exc_of = table.numpy_arrays()
    kinds = kind_of[arr]
    _windows(st, np, kinds, exc_of[arr], chunk, starts)
    _markers(st, np, table, arr, present, chunk, starts)
    last = np.flatnonzero(kinds >= 0)
    if len(last):
        st.counted = base + 1 + int(last[-1])
        if st.first_hit is None:
            st.first_hit = base + 1 + int(last[0])
    want = st.recent.maxlen or 0
    for i in range(max(0, n_lines - want), n_lines):
        st.recent.append((base + 1 + i, chunk[starts[i] : starts[i + 1]]))
    st.line_no = base + n_lines
    return True


def _shape_ids(np: Any, table: ShapeTable, zeroed: bytes, starts: Any) -> tuple[Any, list[bytes] | None]:
    """Each line's shape number in `table`, as an int32 array; a shape not in it yet is -2 - (the index of a
    line of that shape: the one it was found on, or one it copies). And every line's shape, when they were all
    looked up (else None).

    A crash loop's chunk is one block of lines printed again and again: written with its digits as 0, most of
    the chunk equals itself shifted by the block's length p. Where it does (one array comparison per p tried), a
    line is a copy of the line p bytes before it and takes that line's number; only the other lines (the first
    block, where the block or the count of some number's digits changes) are looked up one by one. When more than
    a quarter of the lines are such, every line is looked up: a split and a dict look-up per line, in C."""
    n = len(starts) - 1
    a = np.frombuffer(zeroed, dtype=np.uint8)
    fresh = None
    src = None
    for period, at in _periods(zeroed, starts):
        # a line differing from the bytes p before it, or whose newline before it does (the line before
        # differs), is not a copy; nor is a line within the first p bytes
        # first on 64 KiB from where it was found: a log that does not loop costs little
        m = min(_SAMPLE, len(a) - at)
        if 2 * int(np.count_nonzero(a[at : at + m] != a[at - period : at + m - period])) > m:
            continue
        neq = np.not_equal(a[period:], a[:-period])
        differ = int(np.count_nonzero(neq))
        bad = np.zeros(n + 1, dtype=np.bool_)
        if differ <= n:  # a few bytes differ: their lines
            bad[np.searchsorted(starts, np.flatnonzero(neq) + period, side="right") - 1] = True
        else:  # many (part of the chunk repeats another block): per line, in one pass
            bad[:n] = np.logical_or.reduceat(np.concatenate([np.ones(period, dtype=np.bool_), neq]), starts[:-1])
        bad[: int(np.searchsorted(starts, period, side="right"))] = True
        bad[1:] |= bad[:-1].copy()
        bad = bad[:n]
        copies = ~bad if fresh is None else (~bad & fresh)
        if src is None:
            src = np.arange(n, dtype=np.int64)
        where = np.flatnonzero(copies)
        # the line p bytes before: as many lines back as at the first copy (a steady loop), else searched for
        back = starts[where] - period
        guess = where - (int(where[0]) - int(np.searchsorted(starts, back[0]))) if len(where) else where
        off = np.flatnonzero(starts[np.maximum(guess, 0)] != back)
        if len(off):
            guess[off] = np.searchsorted(starts, back[off])
        src[where] = guess
        fresh = bad if fresh is None else (fresh & bad)
        if int(np.count_nonzero(fresh)) <= n // 32:
            break
    if fresh is not None and src is not None and int(np.count_nonzero(fresh)) <= n // 4:
        while True:  # follow each copy back to a line looked up (pointer jumping: log(n) rounds)
            nxt = src[src]
            if np.array_equal(nxt, src):
                break
            src = nxt
        ids = np.empty(n, dtype=np.int32)
        look = np.flatnonzero(fresh)
        get = table.ids.get
        ids[look] = np.fromiter(
            (get(zeroed[starts[i] : starts[i + 1] - 1], -2 - i) for i in look.tolist()), dtype=np.int32,
            count=len(look))
        return ids[src], None
    shapes = zeroed.split(b"\n")
    shapes.pop()  # after the last newline
    ids = np.fromiter(map(table.ids.get, shapes, repeat(-1)), dtype=np.int32, count=n)
    missing = np.flatnonzero(ids < 0)
    if len(missing):
        ids[missing] = -2 - missing
    return ids, shapes


def _periods(zeroed: bytes, starts: Any) -> list[tuple[int, int]]:
    """Lengths in bytes of the block a chunk may repeat, each with where it was found: from a line in its middle
    (and at a quarter and three quarters) to the next line of the same shape, found after the first."""
    n = len(starts) - 1
    if n < 64:
        return []
    out: list[tuple[int, int]] = []
    for i in (n // 2, n // 4, 3 * n // 4):
        a, b = int(starts[i]), int(starts[i + 1])
        line = zeroed[a - 1 : b]  # with the newline before it: a whole line
        q = zeroed.find(line, b - 1, b - 1 + 64 * (b - a + 64))
        if q >= 0 and all(q - (a - 1) != p for p, _ in out):
            out.append((q - (a - 1), q))
    return out


def _line_starts(np: Any, chunk: bytes) -> Any:
    """The offset of each line's start, and the chunk's length after the last."""
    nl = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
    starts = np.empty(len(nl) + 1, dtype=np.int64)
    starts[0] = 0
    starts[1:] = nl + 1
    return starts


def _windows(st: ScanState, np: Any, kinds: Any, exc: Any, chunk: bytes, starts: Any) -> None:
    """The lines inside failure windows go to the ring of latest lines (the ones it pushes out are counted as not
    examined); the window state is carried to the next chunk.

    The windows are the ones the line-by-line walk opens (`window.Window`, `state.ScanState`): CONTEXT_BEFORE lines
    before a failure line to CONTEXT_AFTER after it; a traceback header's window, unless the windows so far reach
    past its deadline, runs until CONTEXT_AFTER lines after the first exception line that the walk meets after
    both the header and the lines it had walked already, at most TRACEBACK_AFTER lines after the header. That walk
    is sequential, so the headers are visited in a loop; the plain windows and the coverage are whole-array work."""
    base = st.line_no
    n = len(kinds)
    last_line = base + n
    win = st.win
    plain = np.flatnonzero(kinds == ANCHOR) + (base + 1)
    exc_lines = np.flatnonzero(exc) + (base + 1)
    exc_l = exc_lines.tolist()
    # the walk carried in from the chunk before
    reach = win.plain  # how far the walk has gone (the windows' limit)
    closed = 0  # the furthest end of a closed window here
    pending = deadline = 0  # a traceback window still open: its header and deadline (0: none)
    if win.tb_deadline:
        k = bisect.bisect_left(exc_l, base + 1)
        if k < len(exc_l) and exc_l[k] <= win.tb_deadline:
            closed = min(win.tb_deadline, exc_l[k] + CONTEXT_AFTER)
        elif win.tb_deadline <= last_line:
            closed = win.tb_deadline
        else:
            pending, deadline = win.tb_header, win.tb_deadline
        reach = max(reach, closed, deadline)
    carried = reach
    headers = np.flatnonzero(kinds == TRACEBACK) + (base + 1)
    # how far the plain windows before each header reach (the last plain failure line before it, + CONTEXT_AFTER)
    before = np.searchsorted(plain, headers)
    plain_reach = np.where(before > 0, plain[np.maximum(before - 1, 0)] + CONTEXT_AFTER, 0) if len(plain) else (
        np.zeros(len(headers), dtype=np.int64))
    tb_lo, tb_hi, closed, pending, deadline = _header_windows(
        np, headers, plain_reach, exc_l, last_line, reach, closed, pending, deadline)
    plain_l = plain.tolist()
    win.plain = max(win.plain, plain_l[-1] + CONTEXT_AFTER if plain_l else 0, closed)
    win.tb_deadline, win.tb_header = deadline, pending
    lo = np.concatenate([plain - CONTEXT_BEFORE, tb_lo])
    hi = np.concatenate([plain + CONTEXT_AFTER, tb_hi])
    # backward context reaching into the chunk before: its last lines, from `recent`
    if len(lo):
        first = int(lo.min())
        if first <= base:
            for rn, raw in list(st.recent):
                if rn >= first and rn not in st.kept:
                    st.keep_line(rn, raw)
    # this chunk's lines inside some window (the carried walk's too): a difference array over line indexes
    lo_i = np.clip(lo - (base + 1), 0, n)
    hi_i = np.clip(hi - base, 0, n)
    if carried > base:
        lo_i = np.append(lo_i, 0)
        hi_i = np.append(hi_i, min(carried - base, n))
    diff = np.bincount(lo_i, minlength=n + 1)[: n + 1] - np.bincount(hi_i, minlength=n + 1)[: n + 1]
    covered = np.flatnonzero(np.cumsum(diff[:n]) > 0)
    _to_ring(st, np, covered, base, chunk, starts)


def _header_windows(np: Any, headers: Any, plain_reach: Any, exc_l: list[int], last_line: int, reach: int,
                    closed: int, pending: int, deadline: int) -> tuple[Any, Any, int, int, int]:
    """The traceback windows of a chunk's headers (line numbers, in order), walked one after the other: each
    header's window (first and last line), and after the last header the furthest end of a closed window and
    the window still open at the chunk's end (header and deadline, 0: none). `plain_reach`: per header, how far
    the plain windows before it reach; `exc_l`: the exception lines; `reach`, `closed`, `pending`, `deadline`:
    the walk carried in. See `_windows`."""
    tb_lo: list[int] = []
    tb_hi: list[int] = []
    runs: list[Any] = []  # runs of headers whose windows end at their deadlines (see below)
    k = 0  # into exc_l: the walk only goes forward, so the exception line it meets next does too
    n_exc = len(exc_l)
    after = TRACEBACK_AFTER
    heads = headers.tolist()
    walked_l = plain_reach.tolist()
    breaks = (np.flatnonzero(np.diff(headers) > CONTEXT_AFTER) + 1).tolist()  # a header far from the one before
    open_from = bisect.bisect_right(heads, last_line - after)  # headers whose deadline is past this chunk
    j = 0
    n_heads = len(heads)
    while j < n_heads:
        h, walked = heads[j], walked_l[j]
        j += 1
        if reach > walked:
            walked = reach
        if h + after <= walked:  # inside the windows so far: it opens nothing, nor do the headers up to reach -
            # after (a plain window reaches CONTEXT_AFTER < after past its line, so only `reach` can cover them)
            j = max(j, bisect.bisect_right(heads, reach - after, j))
            continue
        start = walked + 1 if walked >= h else h + 1
        k = bisect.bisect_left(exc_l, start, k)
        if k < n_exc and exc_l[k] <= h + after:
            end = exc_l[k] + CONTEXT_AFTER
            if end > h + after:
                end = h + after
        elif h + after <= last_line:
            end = h + after
        else:  # still open at the end of the chunk
            end = last_line
            pending, deadline = h, h + after
            reach = deadline
            tb_lo.append(h - CONTEXT_BEFORE)
            tb_hi.append(end)
            continue
        pending = 0
        if end > closed:
            closed = end
        if end > reach:
            reach = end
        tb_lo.append(h - CONTEXT_BEFORE)
        tb_hi.append(end)
        if end == h + after:  # (and reach is end: an earlier reach beyond it would have covered this header)
            # A window that ran to its deadline, and the walk no further: the next header, if it comes within
            # CONTEXT_AFTER lines, starts its walk there, past every line it could end CONTEXT_AFTER lines after,
            # so it runs to its deadline too; and so on along a crash loop's headers (every one of them, as a
            # window reaches TRACEBACK_AFTER past its own) up to a gap or a deadline past this chunk.
            stop = min(breaks[bisect.bisect_left(breaks, j)] if breaks and breaks[-1] >= j else n_heads, open_from)
            if stop > j:
                runs.append(headers[j:stop])
                reach = closed = heads[stop - 1] + after
                j = stop
    lo = np.concatenate([np.array(tb_lo, dtype=np.int64)] + [run - CONTEXT_BEFORE for run in runs])
    hi = np.concatenate([np.array(tb_hi, dtype=np.int64)] + [run + after for run in runs])
    return lo, hi, closed, pending, deadline


def _to_ring(st: ScanState, np: Any, covered: Any, base: int, chunk: bytes, starts: Any) -> None:
    """Window lines past the first lines and outside first occurrences: only the latest LAST_LINES (LAST_BYTES)
    stay, in the ring; the others are counted as not examined. What `ScanState.keep_line` does line by line, with
    the lines that cannot stay never copied."""
    cap, cap_bytes = st.limits[4], st.limits[5]
    # A chunk handed over in the middle (`ScanState._hand_over`) may start with lines kept among the first ones:
    # they lie within a window's length of its start.
    head = covered[:_HEAD].tolist()
    kept = st.kept
    if any(base + 1 + i in kept for i in head):
        covered = np.concatenate([np.array([i for i in head if base + 1 + i not in kept], dtype=covered.dtype),
                                  covered[_HEAD:]])
    if len(covered) < cap:
        keep = st.keep_line
        for i in covered.tolist():
            keep(base + 1 + i, chunk[starts[i] : starts[i + 1]])
        return
    # The chunk's last `cap` window lines push out all that came before them; of those, the ring keeps the
    # longest run from the latest back that fits the byte budget too.
    sizes = starts[covered[-cap:] + 1] - starts[covered[-cap:]]
    fits = int(np.count_nonzero(np.cumsum(sizes[::-1]) <= cap_bytes))
    stay = covered[len(covered) - fits :]
    out = len(covered) - fits  # this chunk's window lines that do not stay
    later = st.ring_later
    if later is not None:  # the ring the chunk before left for later: pushed out whole, never built
        st.ring_later = None
        pushed, bounds = len(later.numbers), [int(later.numbers[0]), int(later.numbers[-1])]
    else:
        ring = st.ring
        pushed, bounds = len(ring), [min(ring), max(ring)] if ring else []
    if out:
        bounds += [base + 1 + int(covered[0]), base + 1 + int(covered[out - 1])]
    if bounds:
        dropped = st.dropped
        dropped.lines += pushed + out
        first = min(bounds)
        dropped.first = first if not dropped.first else min(dropped.first, first)
        dropped.last = max(dropped.last, max(bounds))
    st.ring.clear()
    if fits:  # the lines that stay, as one copy of the bytes they lie in: the next chunk will likely push them out
        lo = int(starts[stay[0]])
        st.ring_later = LaterRing(stay + (base + 1), bytes(chunk[lo : int(starts[stay[-1] + 1])]),
                                  starts[stay] - lo, starts[stay + 1] - lo)
    st.ring_bytes = int(sizes[cap - fits :].sum()) if fits else 0


@dataclass
class LaterRing:
    """The ring of latest lines as a chunk left it, not built yet (`ScanState.ring` builds it when read): the
    lines' numbers, and where each lies in `data`."""

    numbers: Any
    data: bytes
    begins: Any
    ends: Any

    def fill(self, ring: OrderedDict[int, bytes]) -> None:
        data = self.data
        for n, a, b in zip(self.numbers.tolist(), self.begins.tolist(), self.ends.tolist(), strict=True):
            ring[n] = data[a:b]


def _markers(st: ScanState, np: Any, table: ShapeTable, arr: Any, present: Any, chunk: bytes, starts: Any) -> None:
    """Marker lines as the line-by-line path keeps them: per marker, its first MARKER_LINES lines and its last
    MARKER_LAST ones (a marker with digits is checked on each raw line of a shape that may hold it)."""
    by_marker: dict[int, list[int]] = {}
    for i in present.tolist():
        for k in table.markers[i]:
            by_marker.setdefault(k, []).append(i)
    if not by_marker:
        return
    markers = st.finder.plan.markers
    base = st.line_no
    events: list[tuple[int, int, int]] = []
    for k, shape_ids in by_marker.items():
        lit = markers[k]
        where = np.flatnonzero(np.isin(arr, shape_ids)).tolist()
        if lit.translate(_ZERO) != lit:  # digits in the marker: only some lines of these shapes hold it
            where = [i for i in where if chunk.find(lit, int(starts[i]), int(starts[i + 1])) >= 0]
        if not where:
            continue
        quota = MARKER_LINES - st.marker_count[k]
        firsts = where[: max(quota, 0)]
        st.marker_count[k] += len(firsts)
        events.extend((i, 0, k) for i in firsts)
        events.extend((i, 1, -1 - k) for i in where[-MARKER_LAST:])
    for i, _, idx in sorted(events):
        st.keep_marker(idx, base + 1 + i, chunk[int(starts[i]) : int(starts[i + 1])])
