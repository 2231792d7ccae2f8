"""The stream scan's helper thread and the reader's in-place chunks: the same selection as the plain walk, chunk by
chunk, and the same chunks whatever the stream returns per read (issue 12, section 3)."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from logclassify.read.sources import iter_chunks
from logclassify.select import MARKER, Scanner, ScanPlan, Trigger
from logclassify.select.state import ScanState, Selection

pytest.importorskip("hyperscan", reason="the helper thread runs only with the Hyperscan backend")

TRIGGERS = [
    Trigger(("NCCL error",), r"NCCL error: \w+"),
    Trigger(("Traceback (most recent call last)",)),
    Trigger(("out of memory",), ignore_case=True),
    Trigger(("Avg prompt throughput", "vllm_version"), kind=MARKER),
]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGCLASSIFY_CACHE_DIR", str(tmp_path / "cache"))


def _log() -> bytes:
    out = []
    for i in range(6000):
        if i % 997 == 5:
            out.append(b"Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad %d\n" % i)
        elif i % 1301 == 7:
            out.append(b"NCCL error: unhandled system error %d\n" % i)
        elif i % 1700 == 9:
            out.append(b"CUDA Out Of Memory on rank %d\n" % i)
        else:
            out.append(b"INFO Avg prompt throughput: %d tokens/s\n" % i)
    return b"".join(out) + b"last line without newline"


def _walk(scanner: Scanner, chunks: list[bytes]) -> Selection:
    """The plain walk: every chunk searched and walked in the calling thread."""
    st = ScanState(scanner)
    for c in chunks:
        st.feed(c)
    return st.finish()


def _key(sel: Selection) -> tuple[object, ...]:
    return sel.total_lines, sel.bytes_read, [(ln.number, ln.text) for ln in sel.lines]


def test_helper_thread_gives_the_walks_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _log()
    chunks = list(iter_chunks(io.BytesIO(data), chunk_size=4096))
    assert len(chunks) > 20
    scanner = Scanner(ScanPlan.of(TRIGGERS), backend="hyperscan")
    threads: set[str] = set()
    search = scanner.candidates

    def spy(chunk: bytes):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        return search(chunk)

    monkeypatch.setattr(scanner, "candidates", spy)
    piped = scanner.select(iter(chunks))
    assert any(name.startswith("logclassify-scan") for name in threads)  # the helper did search
    assert _key(piped) == _key(_walk(Scanner(ScanPlan.of(TRIGGERS), backend="hyperscan"), chunks))
    assert piped.total_lines == data.count(b"\n") + 1
    assert any("NCCL error" in ln.text for ln in piped.lines)


class _Trickle(io.RawIOBase):
    """A pipe: each read returns at most a few bytes."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.pos, self.step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def,override]
        n = min(len(b), self.step, len(self.data) - self.pos)
        b[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


@pytest.mark.parametrize("step", [1, 7, 4096, 1 << 20])
def test_chunks_do_not_depend_on_short_reads(step: int) -> None:
    data = _log()
    want = [bytes(c) for c in iter_chunks(io.BytesIO(data), chunk_size=5000)]
    got = [bytes(c) for c in iter_chunks(_Trickle(data, step), chunk_size=5000)]  # type: ignore[arg-type]
    assert got == want
    assert b"".join(got) == data
    assert all(c.endswith(b"\n") for c in got[:-1])
