"""Where bytes come from: files, gzip files, stdin, strings. Read in line-aligned chunks, never all at once."""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 1 << 22  # 4 MiB: large enough for fast scanning, small enough for constant memory
# A line longer than MAX_LINE bytes is read as its first and last LONG_KEEP bytes joined by a CR (the normaliser's
# record separator), and keeps its one line number: matching the middle of a 50 MB line gains nothing, and a long
# line costs one pass over its bytes. docs/limits.md.
MAX_LINE = 1 << 16
LONG_KEEP = MAX_LINE // 2 - 1
_GZIP_MAGIC = b"\x1f\x8b"


class InputError(Exception):
    """An input that cannot be read; the message names it."""


def open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a path (`-` is stdin) for reading bytes, once (a named pipe cannot be opened twice), transparently
    gunzipping gzip files; a damaged gzip file ends where the damage is (see `GzipInput`)."""
    if str(path) == "-":
        return sys.stdin.buffer
    p = Path(path)
    try:
        raw = p.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    try:
        head = raw.peek(2)[:2]
    except OSError as exc:  # opens but cannot be read (an I/O error, /proc/self/mem)
        raw.close()
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    if head == _GZIP_MAGIC:
        return GzipInput(raw)  # type: ignore[return-value]
    return raw


def is_regular_file(stream: BinaryIO) -> bool:
    """Whether an open stream is a regular file on disk (not a pipe, a terminal or a device): only those can be
    opened again, to be scanned in parallel byte ranges."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):
        return False


class GzipInput:
    """A gzip file read in small pieces that ends, instead of raising, where the file is damaged (a download or
    a copy cut short): the failure is often near the start, so what came before the damage is kept, and `damage`
    says what went wrong."""

    PIECE = 1 << 16  # what one damaged read can lose at most

    def __init__(self, raw: BinaryIO) -> None:
        import gzip  # only for gzip input

        self._raw = raw
        self._gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self.name = getattr(raw, "name", "<gzip>")
        self.damage: str | None = None

    def _errors(self) -> tuple[type[BaseException], ...]:
        import zlib

        return (OSError, EOFError, zlib.error)

    def read(self, size: int = -1) -> bytes:
        pieces: list[bytes] = []
        got = 0
        while self.damage is None and (size < 0 or got < size):
            try:
                piece = self._gz.read1(self.PIECE if size < 0 else min(self.PIECE, size - got))
            except self._errors() as exc:
                self.damage = f"damaged gzip data ({exc})"
                break
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        return b"".join(pieces)

    def readline(self, limit: int = -1) -> bytes:
        if self.damage is not None:
            return b""
        try:
            return self._gz.readline(limit)
        except self._errors() as exc:
            self.damage = f"damaged gzip data ({exc})"
            return b""

    def fileno(self) -> int:
        return self._raw.fileno()

    def __enter__(self) -> GzipInput:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._gz.close()
        self._raw.close()


@dataclass
class ReadStats:
    """What the reader shortened in one input: lines longer than MAX_LINE, and the bytes of theirs not read."""

    long_lines: int = 0
    skipped_bytes: int = 0


def _head(line: bytes) -> bytes:
    """The first LONG_KEEP bytes of a line, not ending inside a UTF-8 character."""
    cut = LONG_KEEP
    while cut > LONG_KEEP - 4 and (line[cut] & 0xC0) == 0x80:
        cut -= 1
    return line[:cut]


def _tail(line: bytes) -> bytes:
    """The last LONG_KEEP bytes (or fewer) of a line, not starting inside a UTF-8 character."""
    start = max(0, len(line) - LONG_KEEP)
    stop = min(start + 4, len(line))
    while start < stop and (line[start] & 0xC0) == 0x80:
        start += 1
    return line[start:]


def _shorten(head: bytes, tail: bytes, size: int, stats: ReadStats | None) -> bytes:
    """A long line (`size` bytes without its newline) as what is kept of it, one line still."""
    kept = _head(head) + b"\r" + _tail(tail) + b"\n"
    if stats is not None:
        stats.long_lines += 1
        stats.skipped_bytes += size + 2 - len(kept)
    return kept


def _shorten_long_lines(buf: bytes, stats: ReadStats | None) -> bytes:
    """The buffer (complete lines) with every line longer than MAX_LINE shortened (a few steps per chunk)."""
    pos = 0
    size = len(buf)
    while size - pos > MAX_LINE:  # the common case, checked without copying: no line that long
        nl = buf.rfind(b"\n", pos, pos + MAX_LINE + 1)
        if nl < 0:
            break
        pos = nl + 1
    else:
        return buf
    pieces: list[bytes] = [buf[:pos]]
    while pos < size:
        nl = buf.find(b"\n", pos)
        end = size if nl < 0 else nl + 1
        line = buf[pos:end]
        body = line[:-1] if line.endswith(b"\n") else line
        pieces.append(_shorten(body, body, len(body), stats) if len(body) > MAX_LINE else line)
        pos = end
    return b"".join(pieces)


def _read(read: Callable[[int], bytes], n: int) -> bytes:
    try:
        return read(n)
    except (OSError, EOFError) as exc:  # an I/O error (a damaged gzip file ends instead: GzipInput)
        name = getattr(getattr(read, "__self__", None), "name", "<input>")  # the stream's file name
        raise InputError(f"{name}: read error: {exc}") from None


def _read_block(stream: BinaryIO, n: int) -> bytes:
    """Up to n bytes (fewer only at the end, or where a growing file ended when asked), read straight into a new
    buffer where the stream can (files, pipes, BytesIO), which the chunk then grows in place to complete its last
    line: no copy of the block.
    A bytearray stands in for bytes (each chunk is a new one, never reused)."""
    readinto = getattr(stream, "readinto", None)
    if readinto is None:
        return _read(stream.read, n)
    n = min(n, _left_in_file(stream) + _SLACK)
    buf = bytearray(n)
    got = 0
    try:
        with memoryview(buf) as view:
            while got < n:  # a raw stream (FileIO, a pipe) may return less before the end
                k = readinto(view[got:])
                if not k:
                    break
                got += k
    except (OSError, EOFError) as exc:
        raise InputError(f"{getattr(stream, 'name', '<input>')}: read error: {exc}") from None
    if got < n:
        del buf[got:]
    return buf  # type: ignore[return-value]


_SLACK = 1 << 16  # read this much past a regular file's known size: it may be growing


def _left_in_file(stream: BinaryIO) -> int:
    """The bytes of a plain open file or a BytesIO after its position, huge for anything else (a pipe, gzip). A 4 MiB
    buffer allocated and shrunk for each small log cost as much as reading it (`logclassify -j` over many files,
    `classify(text)`). A file that grows while it is read is still read to its end: each block asks again."""
    if type(stream) is io.BytesIO:
        with stream.getbuffer() as whole:
            return max(0, whole.nbytes - stream.tell())
    if type(stream) not in (io.BufferedReader, io.FileIO):
        return sys.maxsize
    try:
        st = os.fstat(stream.fileno())
        return max(0, st.st_size - stream.tell()) if stat.S_ISREG(st.st_mode) else sys.maxsize
    except (OSError, ValueError):
        return sys.maxsize


def _rest_of_long_line(start: bytes, stream: BinaryIO, chunk_size: int, stats: ReadStats | None) -> tuple[bytes, bytes]:
    """Read on to the end of a long line that begins with `start` (no newline in it), keeping only its head and
    tail: (the shortened line, what was read after it)."""
    head = start[:MAX_LINE]
    tail = start[-MAX_LINE:]
    size = len(start)
    while True:
        block = _read(stream.read, chunk_size)
        if not block:
            return _shorten(head, tail, size, stats), b""
        nl = block.find(b"\n")
        piece = block if nl < 0 else block[:nl]
        size += len(piece)
        tail = piece[-MAX_LINE:] if len(piece) >= MAX_LINE else (tail + piece)[-MAX_LINE:]
        if nl >= 0:
            return _shorten(head, tail, size, stats), block[nl + 1 :]


def iter_chunks(stream: BinaryIO, chunk_size: int = CHUNK_SIZE, stats: ReadStats | None = None) -> Iterator[bytes]:
    """Yield chunks that each end with a newline (except possibly the last), each line complete.

    A line longer than MAX_LINE is shortened to its head and tail (`stats` counts them), so no chunk holds an
    unbounded line and every input line is still exactly one line. Multi-byte characters are never split.
    """
    pending = b""  # read past the end of a long line: the start of what comes next
    while True:
        block = _read_block(stream, chunk_size)
        if pending:
            block, pending = pending + block, b""
        if not block:
            break
        if not block.endswith(b"\n"):
            block += _read(stream.readline, MAX_LINE + 1)  # complete the last line (bounded)
        start = block.rfind(b"\n") + 1
        if block.endswith(b"\n") or len(block) - start <= MAX_LINE:  # complete lines, or the input's short last line
            yield _shorten_long_lines(block, stats)
            continue
        if start:
            yield _shorten_long_lines(block[:start], stats)
        line, pending = _rest_of_long_line(block[start:], stream, chunk_size, stats)
        yield line


LogData = str | bytes | bytearray | Iterable[str] | Iterable[bytes]
"""A log in memory: text, bytes, or lines; text and binary file objects (open files, StringIO, BytesIO) are
iterables of lines, and binary streams are read in blocks."""


def chunks_from(data: LogData, chunk_size: int = CHUNK_SIZE, stats: ReadStats | None = None) -> Iterator[bytes]:
    """Chunks from in-memory text or bytes, a text or binary file object, or an iterable of str or bytes lines."""
    if isinstance(data, str):
        yield from iter_chunks(io.BytesIO(data.encode("utf-8", "surrogatepass")), chunk_size, stats)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        yield from iter_chunks(io.BytesIO(bytes(data)), chunk_size, stats)
    elif isinstance(data, (io.RawIOBase, io.BufferedIOBase)):  # BytesIO, open(..., "rb"), GzipFile: in blocks
        yield from iter_chunks(data, chunk_size, stats)  # type: ignore[arg-type]
    else:
        batch: list[bytes] = []
        size = 0
        for line in data:
            b = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else bytes(line)
            if not b.endswith(b"\n"):
                b += b"\n"
            batch.append(b)
            size += len(b)
            if size >= chunk_size:
                yield from iter_chunks(io.BytesIO(b"".join(batch)), chunk_size, stats)
                batch, size = [], 0
        if batch:
            yield from iter_chunks(io.BytesIO(b"".join(batch)), chunk_size, stats)


def decode(raw: bytes) -> str:
    """Bytes to text: invalid UTF-8 is replaced, NUL bytes dropped, never an exception."""
    text = raw.decode("utf-8", "replace")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text
