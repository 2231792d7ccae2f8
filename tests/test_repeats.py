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


INPUTS = {
    "sparse": sparse,
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
