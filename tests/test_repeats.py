"""The bulk path of a crash loop (`select.repeats`) keeps exactly what the line-by-line walk keeps.

Each input below is scanned twice in the same chunks, once with the bulk path and once with it turned off, and
the two selections must be equal: the kept lines (with their numbers), the line count, the counts of what was not
examined, and the repeats of every failure signature. The budgets are made small so that a few MB reach the
regime past the first lines, and the chunks small so that windows cross chunk boundaries. The inputs mix what a
crash loop prints with what the bulk path must get right: filler between the failures, marker lines (with digits
in the marker, too), tracebacks whose exception line comes late or never, and a new failure midway.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator

import pytest

from logclassify.engine.classifier import Classifier
from logclassify.read.sources import iter_chunks
from logclassify.select import budget, repeats
from logclassify.select.state import Selection
from logclassify.select.window import CONTEXT_AFTER, CONTEXT_BEFORE, TRACEBACK_AFTER
from tests.adversarial import generate

pytest.importorskip("numpy")  # without it every chunk goes line by line, and there is nothing to compare

FILLER = "INFO 06-11 03:12:{s:02d} [loggers.py:123] Engine 000: Avg prompt throughput: {n}.0 tokens/s, Running: 3 reqs\n"
MARKERS = ("INFO 06-11 03:12:44 [__init__.py:{n}] Using VLLM_USE_V1=1 V1 LLM engine (v0.{n}.1)\n"
           "INFO 06-11 03:12:45 [gpu_worker.py:{n}] Available KV cache memory: {n}.5 GiB\n")
# the same shape (digits as 0) as a marker with a digit in it, and that marker
NOT_MARKER = "[pip7] numpy==1.26.{n}\n"
DIGIT_MARKER = "[pip3] numpy==1.26.{n}\n"
# an exception line that no rule looks for: only the traceback's own window reaches past it
LATE_EXCEPTION = ("Traceback (most recent call last):\n" + '  File "/x/y.py", line {n}, in f\n    g()\n' * 30
                  + "SystemExit: 3\n")
NO_EXCEPTION = "Traceback (most recent call last):\n" + '  File "/x/z.py", line {n}, in h\n' * 5


def mixed(size: int) -> Iterator[bytes]:
    """A crash loop with filler, markers, long tracebacks, ones cut short, and a new error after 2/3 of it."""

    def blocks() -> Iterator[str]:
        for n in itertools.count():
            yield generate.OOM.format(s=n % 60, n=n)
            for k in range(n % 7):
                yield FILLER.format(s=k, n=n + k)
            if n % 11 == 0:
                yield MARKERS.format(n=n)
            if n % 13 == 0:
                yield LATE_EXCEPTION.format(n=n) + FILLER.format(s=2, n=n) * 150
                yield (NOT_MARKER if n % 3 else DIGIT_MARKER).format(n=n) + FILLER.format(s=3, n=n) * 100
            if n % 17 == 0:
                yield NO_EXCEPTION.format(n=n) + FILLER.format(s=1, n=n) * 450
            if n * 3 > size // 500 * 2:  # past about 2/3: a failure not seen before, then the loop again
                yield f"ERROR 06-11 03:13:00 [core.py:1] ValueError: shape mismatch at layer {n % 5}\n"

    return generate._until(size, blocks())


def sparse(size: int) -> Iterator[bytes]:
    """Tracebacks far apart in filler, so that where each window ends shows: exception lines that no rule looks
    for, late or after the deadline, a traceback inside another, marker lines (with digits) between them."""
    filler = [FILLER.format(s=k % 60, n=k) for k in range(600)]

    def blocks() -> Iterator[str]:
        for n in itertools.count():
            marker = (NOT_MARKER if n % 4 else DIGIT_MARKER).format(n=n)
            if n % 3 == 0:
                yield LATE_EXCEPTION.format(n=n) + "".join(filler[:250]) + marker + "".join(filler[:250])
            elif n % 3 == 1:
                yield NO_EXCEPTION.format(n=n) + "".join(filler[: 300 + n % 200]) + "SystemExit: 1\n" + "".join(filler)
            else:
                yield (NO_EXCEPTION + LATE_EXCEPTION).format(n=n) + marker + "".join(filler[: 400 + n % 150])

    return generate._until(size, blocks())


def unfinished(size: int) -> Iterator[bytes]:
    """Tracebacks that never reach an exception line, close together (each window runs to its deadline, and the
    next starts where it ended) or apart, with an exception line now and then: the bulk path walks runs of such
    headers at once."""

    def blocks() -> Iterator[str]:
        for n in itertools.count():
            yield NO_EXCEPTION.format(n=n) + FILLER.format(s=1, n=n) * (n * 7 % 61 if n % 23 else 70 + n % 400)
            if n % 4 == 0:
                yield "SystemExit: 2\n" + FILLER.format(s=2, n=n) * (n % 5)

    return generate._until(size, blocks())


INPUTS = {
    "sparse": sparse,
    "unfinished": unfinished,
    "repeated": generate.repeated_tracebacks,
    "ranks": generate.interleaved_ranks,
    "mixed": mixed,
}


def _select(data: bytes, chunk_size: int) -> Selection:
    return Classifier().scanner.select(iter_chunks(io.BytesIO(data), chunk_size=chunk_size))


def _summary(sel: Selection) -> tuple[object, ...]:
    d = sel.dropped
    return (
        [[(ln.number, ln.text) for ln in seg] for seg in sel.segments], sel.total_lines, d.lines, d.first, d.last,
        d.markers, sorted((sig, s.line, s.repeats) for sig, s in d.signatures.items()),
    )


@pytest.mark.parametrize("kind", sorted(INPUTS))
@pytest.mark.parametrize("chunk_size", [64 << 10, 1 << 20])
def test_the_bulk_path_keeps_what_the_walk_keeps(kind: str, chunk_size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "FIRST_LINES", 2_000)
    monkeypatch.setattr(budget, "NEW_LINES", 1_000)
    monkeypatch.setattr(budget, "LAST_LINES", 700)
    monkeypatch.setattr(budget, "LAST_BYTES", 48 << 10)  # reached before LAST_LINES by the long lines
    data = b"".join(INPUTS[kind](3 << 20))
    real = repeats.feed
    bulk = []

    def counted(st: repeats.ScanState, chunk: bytes) -> bool:
        took = real(st, chunk)
        bulk.append(took)
        return took

    monkeypatch.setattr(repeats, "feed", counted)
    fast = _select(data, chunk_size)
    assert sum(bulk) >= len(bulk) // 2, bulk  # the bulk path took most chunks: this test compares something
    monkeypatch.setattr(repeats, "feed", lambda st, chunk: False)
    slow = _select(data, chunk_size)
    assert fast.dropped.lines > 0  # the regime past the first lines was reached
    assert _summary(fast) == _summary(slow)


def test_a_chunk_with_a_new_failure_goes_line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "FIRST_LINES", 500)
    data = b"".join(generate.repeated_tracebacks(1 << 20))
    data += b"ERROR 06-11 03:13:00 [core.py:1] ValueError: something new\n" + data[:200_000]
    sel = _select(data, 256 << 10)
    new = [s for s in sel.dropped.signatures.values() if "something new" in s.sample]
    assert len(new) == 1 and new[0].line == data[: data.index(b"something new")].count(b"\n") + 1
    assert any("something new" in ln.text for seg in sel.segments for ln in seg)  # its window was kept


# -- a crash loop's counts are exact, and reaching them costs no per-line work (issue 10) ----------------------


def _blocks(start: int, count: int) -> bytes:
    return "".join(generate.OOM.format(s=n % 60, n=n) for n in range(start, start + count)).encode()


@pytest.mark.parametrize("chunk_size", [64 << 10, 1 << 20, 4 << 20])
def test_a_repeated_blocks_counts_first_and_last_occurrences_are_exact(chunk_size: int) -> None:
    """A crash loop 12,345 blocks longer (a few MB, across chunks, all of it past the first lines) counts exactly
    12,345 more repeats of each of its failure signatures, first seen on the same lines, with the same counts
    whatever the chunks; the lines not examined are exactly those between the first lines and the last
    LAST_LINES lines, which are kept as they are (the last occurrences)."""
    head = _blocks(0, 20_000)
    more = 12_345
    sels = [_select(data, chunk_size) for data in (head, head + _blocks(20_000, more))]
    a, b = (sel.dropped.signatures for sel in sels)
    assert len(a) >= 5 and a.keys() == b.keys()
    for sig, seen in a.items():
        assert b[sig].line == seen.line and b[sig].repeats == seen.repeats + more, (sig, seen, b[sig])
    assert sels[0].dropped.signatures == _select(head, 4 << 20).dropped.signatures  # any chunks: the same
    data = head + _blocks(20_000, more)
    lines = data.decode().split("\n")[:-1]
    sel = sels[1]
    assert sel.total_lines == len(lines) == 7 * (20_000 + more)
    kept = {ln.number: ln.text for seg in sel.segments for ln in seg}
    for n in range(len(lines) - budget.LAST_LINES + 1, len(lines) + 1):
        assert kept[n] == lines[n - 1]
    d = sel.dropped
    assert d.first == budget.FIRST_LINES + 1 and d.last == len(lines) - budget.LAST_LINES
    assert d.lines == d.last - d.first + 1  # every line between was inside a failure's window, none kept


def test_a_crash_loop_is_searched_and_looked_up_only_where_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Of a 16 MB crash loop read in 4 MB chunks, only the slices that fill the first lines are searched (not the
    first chunk whole, nor the second ahead of time), and the bulk path looks up a few lines' shapes one by one
    (where the repeated block starts, or its numbers gain a digit), not every line."""
    data = b"".join(generate.repeated_tracebacks(16 << 20))
    clf = Classifier()
    searched: list[int] = []
    search = clf.scanner.candidates

    def spy(chunk: bytes):  # type: ignore[no-untyped-def]
        searched.append(len(chunk))
        return search(chunk)

    monkeypatch.setattr(clf.scanner, "candidates", spy)
    looked_up = [0]
    real_get = repeats.ShapeTable.__init__

    def table_init(self: repeats.ShapeTable) -> None:
        real_get(self)
        self.ids = _CountingDict(looked_up)

    monkeypatch.setattr(repeats.ShapeTable, "__init__", table_init)
    sel = clf.scanner.select(iter_chunks(io.BytesIO(data)))
    assert sel.dropped.lines > 0
    first_lines_bytes = len(b"\n".join(data.split(b"\n")[: budget.FIRST_LINES]))
    assert sum(searched) <= first_lines_bytes + (1 << 20), searched  # before: 8 MB (two whole chunks)
    assert looked_up[0] < sel.total_lines // 20, looked_up  # before: one look-up per line past the first lines


class _CountingDict(dict):  # type: ignore[type-arg]
    """A shape table's ids, counting the look-ups of single lines (`get`, `[]`)."""

    def __init__(self, counter: list[int]) -> None:
        super().__init__()
        self.counter = counter

    def get(self, key, default=None):  # type: ignore[no-untyped-def,override]
        self.counter[0] += 1
        return super().get(key, default)

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        self.counter[0] += 1
        return super().__getitem__(key)


BLOCK = generate.OOM


def _chunk_of(blocks: list[str]) -> bytes:
    return "".join(blocks).encode()


@pytest.mark.parametrize("case", ["steady", "digits", "filler", "switch", "mid-block", "none"])
def test_shapes_by_block_equal_shapes_line_by_line(case: str) -> None:
    """`repeats._shape_ids` (lines copied from the line one block before) gives every line the shape number a
    look-up of that line gives: a steady loop, numbers gaining a digit, filler between blocks, another block
    midway, a chunk that starts inside a block, a chunk that repeats nothing."""
    np = pytest.importorskip("numpy")
    if case == "steady":
        text = _chunk_of([BLOCK.format(s=n % 60, n=5000 + n) for n in range(400)])
    elif case == "digits":
        text = _chunk_of([BLOCK.format(s=n % 60, n=9800 + n) for n in range(400)])
    elif case == "filler":
        text = _chunk_of([BLOCK.format(s=n % 60, n=n) + FILLER.format(s=1, n=n) * (n % 3) for n in range(400)])
    elif case == "switch":
        text = _chunk_of([BLOCK.format(s=n % 60, n=n) if n < 200 else LATE_EXCEPTION.format(n=n) for n in range(400)])
    elif case == "mid-block":
        text = _chunk_of([BLOCK.format(s=n % 60, n=n) for n in range(400)])
        text = text[text.index(b"\n", 300) + 1 :]
    else:
        text = "".join(FILLER.format(s=n % 60, n=n * 7919 % 10**(1 + n % 6)) + f"line {'x' * (n % 50)}\n"
                       for n in range(2000)).encode()
    zeroed = text.translate(repeats._ZERO)
    shapes = zeroed.split(b"\n")[:-1]
    table = repeats.ShapeTable()
    for shape in shapes[: len(shapes) // 3]:  # the shapes of the first third are known, the others not
        table.ids.setdefault(shape, len(table.ids))
    starts = repeats._line_starts(np, text)
    ids, every = repeats._shape_ids(np, table, zeroed, starts)
    assert every is None or every == shapes
    got = ids.tolist()
    assert len(got) == len(shapes)
    for i, (shape, sid) in enumerate(zip(shapes, got, strict=True)):
        if shape in table.ids:
            assert sid == table.ids[shape], i
        else:  # not judged yet: -2 - a line of the same shape, at or before this one
            j = -2 - sid
            assert 0 <= j <= i and shapes[j] == shape, i
    if case in ("steady", "digits", "mid-block"):
        assert repeats._periods(zeroed, starts)  # the block was found: these went by the block


def _header_windows_one_by_one(heads: list[int], walked_l: list[int], exc_l: list[int], last_line: int,
                               reach: int, closed: int, pending: int,
                               deadline: int) -> tuple[list[tuple[int, int]], int, int, int]:
    """The traceback header walk as the line-by-line path does it, one header at a time (the reference)."""
    after = TRACEBACK_AFTER
    out: list[tuple[int, int]] = []
    k = 0
    for h, walked in zip(heads, walked_l, strict=True):
        walked = max(walked, reach)
        if h + after <= walked:
            continue
        start = walked + 1 if walked >= h else h + 1
        while k < len(exc_l) and exc_l[k] < start:
            k += 1
        if k < len(exc_l) and exc_l[k] <= h + after:
            end = min(exc_l[k] + CONTEXT_AFTER, h + after)
        elif h + after <= last_line:
            end = h + after
        else:
            pending, deadline, reach = h, h + after, h + after
            out.append((h - CONTEXT_BEFORE, last_line))
            continue
        pending = 0
        closed, reach = max(closed, end), max(reach, end)
        out.append((h - CONTEXT_BEFORE, end))
    return out, closed, pending, deadline


@pytest.mark.parametrize("seed", range(60))
def test_runs_of_headers_walk_like_one_header_at_a_time(seed: int) -> None:
    """`repeats._header_windows` takes a run of headers that each run to their deadline at once: the windows,
    and the walk's state after them, are those of the walk one header at a time, on headers close together
    (gaps around CONTEXT_AFTER), exception lines near where a window could end, a walk carried in."""
    np = pytest.importorskip("numpy")
    import random

    rnd = random.Random(seed)
    base, size = 1000 * seed, rnd.choice([300, 2000, 8000])
    last_line = base + size
    heads: list[int] = []
    n = base + rnd.randint(1, 50)
    while n <= last_line:
        heads.append(n)
        n += 1 if n < base + 120 and seed % 2 else rnd.choice(
            [1, 7, 40, CONTEXT_AFTER, CONTEXT_AFTER + 1, CONTEXT_AFTER + 2, rnd.randint(1, 80), rnd.randint(50, 500)])
    exc = sorted({h + rnd.choice([3, 5, 100, 335, 339, 340, 341, 345, 399, 400, 401, 450, 600])
                  for h in heads if rnd.random() < rnd.choice([0.05, 0.3, 0.9])})
    exc = [e for e in exc if e <= last_line and e not in set(heads)]
    plain = sorted(rnd.sample(range(base + 1, last_line + 1), k=min(size // 50, 40)))
    walked_l = [max([p + CONTEXT_AFTER for p in plain if p < h], default=0) for h in heads]
    carried = rnd.choice([(0, 0, 0, 0), (base + 30, 0, 0, 0), (base + 300, base + 250, base - 100, base + 300),
                          (base + 470, base + 470, 0, 0)])  # the last covers the first headers: they open nothing
    want = _header_windows_one_by_one(heads, walked_l, exc, last_line, *carried)
    lo, hi, closed, pending, deadline = repeats._header_windows(
        np, np.array(heads, dtype=np.int64), np.array(walked_l, dtype=np.int64), exc, last_line, *carried)
    assert (sorted(zip(lo.tolist(), hi.tolist(), strict=True)), closed, pending, deadline) == (sorted(want[0]),
                                                                                              *want[1:])
