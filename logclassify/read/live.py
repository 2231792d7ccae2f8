"""Live sources for `--follow`: a pipe or stdin as lines arrive, and `tail -F` of a file.

A source yields input lines (bytes, newline included), `None` (`TICK`) after each poll interval without one, an
int once for a big file (how many lines in its middle were counted, not read), and a `NewFile` when the path was
rotated or truncated: what follows is another generation of the log and starts again at line 1. `FileTail` is the
polled form of one file, for a loop that follows many.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

TICK = None  # what a source yields when nothing new arrived during one poll interval
_PREFIX = 256  # bytes compared at each idle poll to notice a file that was emptied and rewritten


@dataclass(frozen=True)
class NewFile:
    """The path now names another file (`rotated`), or the file shrank below what was read (`truncated`)."""

    reason: Literal["rotated", "truncated"]


LiveItem = bytes | int | NewFile | None


def stream_batches(stream: IO[bytes], poll_s: float) -> Iterator[list[bytes] | None]:
    """The lines of each read of a pipe or stdin (what arrived together), and None after each `poll_s` without
    any. Ends at EOF.

    select() on the file descriptor keeps the caller responsive to Ctrl-C and to its own timers without a reader
    thread (a thread blocked in a buffered read makes the interpreter abort at exit).
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # an in-memory stream: everything is there already
        yield from ([raw] for raw in iter(stream.readline, b""))
        return
    pending = b""
    while True:
        ready, _, _ = select.select([fd], [], [], poll_s)
        if not ready:
            yield TICK
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            if pending:
                yield [pending + b"\n"]
            return
        *complete, pending = (pending + chunk).split(b"\n")
        if complete:
            yield [raw + b"\n" for raw in complete]


@dataclass
class FileTail:
    """`tail -F` for one path, polled: `poll()` returns what is new since the last call and never waits.

    It waits for the path to exist, reopens it when rotated, rereads it when truncated. Many tails are polled in
    turn by one loop (`--follow` of a folder or glob); `FileFollower` drives one alone.
    """

    path: Path
    notice: Callable[[str], None] = lambda _msg: None
    big: int = 16 << 20  # a file already this large is read at its start and end only; the middle is counted
    budget: int = 4 << 20  # bytes read per poll at most, so that one busy file cannot starve the others
    mtime_age: float | None = None  # seconds since the file last changed, when first caught up
    _fh: IO[bytes] | None = field(default=None, init=False, repr=False)
    _pending: bytes = field(default=b"", init=False, repr=False)
    _prefix: bytes = field(default=b"", init=False, repr=False)  # the current file's first bytes, as read
    _first: bool = field(default=True, init=False, repr=False)

    def poll(self) -> list[LiveItem]:
        """Lines read now (at most `budget` bytes), once for a big file an int (lines skipped unread), a NewFile at
        each new file; empty when nothing is new."""
        out: list[LiveItem] = []
        fh = self._fh
        if fh is None:
            fh = self._fh = self._open()
            if fh is None:
                return out
            self._prefix = b""
            if self._first:
                self._first = False
                out += self._head_and_skip(fh)
        read = 0
        while True:
            pos = fh.tell()
            chunk = fh.read(min(1 << 20, self.budget))
            state = self._changed(fh, bool(chunk))
            if chunk and state is None:
                self._prefix += chunk[: max(0, _PREFIX - pos)]
                *complete, self._pending = (self._pending + chunk).split(b"\n")
                out += [raw + b"\n" for raw in complete]
                read += len(chunk)
                if read >= self.budget:
                    return out
                continue
            if self.mtime_age is None:
                self.mtime_age = max(0.0, time.time() - os.fstat(fh.fileno()).st_mtime)
            if state is None:
                return out
            if self._pending:  # the old file's last line, without its newline: still the old file's
                out.append(self._pending + b"\n")
                self._pending = b""
            if state == "rotated":
                self.close()
                self.notice(f"{self.path} was replaced; following the new file")
            else:
                fh.seek(0)
                self._prefix = b""
                self.notice(f"{self.path} was truncated; reading it from the start")
            out.append(NewFile(state))
            return out

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def _head_and_skip(self, fh: IO[bytes]) -> list[bytes | int]:
        """A long-running server's log can be gigabytes: read its first and last MiBs, count the lines between."""
        size = os.fstat(fh.fileno()).st_size
        if size <= self.big:
            return []
        part = self.big // 4
        head = fh.read(part)
        head = head[: head.rfind(b"\n") + 1]
        self._prefix = head[:_PREFIX]
        out: list[bytes | int] = [raw + b"\n" for raw in head.split(b"\n")[:-1]]
        fh.seek(size - part)
        tail_start = size - part + fh.read(1 << 20).find(b"\n") + 1
        fh.seek(len(head))
        skipped, pos = 0, len(head)
        while pos < tail_start:
            block = fh.read(min(4 << 20, tail_start - pos))
            skipped += block.count(b"\n")
            pos += len(block)
        out.append(skipped)
        return out

    def _open(self) -> IO[bytes] | None:
        try:
            return self.path.open("rb")
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _changed(self, fh: IO[bytes], read: bool) -> Literal["rotated", "truncated"] | None:
        """'truncated' when the file no longer starts with the bytes read from it (emptied, then written again:
        what was just `read` at the old position belongs to the new content), or when it shrank below what was
        read; when nothing was read, 'rotated' if the path now names another file (the old one is read to its end
        first)."""
        fd = fh.fileno()
        if self._prefix and os.pread(fd, len(self._prefix), 0) != self._prefix:
            return "truncated"
        if read:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None  # moved away and not yet recreated: keep reading the old file
        own = os.fstat(fd)
        if (st.st_ino, st.st_dev) != (own.st_ino, own.st_dev):
            return "rotated"
        if own.st_size < fh.tell():
            return "truncated"
        return None


@dataclass
class FileFollower:
    """`tail -F` for one path, as an endless iterator of lines and idle ticks (`FileTail` polled every `poll_s`)."""

    path: Path
    poll_s: float = 0.25
    notice: Callable[[str], None] = lambda _msg: None
    big: int = 16 << 20

    def __post_init__(self) -> None:
        self.tail = FileTail(self.path, self.notice, self.big)

    @property
    def mtime_age(self) -> float | None:
        """Seconds since the file last changed, when first caught up."""
        return self.tail.mtime_age

    def lines(self) -> Iterator[LiveItem]:
        """Lines, None when idle, once for a big file an int (lines skipped unread), a NewFile at each new file."""
        while True:
            items = self.tail.poll()
            if items:
                yield from items
            else:
                yield TICK
                time.sleep(self.poll_s)
