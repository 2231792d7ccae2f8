"""Where bytes come from: files, gzip files, stdin, strings. Read in line-aligned chunks, never all at once."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 1 << 22  # 4 MiB: large enough for fast scanning, small enough for constant memory
MAX_LINE = 1 << 20  # a "line" longer than 1 MiB is cut into pieces: matching a 50 MB line gains nothing
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
    import stat

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


def _cut_long(buf: bytes) -> int:
    """Where to cut a buffer with no newline in its first MAX_LINE bytes: a UTF-8 character boundary."""
    cut = MAX_LINE
    while cut > MAX_LINE - 4 and (buf[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut


def _break_long_lines(buf: bytes) -> bytes:
    """Insert a newline into every stretch of more than MAX_LINE bytes without one (a few steps per chunk)."""
    pos = 0
    size = len(buf)
    while size - pos > MAX_LINE:  # the common case, checked without copying: no line that long
        nl = buf.rfind(b"\n", pos, pos + MAX_LINE + 1)
        if nl < 0:
            break
        pos = nl + 1
    else:
        return buf
    pieces: list[bytes] = []
    pos = 0
    while size - pos > MAX_LINE:
        nl = buf.rfind(b"\n", pos, pos + MAX_LINE + 1)
        if nl >= 0:
            pieces.append(buf[pos : nl + 1])
            pos = nl + 1
            continue
        cut = pos + _cut_long(buf[pos : pos + MAX_LINE + 4])
        pieces.append(buf[pos:cut] + b"\n")
        pos = cut
    if not pieces:
        return buf
    pieces.append(buf[pos:])
    return b"".join(pieces)


def iter_chunks(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield chunks that each end with a newline (except possibly the last).

    A line longer than MAX_LINE is split with an inserted newline at a character boundary, so no chunk holds
    an unbounded line. Multi-byte characters are never split, since chunks end at ASCII newlines.
    """
    name = getattr(stream, "name", "<input>")
    pending = b""
    while True:
        try:
            block = stream.read(chunk_size)
        except (OSError, EOFError) as exc:  # an I/O error (a damaged gzip file ends instead: GzipInput)
            raise InputError(f"{name}: read error: {exc}") from None
        if not block:
            break
        if not block.endswith(b"\n"):
            # complete the last line (bounded): one copy per chunk instead of carrying a partial line over
            try:
                rest = stream.readline(MAX_LINE + 1)
            except (OSError, EOFError) as exc:
                raise InputError(f"{name}: read error: {exc}") from None
            if rest:
                block += rest
        buf = pending + block if pending else block
        end = buf.rfind(b"\n")
        if end < 0:
            while len(buf) > MAX_LINE:
                cut = _cut_long(buf)
                yield buf[:cut] + b"\n"
                buf = buf[cut:]
            pending = buf
            continue
        if end + 1 < len(buf):
            pending = buf[end + 1 :]
            buf = buf[: end + 1]
        else:
            pending = b""
        yield _break_long_lines(buf) if end >= MAX_LINE else buf
        while len(pending) > MAX_LINE:
            cut = _cut_long(pending)
            yield pending[:cut] + b"\n"
            pending = pending[cut:]
    if pending:
        yield pending


def chunks_from(data: str | bytes | Iterable[str], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Chunks from in-memory text, bytes, or an iterable of lines."""
    if isinstance(data, str):
        yield from iter_chunks(io.BytesIO(data.encode("utf-8", "surrogatepass")), chunk_size)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        yield from iter_chunks(io.BytesIO(bytes(data)), chunk_size)
    else:
        batch: list[bytes] = []
        size = 0
        for line in data:
            b = line.encode("utf-8", "surrogatepass")
            if not b.endswith(b"\n"):
                b += b"\n"
            batch.append(b)
            size += len(b)
            if size >= chunk_size:
                yield from iter_chunks(io.BytesIO(b"".join(batch)), chunk_size)
                batch, size = [], 0
        if batch:
            yield from iter_chunks(io.BytesIO(b"".join(batch)), chunk_size)


def decode(raw: bytes) -> str:
    """Bytes to text: invalid UTF-8 is replaced, NUL bytes dropped, never an exception."""
    text = raw.decode("utf-8", "replace")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text
