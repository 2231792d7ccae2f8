"""`--follow -` fed by a log collector: the JSON records Fluent Bit or Vector forward, one per line, split by pod.

A node's collector already tails every container; piped into logclassify (Fluent Bit's `stdout` output with
`format json_lines`, Vector's `console` sink with `encoding.codec = "json"`), each record's text is fed to the
follower of its source: `namespace/pod/container` from the Kubernetes metadata both add (Fluent Bit's `kubernetes`
filter: `namespace_name`, `pod_name`, `container_name`; Vector's `kubernetes_logs`: `pod_namespace`, `pod_name`,
`container_name`), else the same fields at the top level, else the file the record came from (a kubelet file name
gives the same key), else `<stdin>`. stdout and stderr of a container are one source, as in its CRI file: vLLM's
log lines and a Python traceback go to different streams but belong to one run. A line that is not such a record
is a plain log line of `<stdin>` (journald's JSON is read by the reader itself).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from logclassify.follow.watch import Item, source_key
from logclassify.read.live import TICK, stream_batches

STDIN = "<stdin>"
_TEXT = ("log", "message")  # Fluent Bit's field, Vector's
_FILE = ("file", "filename", "path")  # Vector's file / kubernetes_logs field, Fluent Bit's usual Path_Key


def _text(record: dict[str, Any]) -> str | None:
    for name in _TEXT:
        value = record.get(name)
        if isinstance(value, str):
            return value
    return None


def _first(record: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = record.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def record_source(record: dict[str, Any]) -> str:
    """The source a collector record belongs to (see the module's docstring for the order)."""
    meta = record.get("kubernetes")
    for where in (meta if isinstance(meta, dict) else {}, record):
        pod = _first(where, "pod_name", "pod")
        if pod is not None:
            ns = _first(where, "namespace_name", "pod_namespace", "namespace") or "-"
            container = _first(where, "container_name", "container") or "-"
            return f"{ns}/{pod}/{container}"
    path = _first(record, *_FILE)
    return source_key(path) if path is not None else STDIN


def split_record(raw: bytes) -> tuple[str, list[bytes]]:
    """A line of stdin as (source, log lines): a collector record's text, line by line, or the line itself."""
    if raw.lstrip()[:1] == b"{":
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        text = _text(record) if isinstance(record, dict) else None
        if isinstance(record, dict) and text is not None:
            lines = text.rstrip("\n").split("\n")
            return record_source(record), [ln.encode("utf-8", "surrogateescape") + b"\n" for ln in lines]
    return STDIN, [raw]


def record_items(stream: IO[bytes], poll_s: float) -> Iterator[tuple[str | None, Item]]:
    """(source, lines) pairs of a collector's stream, the lines of each read grouped by source, and (None, TICK)
    after each `poll_s` without input."""
    for batch in stream_batches(stream, poll_s):
        if batch is TICK:
            yield None, TICK
            continue
        by_source: dict[str, list[bytes]] = {}
        for raw in batch:
            source, lines = split_record(raw)
            by_source.setdefault(source, []).extend(lines)
        yield from by_source.items()
