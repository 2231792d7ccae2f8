"""What a busy but healthy server prints is not kept: the scan's cost stays near grep's on a serving log.

A rule condition that every access line matches (the request rules' `confirm: none:` names access lines; an
exception condition whose message literal is "429 ", which ports and sizes contain) used to anchor a 100-line window
on each such line, so a make_log serving log went through the crash-loop path (about 30x grep's CPU time).
"""

from __future__ import annotations

import io

from logclassify.engine.classifier import Classifier
from logclassify.read.sources import iter_chunks

ACCESS = 'INFO:     10.0.3.7:{port} - "POST /v1/chat/completions HTTP/1.1" 200 OK\n'
STATS = "INFO 06-11 03:12:44 [loggers.py:123] Engine 000: Avg prompt throughput: {n}.0 tokens/s, Running: 3 reqs\n"
FAILURE = ("ERROR 06-11 03:13:00 [core.py:1] EngineCore failed to start.\nTraceback (most recent call last):\n"
           '  File "/x/core.py", line 1, in run\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB.\n')


def _log() -> bytes:
    lines = [ACCESS.format(port=20000 + (n * 7) % 40000) if n % 4 else STATS.format(n=n) for n in range(40_000)]
    lines.insert(20_000, FAILURE)
    return "".join(lines).encode()


def test_access_lines_are_not_kept() -> None:
    clf = Classifier()
    data = _log()
    sel = clf.scanner.select(iter_chunks(io.BytesIO(data)))
    kept = sum(len(seg) for seg in sel.segments)
    assert sel.dropped.lines == 0  # no memory bound reached: nothing here repeats a failure
    assert kept < 1_000, kept  # the failure's window, the first and last lines of each marker, the tail
    report = clf.classify(data)
    assert [d.id for d in report.diagnoses][:1] == ["cuda-oom"] and not report.warnings
