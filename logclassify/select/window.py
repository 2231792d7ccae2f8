"""The policy of what is kept around a hit: the context lengths, the marker quotas and `Window`, the forward extent
of the windows opened so far (a traceback's ends at its exception line). Both the line-by-line walk (`state`) and
the bulk path of a crash loop (`repeats`) keep lines by these rules.
"""

from __future__ import annotations

from logclassify.lazyre import lazy
from logclassify.read.normalize import normalize_line
from logclassify.read.sources import decode
from logclassify.select.triggers import TRACEBACK

CONTEXT_BEFORE = 40  # lines kept before a hit (proximity conditions, the start of a traceback)
CONTEXT_AFTER = 60  # lines kept after a hit
TRACEBACK_AFTER = 400  # a traceback header keeps up to this many lines after it, to reach its exception line
TAIL_LINES = 40  # always keep the end of the input
# plain files at least this large are scanned in several processes (defined here, not in `parallel`: the classifier
# checks a file's size against it without importing the parallel scan)
PARALLEL_MIN_BYTES = 64 << 20
MARKER_LINES = 100  # a marker literal keeps its first this many lines ...
MARKER_LAST = 20  # ... and its last this many


_EXCEPTION_LINE = lazy(
    r"^\s*(?:[A-Za-z_]\w*\.)*(?:[A-Z]\w*(?:Error|Exception|Interrupt|Exit)|AssertionError)\b(?::|\s*$)"
)


class Window:
    """How far forward lines are kept: `plain` (anchor windows, and tracebacks whose exception line was seen) and
    a pending traceback window that ends CONTEXT_AFTER lines after the traceback's exception line, or at its
    deadline (TRACEBACK_AFTER lines after the header) when no exception line comes."""

    __slots__ = ("plain", "tb_deadline", "tb_header")

    def __init__(self) -> None:
        self.plain = 0
        self.tb_deadline = 0  # 0: no traceback window pending
        self.tb_header = 0

    def limit(self) -> int:
        return max(self.plain, self.tb_deadline)

    def open(self, n: int, kind: int) -> None:
        if kind == TRACEBACK:
            self.tb_deadline = max(self.tb_deadline, n + TRACEBACK_AFTER)
            self.tb_header = max(self.tb_header, n)
        else:
            self.plain = max(self.plain, n + CONTEXT_AFTER)

    def took(self, n: int, raw: bytes) -> None:
        """Line n was kept while a traceback window is pending: its exception line closes it."""
        if n >= self.tb_deadline:
            self.plain = max(self.plain, self.tb_deadline)
            self.tb_deadline = 0
        elif n > self.tb_header and is_exception_line(raw):
            self.plain = max(self.plain, min(self.tb_deadline, n + CONTEXT_AFTER))
            self.tb_deadline = 0


def is_exception_line(raw: bytes) -> bool:
    """Whether a raw line is a traceback's exception line (`ValueError: ...`), which ends the traceback's window."""
    if b"Error" not in raw and b"Exception" not in raw and b"Interrupt" not in raw and b"Exit" not in raw:
        return False
    return any(_EXCEPTION_LINE.match(ln.message) for ln in normalize_line(0, decode(raw).rstrip("\r\n")))
