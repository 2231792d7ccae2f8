"""A request's log as the classifier's chunks: inflated within a limit (gzip), sniffed for an issue body like
the command's stdin, and stopped between chunks when the request runs out of time."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal

from logclassify.engine.classifier import MAX_MARKDOWN_BYTES, Classifier
from logclassify.models import Report
from logclassify.read.markdown import log_lines_of_markdown, sniff_issue_body
from logclassify.read.sources import GzipInput, ReadStats, chunks_from, iter_chunks
from logclassify.serve.problems import TimeUp, TooLarge
from logclassify.serve.settings import human_size

InputFormat = Literal["auto", "log", "markdown"]


@dataclass(frozen=True)
class Job:
    """One classification: the body and how to read and report it."""

    data: bytes
    gzipped: bool
    source: str
    input_format: InputFormat
    redact: bool
    redact_hosts: bool
    max_inflated: int


class Inflated:
    """A gzip body read through `GzipInput` (damage ends the input, as for a .gz file), refused past `limit`
    inflated bytes: a few megabytes of gzip can inflate to gigabytes."""

    def __init__(self, data: bytes, limit: int) -> None:
        self.gz = GzipInput(io.BytesIO(data))
        self.limit = limit
        self.seen = 0

    def _count(self, piece: bytes) -> bytes:
        self.seen += len(piece)
        if self.seen > self.limit:
            raise TooLarge(f"the gzip body inflates to more than this server's limit of {human_size(self.limit)} "
                           f"({self.limit:,} bytes); send a shorter log or start the server with a larger --max-inflated")
        return piece

    def read(self, size: int = -1) -> bytes:
        return self._count(self.gz.read(size))

    def readline(self, limit: int = -1) -> bytes:
        return self._count(self.gz.readline(limit))


def _until(chunks: Iterator[bytes], stop: threading.Event) -> Iterator[bytes]:
    for chunk in chunks:
        if stop.is_set():
            raise TimeUp
        yield chunk


def run(classifier: Classifier, job: Job, stop: threading.Event) -> Report:
    """Classify a job's body as `logclassify --format json` classifies a file or stdin; `stop` (set when the
    request's time is up) ends the scan at the next chunk with TimeUp."""
    stats = ReadStats()
    stream: BinaryIO | Inflated = Inflated(job.data, job.max_inflated) if job.gzipped else io.BytesIO(job.data)
    chunks = _until(iter_chunks(stream, stats=stats), stop)  # type: ignore[arg-type]
    if job.input_format == "markdown":
        text = b"".join(_bounded(chunks, MAX_MARKDOWN_BYTES)).decode("utf-8", "replace")
        chunks = _until(chunks_from(log_lines_of_markdown(text)), stop)
    elif job.input_format == "auto":  # the command's test, for a file and stdin alike
        chunks, body = sniff_issue_body(chunks)
        if body is not None:
            chunks = _until(chunks_from(log_lines_of_markdown(body)), stop)
    report = classifier.classify_chunks(chunks, source=job.source, redact=job.redact, redact_hosts=job.redact_hosts,
                                        stats=stats)
    damage = stream.gz.damage if isinstance(stream, Inflated) else None
    if damage:
        report.error = f"{damage}; the report covers the {report.lines:,} lines before it"
    return report



def _bounded(chunks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            return
        yield chunk


def inflate(data: bytes, limit: int) -> bytes:
    """A whole gzip body (a gzipped JSON request) in memory, refused past `limit` inflated bytes."""
    stream = Inflated(data, limit)
    out = stream.read(limit + 1)
    if stream.gz.damage:
        from logclassify.serve.problems import Problem

        raise Problem(400, f"the gzip body could not be read: {stream.gz.damage}")
    return out
