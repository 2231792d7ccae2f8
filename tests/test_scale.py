"""Correctness under scale: the same diagnoses, evidence line numbers and captures whatever the chunk size, the
scan backend (Hyperscan or bytes.find), the number of scanning processes and the input path (file, gzip, stdin)."""

from __future__ import annotations

import gzip
import io
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from logclassify.engine.classifier import Classifier
from logclassify.models import Report
from logclassify.read.sources import chunks_from, iter_chunks
from logclassify.select import ANCHOR, Scanner, ScanPlan, Trigger
from logclassify.select.parallel import Partial, merge, scan_range
from logclassify.select.state import TRACEBACK_AFTER
from logclassify.select.triggers import MAX_TIMEOUTS, strip_anchors

NCCL = """\
ERROR 06-11 03:12:44 [multiproc_executor.py:140] Error executing method 'init_device'. This might cause deadlock.
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/dist-packages/vllm/distributed/device_communicators/pynccl.py", line 99, in __init__
    self.comm: ncclComm_t = self.nccl.ncclCommInitRank(
                            ^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/local/lib/python3.12/dist-packages/vllm/distributed/device_communicators/pynccl_wrapper.py", line 277, in ncclCommInitRank
    self.NCCL_CHECK(self._funcs["ncclCommInitRank"](ctypes.byref(comm),
  File "/usr/local/lib/python3.12/dist-packages/vllm/distributed/device_communicators/pynccl_wrapper.py", line 256, in NCCL_CHECK
    raise RuntimeError(f"NCCL error: {error_str}")
RuntimeError: NCCL error: unhandled system error (run with NCCL_DEBUG=INFO for details)
"""  # noqa: E501
ARCH = """\
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/dist-packages/vllm/model_executor/models/registry.py", line 421, in _raise_for_unsupported
    raise ValueError(
ValueError: Model architectures ['FooBarForCausalLM'] are not supported for now. Supported architectures: dict_keys(['LlamaForCausalLM'])
"""  # noqa: E501


def _bulk(rng: random.Random, i: int) -> str:
    k = rng.random()
    if k < 0.4:
        return (f"INFO 11-24 10:{i // 60 % 60:02d}:{i % 60:02d} [loggers.py:123] Engine 000: Avg prompt throughput: "
                f"{rng.uniform(0, 900):.1f} tokens/s, GPU KV cache usage: {rng.uniform(0, 99):.1f}%")
    if k < 0.7:
        return f'INFO:     10.0.0.{rng.randint(1, 254)}:{rng.randint(1024, 65535)} - "POST /v1/completions HTTP/1.1" 200 OK'
    if k < 0.85:  # multi-byte characters: 2, 3 and 4 bytes
        return f"INFO 11-24 10:00:00 [logger.py:41] Received request: prompt: 'résumé ▇▇▇ 你好 🙂 #{i}'"
    return "WARNING 11-24 10:00:00 [protocol.py:58] fields ignored; error handling is not affected"


def make_log(n: int = 3000, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    lines: list[str] = []
    for i in range(n):
        if i == n // 3:
            lines.extend(NCCL.splitlines())
        elif i == 2 * n // 3:
            lines.extend(ARCH.splitlines())
        else:
            lines.append(_bulk(rng, i))
    return ("\n".join(lines) + "\n").encode()


def key(report: Report) -> Any:
    """What must not change: ids, evidence line numbers and text, captures, the line count."""
    return (
        report.lines,
        sorted((d.id, [(e.line, e.text) for e in d.evidence], sorted(d.captures.items())) for d in report.diagnoses),
    )


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier()


@pytest.fixture(scope="module")
def log() -> bytes:
    return make_log()


@pytest.fixture(scope="module")
def reference(classifier: Classifier, log: bytes) -> Any:
    ref = key(classifier.classify(log, input_format="log"))
    ids = {d[0] for d in ref[1]}
    assert {"nccl-system-error-init", "model-arch-unsupported"} <= ids, ids
    return ref


def test_the_generated_log_splits_where_it_should(log: bytes) -> None:
    """The chunk sizes below cut through the NCCL traceback and through multi-byte characters."""
    tb = log.index(b"Traceback")
    assert any(tb < c < tb + len(NCCL) for c in range(0, len(log), 4096))
    assert any(log[c] & 0xC0 == 0x80 for c in range(0, len(log), 333))


@pytest.mark.parametrize("chunk_size", [1, 7, 333, 4096, 65536, 1 << 22])
def test_same_result_for_any_chunk_size(classifier: Classifier, log: bytes, reference: Any, chunk_size: int) -> None:
    report = classifier.classify_chunks(iter_chunks(io.BytesIO(log), chunk_size), source="x")
    assert key(report) == reference


@pytest.mark.parametrize("lines_per_chunk", [1, 2, 9, 50, 401])
def test_same_result_for_any_line_aligned_split(
    classifier: Classifier, log: bytes, reference: Any, lines_per_chunk: int
) -> None:
    lines = log.splitlines(keepends=True)
    chunks = [b"".join(lines[i : i + lines_per_chunk]) for i in range(0, len(lines), lines_per_chunk)]
    assert key(classifier.classify_chunks(chunks, source="x")) == reference


def test_iter_chunks_never_splits_a_line_or_a_character(log: bytes) -> None:
    for size in (1, 5, 333, 4096):
        chunks = list(iter_chunks(io.BytesIO(log), size))
        assert b"".join(chunks) == log
        for c in chunks:
            assert c.endswith(b"\n")
            c.decode("utf-8")


@pytest.mark.parametrize("backend", ["python", "hyperscan"])
def test_same_result_with_either_backend(
    log: bytes, reference: Any, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "hyperscan":
        pytest.importorskip("hyperscan")
    monkeypatch.setenv("LOGCLASSIFY_SCAN_BACKEND", backend)
    c = Classifier()
    for size in (333, 1 << 16):
        assert key(c.classify_chunks(iter_chunks(io.BytesIO(log), size), source="x")) == reference


@pytest.mark.parametrize("workers", [2, 3])
def test_parallel_scan_of_a_file_matches_the_stream(
    classifier: Classifier, log: bytes, reference: Any, tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("hyperscan")
    monkeypatch.setattr("logclassify.select.window.PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr("logclassify.read.sources.CHUNK_SIZE", 5000)  # many chunks per worker
    path = tmp_path / "big.log"
    path.write_bytes(log)
    sel = classifier.scanner.select_file(path, workers=workers)
    if sel is None:
        pytest.skip("no fork on this platform")
    assert key(classifier.classify_selection(sel, source="x")) == reference
    # the cut between the ranges falls on each side of the tracebacks
    for cut in (log.index(b"Traceback") + 200, log.index(b"Traceback") - 200):
        cut = log.index(b"\n", cut) + 1
        merged = merge([range_of(classifier.scanner, log[:cut]), range_of(classifier.scanner, log[cut:])])
        assert key(classifier.classify_selection(merged, source="x")) == reference


def range_of(scanner: Scanner, data: bytes) -> Partial:
    """What a worker returns for a byte range holding `data`."""
    return scan_range(scanner, iter_chunks(io.BytesIO(data), 5000), data.splitlines(keepends=True)[:TRACEBACK_AFTER])


def test_file_gzip_and_stdin_agree(classifier: Classifier, log: bytes, reference: Any, tmp_path: Path) -> None:
    plain = tmp_path / "a.log"
    plain.write_bytes(log)
    gz = tmp_path / "a.log.gz"
    gz.write_bytes(gzip.compress(log))
    assert key(classifier.classify_path(plain)) == reference
    assert key(classifier.classify_path(gz)) == reference
    assert key(classifier.classify(log.decode(), input_format="log")) == reference
    assert key(classifier.classify(iter(log.decode().splitlines()), input_format="log")) == reference
    out = subprocess.run(
        [sys.executable, "-m", "logclassify", "--format", "json", "-"], input=log, capture_output=True, check=False
    )
    assert out.returncode in (0, 1), out.stderr
    data = json.loads(out.stdout)
    rep = Report.model_validate(data[0] if isinstance(data, list) else data)
    assert key(rep) == reference


def test_repeated_markers_keep_first_and_last_lines(classifier: Classifier) -> None:
    """A serving log repeats its progress lines; only the first and last ones are kept, so the selection stays
    small however long the log is, and the line count stays exact."""
    line = "INFO 11-24 10:00:00 [loggers.py:123] Engine 000: Avg prompt throughput: 1.0 tokens/s\n"
    text = line * 20000 + ARCH
    for size in (4096, 1 << 22):
        sel = classifier.scanner.select(chunks_from(text, size))
        assert sel.total_lines == 20000 + ARCH.count("\n")
        assert len(sel.lines) < 400


def test_anchor_stripping_keeps_a_superset() -> None:
    assert strip_anchors(r"^\s*foo$") == r"\s*foo"
    assert strip_anchors(r"[^a$]x{,3}\Aab\Z") == r"[^a$]x{0,3}ab"
    assert strip_anchors(r"(?:^|\s)Killed\b") == r"(?:|\s)Killed\b"


def test_a_pathological_regex_cannot_hang_the_scan() -> None:
    """Catastrophic backtracking on every candidate line: each gives up after the timeout, then the literal decides."""
    trig = Trigger(("aaaa",), r"(?:a+)+b", kind=ANCHOR)
    sc = Scanner(ScanPlan.of([trig]), backend="python")
    line = "a" * 5000 + "c\n"
    sel = sc.select([(line * 50).encode()])
    assert sel.total_lines == 50
    assert len(sel.lines) == 50  # every line kept: a timeout counts as a match
    assert sc.verifiers[0].timeouts == MAX_TIMEOUTS
