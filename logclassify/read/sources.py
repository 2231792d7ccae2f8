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
    """Open a path (`-` is stdin) for reading bytes, transparently gunzipping gzip files."""
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
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if head == _GZIP_MAGIC:
        import gzip  # only for gzip input

        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


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
    pending = b""
    while True:
        try:
            block = stream.read(chunk_size)
        except (OSError, EOFError) as exc:  # truncated gzip, I/O error: keep what was read
            raise InputError(f"read error: {exc}") from None
        if not block:
            break
        if not block.endswith(b"\n"):
            # complete the last line (bounded): one copy per chunk instead of carrying a partial line over
            try:
                rest = stream.readline(MAX_LINE + 1)
            except (OSError, EOFError) as exc:
                raise InputError(f"read error: {exc}") from None
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


LogData = str | bytes | bytearray | Iterable[str] | Iterable[bytes]
"""A log in memory: text, bytes, or lines; text and binary file objects (open files, StringIO, BytesIO) are
iterables of lines, and binary streams are read in blocks."""


def chunks_from(data: LogData, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Chunks from in-memory text or bytes, a text or binary file object, or an iterable of str or bytes lines."""
    if isinstance(data, str):
        yield from iter_chunks(io.BytesIO(data.encode("utf-8", "surrogatepass")), chunk_size)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        yield from iter_chunks(io.BytesIO(bytes(data)), chunk_size)
    elif isinstance(data, (io.RawIOBase, io.BufferedIOBase)):  # BytesIO, open(..., "rb"), GzipFile: in blocks
        yield from iter_chunks(data, chunk_size)  # type: ignore[arg-type]
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
