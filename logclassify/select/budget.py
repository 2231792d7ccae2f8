"""How much of one input the scan keeps in memory, whatever the input repeats, and what a report says of the rest.

A crash-looping server prints the same traceback 100,000 times, and ranks interleave theirs line by line: keeping a
window around every failure keeps the whole file, and every later stage (normalising, tracebacks, rules, the
unrecognised-failure search) grows with it. So `state.ScanState` keeps, of the lines it would keep:

1. all of them until FIRST_LINES lines or FIRST_BYTES bytes are kept (every normal log stays below that);
2. after that, the window around each failure line whose *signature* (the line without its digits, so timestamps,
   pids and sizes do not count) was not seen before: the first occurrence of every distinct failure, up to
   NEW_LINES lines / NEW_BYTES bytes;
3. and the most recent LAST_LINES lines / LAST_BYTES bytes of the other windows: the last occurrences.

Marker lines (facts, phases) are kept up to MARKER_BYTES. Nothing is dropped silently: `Dropped` counts the lines
that were not kept, and the repeats of each signature, and `warnings()` says it in the report. docs/limits.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FIRST_LINES = 10_000
FIRST_BYTES = 8 << 20
NEW_LINES = 5_000
NEW_BYTES = 4 << 20
LAST_LINES = 5_000
LAST_BYTES = 4 << 20
MARKER_BYTES = 4 << 20
MAX_SIGNATURES = 4_096  # distinct failure signatures remembered; beyond that a failure line counts as a repeat
SIGNATURE_BYTES = 200  # of a line, what its signature is made of
_SAMPLE_CHARS = 120
_DIGITS = b"0123456789"


def signature(raw: bytes) -> bytes:
    """What identifies a failure line across its repeats: its first bytes without digits."""
    return bytes(raw[:SIGNATURE_BYTES]).translate(None, _DIGITS).strip()


@dataclass
class Seen:
    """A failure signature: the line it was first seen on, what it said, and how often it came back after that."""

    line: int
    sample: str
    repeats: int = 0

    @property
    def names_error(self) -> bool:
        """A line that says what failed, rather than a traceback's header, frames or code."""
        s = self.sample
        return ("Error" in s or "Exception" in s or "error" in s) and "Traceback (most" not in s and 'File "' not in s


@dataclass
class Dropped:
    """What one input's scan did not keep (all zero for an input within the budgets)."""

    lines: int = 0  # lines inside some failure's window that were not kept
    first: int = 0  # the first and last of them
    last: int = 0
    markers: int = 0  # fact and phase lines not kept
    signatures: dict[bytes, Seen] = field(default_factory=dict)

    def drop(self, n: int) -> None:
        self.lines += 1
        self.first = n if not self.first else min(self.first, n)
        self.last = max(self.last, n)

    def merge(self, other: Dropped, offset: int) -> None:
        """Add the counts of the next byte range, whose line numbers start after `offset` lines."""
        if other.lines:
            self.first = other.first + offset if not self.first else self.first
            self.last = other.last + offset
            self.lines += other.lines
        self.markers += other.markers
        for sig, seen in other.signatures.items():
            mine = self.signatures.get(sig)
            if mine is None:
                if len(self.signatures) < MAX_SIGNATURES:
                    self.signatures[sig] = Seen(seen.line + offset, seen.sample, seen.repeats)
            else:
                mine.repeats += seen.repeats + 1

    def warnings(self, top: int = 3) -> list[str]:
        """What a reader of the report must know: which lines were not examined, and what repeated."""
        out: list[str] = []
        if self.lines:
            out.append(
                f"memory bound: {self.lines:,} lines around repeated failures between lines {self.first:,} and "
                f"{self.last:,} were not examined (kept: the first {FIRST_LINES:,} lines, the first occurrence of "
                f"each failure, the last {LAST_LINES:,} lines; docs/limits.md)"
            )
        repeated = sorted((s for s in self.signatures.values() if s.repeats and s.names_error),
                          key=lambda s: (-s.repeats, s.line))
        for s in repeated[:top]:
            out.append(f"line {s.line:,} and {s.repeats:,} more like it: {s.sample}")
        if self.markers:
            out.append(f"memory bound: {self.markers:,} fact and phase lines were not kept (docs/limits.md)")
        return out


def sample(raw: bytes) -> str:
    """A failure line as a warning quotes it: its first words, never part of one, so a secret is either whole
    (and redaction, which runs on the finished report, finds it) or absent."""
    text = raw[: _SAMPLE_CHARS * 4].decode("utf-8", "replace").strip()
    if len(text) <= _SAMPLE_CHARS:
        return text
    cut = text.rfind(" ", 0, _SAMPLE_CHARS)
    return (text[:cut] if cut > 0 else "") + " …"
