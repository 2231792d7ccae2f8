"""Which lines of a batch hold something a rule, fact or phase looks for, found in one scan of the whole batch.

The follower asks this of every line it reads. Line by line (`Scanner.hit`) that is a `bytes.find` per literal of
every rule on each line, about 0.3 ms: a node's pods writing a few thousand lines a second would need a core for
it. Lines that arrive together (a poll of a file, a read of a pipe) are scanned as one chunk instead, by Hyperscan
where it is installed, and each candidate is verified as `hit` verifies it, so the answer is the same line for
line (tests/test_follow_fleet.py compares them).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

from logclassify.read.sources import decode
from logclassify.select.scanner import Scanner


def relevant_lines(scanner: Scanner, lines: Sequence[bytes]) -> list[bool]:
    """For each line (newline included), whether `scanner.hit(line)` would be true."""
    chunk = b"".join(lines)
    starts = list(accumulate((len(ln) for ln in lines), initial=0))
    out = [False] * len(lines)
    anchors, markers = scanner.candidates(chunk)
    for k in markers:  # a marker literal keeps every line that holds it
        literal = scanner.plan.markers[k]
        pos = chunk.find(literal)
        while pos >= 0:
            i = bisect_right(starts, pos) - 1
            out[i] = True
            pos = chunk.find(literal, starts[i + 1])
    for offset, trigger in anchors:
        i = bisect_right(starts, offset) - 1
        if not out[i] and scanner.verify(trigger, decode(lines[i]).rstrip("\r\n")):
            out[i] = True
    return out
