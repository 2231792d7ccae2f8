"""The logs of a fleet run: local files and folders (chosen as `logclassify -j` chooses them), and URIs that
pyarrow's file systems open (`s3://`, `gs://`, `abfs://`, `hdfs://`, `file://`), folders listed recursively.
Each is opened and read as the scan command reads a file: gzip by its magic bytes (a damaged one up to the damage),
`.md` as an issue body, anything else as a log."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, BinaryIO

from logclassify import batch
from logclassify.models import Report
from logclassify.read.sources import GzipInput, InputError, ReadStats, iter_chunks

if TYPE_CHECKING:
    from logclassify.engine.classifier import Classifier

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GZIP = b"\x1f\x8b"
_MARKDOWN_LIMIT = 64 << 20  # what the scan command reads of an issue body
_BUFFER = 1 << 20


@dataclass(frozen=True)
class Source:
    """One log: `name` as the output shows it (the name given, or its URI), `path` what a worker opens (an
    absolute local path, or the URI), `mtime` when the lister knew it (UTC)."""

    name: str
    path: str
    mtime: datetime | None = None


def is_uri(name: str) -> bool:
    return _URI.match(name) is not None


def list_sources(
    inputs: Sequence[str], notice: Callable[[str], None], failed: Callable[[str], None]
) -> list[Source]:
    """Every log of the inputs, in order. What a folder listing skips goes to `notice`; an input that cannot be
    listed to `failed` (its logs were not read)."""
    out: list[Source] = []
    for name in inputs:
        if name == "-":
            failed("-: a fleet run reads files and folders, not stdin (use `logclassify -` for one stream)")
        elif is_uri(name):
            out.extend(_list_uri(name, notice, failed))
        else:
            out.extend(Source(n, os.path.abspath(n)) for n in batch.expand_inputs([name], notice, failed))
    return out


def _list_uri(uri: str, notice: Callable[[str], None], failed: Callable[[str], None]) -> list[Source]:
    import pyarrow.fs as pafs

    try:
        fs, root = pafs.FileSystem.from_uri(uri)
        info = fs.get_file_info(root)
        if info.type == pafs.FileType.File:
            return [Source(uri, uri, _utc(info.mtime))]
        if info.type != pafs.FileType.Directory:
            failed(f"{uri}: no such file or folder")
            return []
        found = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    except (OSError, ValueError) as exc:
        failed(f"{uri}: cannot list ({exc}); the logs in it were not read")
        return []
    out: list[Source] = []
    skipped: list[str] = []
    hidden = 0
    base = uri.rstrip("/")
    for item in sorted(found, key=lambda i: i.path):
        if item.type != pafs.FileType.File:
            continue
        rel = item.path[len(root.rstrip("/")):].lstrip("/")
        if any(part.startswith(".") for part in rel.split("/")[:-1]):
            hidden += 1
        elif batch.looks_like_log(item.base_name):
            out.append(Source(f"{base}/{rel}", f"{base}/{rel}", _utc(item.mtime)))
        else:
            skipped.append(rel)
    if skipped:
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        notice(f"{uri}: skipped {len(skipped)} files not named like logs ({', '.join(skipped[:5])}{more})")
    if hidden:
        notice(f"{uri}: skipped {hidden} files in hidden folders")
    return out


def _utc(when: Any) -> datetime | None:
    if not isinstance(when, datetime):
        return None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def local_mtime(path: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime, tz=timezone.utc)
    except OSError:
        return None


def classify_source(
    classifier: Classifier, source: Source, input_format: str = "auto", redact: tuple[bool, bool] = (True, False)
) -> tuple[Report, datetime | None]:
    """The report of one log, and its modification time. A local file goes through exactly what `logclassify FILE`
    runs (`batch.classify_one`); a URI is streamed through pyarrow. An unreadable log gives a report with `error`."""
    if not is_uri(source.path):
        report, _ = batch.classify_one(classifier, source.path, input_format, redact=redact)
        report.source = source.name
        return report, source.mtime or local_mtime(source.path)
    return _classify_uri(classifier, source, input_format, redact), source.mtime


def _classify_uri(classifier: Classifier, source: Source, input_format: str, redact: tuple[bool, bool]) -> Report:
    import pyarrow.fs as pafs

    try:
        fs, path = pafs.FileSystem.from_uri(source.path)
        reader = io.BufferedReader(_ArrowRaw(fs.open_input_stream(path, compression=None)), _BUFFER)
    except (OSError, ValueError) as exc:
        return Report(source=source.name, error=f"cannot open: {exc}")
    try:
        stream: BinaryIO = reader
        if reader.peek(2)[:2] == _GZIP:
            stream = GzipInput(reader)  # type: ignore[assignment]
        markdown = input_format == "markdown" or (
            input_format == "auto" and source.name.lower().endswith((".md", ".markdown")))
        if markdown:
            return classifier.classify(stream.read(_MARKDOWN_LIMIT), source=source.name, input_format="markdown",
                                       redact=redact[0], redact_hosts=redact[1])
        stats = ReadStats()
        report = classifier.classify_chunks(iter_chunks(stream, stats=stats), source=source.name, redact=redact[0],
                                            redact_hosts=redact[1], stats=stats)
    except (InputError, OSError) as exc:
        return Report(source=source.name, error=f"read error: {exc}")
    finally:
        reader.close()
    damage = getattr(stream, "damage", None)
    if damage:
        report.error = f"{damage}; the report covers the {report.lines:,} lines before it"
    return report


class _ArrowRaw(io.RawIOBase):
    """A pyarrow input stream as a Python raw stream, so that it can be buffered (and peeked at)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._stream.close()
        super().close()
