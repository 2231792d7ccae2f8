"""The selection stage's plan and its progress reports: the plan is fixed once and shared read-only, and progress
is an argument of a scan, never state left on a shared scanner."""

from __future__ import annotations

import dataclasses
import io
import threading
from pathlib import Path

import pytest

from logclassify.read.sources import iter_chunks
from logclassify.select import MARKER, Scanner, ScanPlan, Trigger

TRIGGERS = [
    Trigger(("NCCL error",), r"NCCL error: \w+"),
    Trigger(("Killed",)),
    Trigger(("out of memory",), ignore_case=True),
    Trigger(("Killed", "vllm_version", "Avg prompt throughput"), kind=MARKER),
]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hyperscan databases are cached on disk: here, never in the user's cache folder."""
    monkeypatch.setenv("LOGCLASSIFY_CACHE_DIR", str(tmp_path / "cache"))


def test_plan_tables() -> None:
    plan = ScanPlan.of(TRIGGERS)
    assert plan.anchors == (0, 1, 2)
    # a plain anchor literal ("Killed") keeps its line already: no marker for it
    assert plan.markers == (b"Avg prompt throughput", b"vllm_version")
    assert dict(plan.exact) == {b"NCCL error": (0,), b"Killed": (1,)}
    assert dict(plan.folded) == {b"out of memory": (2,)}


def test_plan_is_frozen() -> None:
    plan = ScanPlan.of(TRIGGERS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.markers = ()  # type: ignore[misc]
    assert plan == ScanPlan.of(TRIGGERS)  # the same triggers, the same plan, in any process


def _log(lines: int) -> bytes:
    body = b"".join(b"INFO %d Avg prompt throughput: 1.0 tokens/s\n" % i for i in range(lines))
    return body + b"RuntimeError: NCCL error: unhandled system error\n" + b"INFO Killed\n"


@pytest.mark.parametrize("backend", ["python", "auto"])
def test_progress_is_an_argument_of_the_scan(backend: str) -> None:
    scanner = Scanner(ScanPlan.of(TRIGGERS), backend=backend)
    data = _log(5000)
    seen: list[int] = []
    sel = scanner.select(iter_chunks(io.BytesIO(data), 4096), on_bytes=seen.append)
    assert seen == sorted(seen) and seen[-1] == len(data) and len(seen) > 1
    assert sel.total_lines == 5002
    assert [ln.number for ln in sel.lines][-2:] == [5001, 5002]
    before = dict(vars(scanner))
    scanner.select([data])  # no progress asked: nothing reported, nothing left behind from the last call
    assert vars(scanner).keys() == before.keys()


def test_progress_of_forked_byte_ranges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("hyperscan")
    monkeypatch.setattr("logclassify.select.window.PARALLEL_MIN_BYTES", 0)
    scanner = Scanner(ScanPlan.of([*TRIGGERS[:3], Trigger(("vllm_version",), kind=MARKER)]), backend="hyperscan")
    path = tmp_path / "a.log"
    data = _log(20000)
    path.write_bytes(data)
    seen: list[int] = []
    sel = scanner.select_file(path, workers=2, on_bytes=seen.append)
    if sel is None:
        pytest.skip("no fork on this platform")
    stream = scanner.select([data])
    assert (sel.total_lines, [ln.number for ln in sel.lines]) == (stream.total_lines, [ln.number for ln in stream.lines])
    assert seen and seen[-1] == len(data)


def test_line_counts_are_right_when_threads_share_a_scanner() -> None:
    """A classifier is shared between threads (a bot's workers); large chunks count their lines with a scratch
    buffer, which must be each thread's own."""
    pytest.importorskip("numpy")
    scanner = Scanner(ScanPlan.of(TRIGGERS), backend="python")
    inputs = [(b"x" * 99 + b"\n") * 30_000, (b"y" * 9 + b"\n") * 300_000]  # 3 MB each: the counting path for big chunks
    wrong: list[tuple[int, int]] = []

    def scan(data: bytes) -> None:
        want = data.count(b"\n")
        for _ in range(30):
            got = scanner.select([data]).total_lines
            if got != want:
                wrong.append((want, got))

    threads = [threading.Thread(target=scan, args=(data,)) for data in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong
