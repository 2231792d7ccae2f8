"""One pass over the raw bytes that keeps only the lines some rule might care about, with their context.

All literals of all rules (plus the traceback header, fact and phase markers) form one multi-pattern search.
Each line holding a literal is kept with a window of context lines around it; the rest of the input is only
counted. The cost is one regex pass over the bytes, independent of how many rules there are. The last lines of
the input are always kept: a log that stops in the middle of a startup phase is evidence too.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from logclassify.read.normalize import normalize_line
from logclassify.read.logline import LogLine
from logclassify.read.sources import decode

CONTEXT_BEFORE = 40  # lines kept before a hit (proximity conditions, the start of a traceback)
CONTEXT_AFTER = 60  # lines kept after a hit
TRACEBACK_AFTER = 400  # a traceback header keeps this many lines after it, to reach its exception line
TAIL_LINES = 40  # always keep the end of the input


@dataclass
class Selection:
    """The kept lines as runs of consecutive input lines (segments), and the input's line count."""

    segments: list[list[LogLine]] = field(default_factory=list)
    total_lines: int = 0
    bytes_read: int = 0

    @property
    def lines(self) -> list[LogLine]:
        return [ln for seg in self.segments for ln in seg]


def build_pattern(literals: Iterable[str], ignore_case: Iterable[str] = ()) -> re.Pattern[bytes]:
    """One alternation over every literal (longest first); case-insensitive ones in a (?i:...) group."""
    sensitive = sorted({lit.encode() for lit in literals}, key=len, reverse=True)
    insensitive = sorted({lit.lower().encode() for lit in ignore_case}, key=len, reverse=True)
    parts = [re.escape(x) for x in sensitive]
    if insensitive:
        parts.append(b"(?i:" + b"|".join(re.escape(x) for x in insensitive) + b")")
    if not parts:
        parts = [b"(?!)"]
    return re.compile(b"|".join(parts))


class Scanner:
    """Selects lines from line-aligned byte chunks (see `read.sources.iter_chunks`)."""

    def __init__(self, pattern: re.Pattern[bytes], long_context: re.Pattern[bytes] | None = None) -> None:
        self.pattern = pattern
        self.long_context = long_context or re.compile(rb"Traceback \(most recent call last\)")

    def select(self, chunks: Iterable[bytes]) -> Selection:
        sel = Selection()
        kept: dict[int, bytes] = {}
        recent: deque[tuple[int, bytes]] = deque(maxlen=max(CONTEXT_BEFORE, TAIL_LINES))
        line_no = 0  # number of the last line fully consumed
        keep_until = 0  # keep every line up to this number (forward context)
        for chunk in chunks:
            sel.bytes_read += len(chunk)
            line_no, keep_until = self._chunk(chunk, line_no, keep_until, kept, recent)
        sel.total_lines = line_no
        for n, raw in recent:
            if n > line_no - TAIL_LINES:
                kept.setdefault(n, raw)
        sel.segments = list(_segments(kept))
        return sel

    def _chunk(
        self,
        chunk: bytes,
        line_no: int,
        keep_until: int,
        kept: dict[int, bytes],
        recent: deque[tuple[int, bytes]],
    ) -> tuple[int, int]:
        pos = 0
        size = len(chunk)
        search = self.pattern.search
        while pos < size:
            # Lines still inside a forward window are kept one by one.
            if line_no < keep_until:
                end = chunk.find(b"\n", pos)
                end = size if end < 0 else end + 1
                line_no += 1
                raw = chunk[pos:end]
                kept[line_no] = raw
                recent.append((line_no, raw))
                if self.long_context.search(raw):
                    keep_until = max(keep_until, line_no + TRACEBACK_AFTER)
                elif search(raw):
                    keep_until = max(keep_until, line_no + CONTEXT_AFTER)
                pos = end
                continue
            m = search(chunk, pos)
            if m is None:
                # No more hits in this chunk: count its lines and remember the tail for context/tail.
                self._remember_tail(chunk, pos, size, line_no, recent)
                line_no += chunk.count(b"\n", pos, size) + (0 if chunk.endswith(b"\n") or pos >= size else 1)
                return line_no, keep_until
            start = chunk.rfind(b"\n", pos, m.start()) + 1
            if start <= pos:
                start = pos
            skipped = chunk.count(b"\n", pos, start)
            if skipped:
                self._remember_tail(chunk, pos, start, line_no, recent)
            line_no += skipped
            # Backward context: the lines just before the hit, from the recent buffer.
            for n, raw in recent:
                if n > line_no - CONTEXT_BEFORE:
                    kept.setdefault(n, raw)
            keep_until = max(keep_until, line_no + 1)
            pos = start
        return line_no, keep_until

    @staticmethod
    def _remember_tail(chunk: bytes, start: int, end: int, line_no: int, recent: deque[tuple[int, bytes]]) -> None:
        """Push the last lines of chunk[start:end] (numbered after line_no) into the recent buffer."""
        if end <= start:
            return
        want = recent.maxlen or 0
        # Walk back over at most `want` newlines.
        cut = end
        count = 0
        while count < want + 1:
            nl = chunk.rfind(b"\n", start, cut - 1) if cut - 1 > start else -1
            if nl < 0:
                cut = start
                break
            cut = nl + 1
            count += 1
        pieces = chunk[cut:end].split(b"\n")
        if pieces and pieces[-1] == b"":
            pieces.pop()
        total = chunk.count(b"\n", start, end) + (0 if chunk[end - 1 : end] == b"\n" else 1)
        first = line_no + total - len(pieces) + 1
        for i, raw in enumerate(pieces):
            recent.append((first + i, raw + b"\n"))


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
