"""One output row per log: what a fleet table needs from a `Report`, in flat typed columns (Parquet-friendly).

The columns: `source`; `ids`, every diagnosis id in rank order; `cause_id`, `cause_severity`, `cause_confidence` of
the report's headline (the first diagnosis above info severity, else the first note); `unrecognized`, the
fingerprints of failures no rule knows; the key facts (`vllm_version`, `engine`, `gpu_names`,
`tensor_parallel_size`, `pipeline_parallel_size`); `lines`; `error` (why the log could not be read, or was read in
part); and `seen`, when the cause was seen, with `seen_from` saying where that time came from.

`seen` is the full date that starts the headline's first evidence line, when it has one (docker/kubectl
`--timestamps`, Kubernetes CRI, journald `short-iso`, Python logging's asctime); a time without a zone is read as
UTC. Otherwise (vLLM's own `INFO 06-10 21:32:17` has no year, a traceback line no time at all) it is the file's
modification time, which for an archived job log is when the job last wrote to it: about when it died.
`seen_from` says which: `log`, `mtime`, or null when neither is known (a text without a file).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from logclassify.models import Diagnosis, Report

FACTS = ("vllm_version", "engine", "gpu_names", "tensor_parallel_size", "pipeline_parallel_size")

# column name -> kind: str, float, int, list (of str), time (UTC datetime); output.py maps kinds to Arrow types
COLUMNS: dict[str, str] = {
    "source": "str",
    "ids": "list",
    "cause_id": "str",
    "cause_severity": "str",
    "cause_confidence": "float",
    "unrecognized": "list",
    "vllm_version": "str",
    "engine": "str",
    "gpu_names": "list",
    "tensor_parallel_size": "int",
    "pipeline_parallel_size": "int",
    "lines": "int",
    "error": "str",
    "seen": "time",
    "seen_from": "str",
}

_FULL_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(Z|[+-]\d{2}:?\d{2})?"
)
_LINE_START = re.compile(r"\s*\[?(" + _FULL_TIME.pattern + ")")


def row_of(report: Report, mtime: datetime | None = None) -> dict[str, Any]:
    """The row of one report; `mtime`: the file's modification time (UTC), when there is a file."""
    cause = report.headline
    seen, seen_from = cause_time(cause), "log"
    if seen is None:
        seen, seen_from = mtime, "mtime"
    facts = report.facts
    return {
        "source": report.source,
        "ids": [d.id for d in report.diagnoses],
        "cause_id": cause.id if cause else None,
        "cause_severity": cause.severity.value if cause else None,
        "cause_confidence": cause.confidence if cause else None,
        "unrecognized": [u.fingerprint for u in report.unrecognized],
        "vllm_version": _text(facts.get("vllm_version")),
        "engine": _text(facts.get("engine")),
        "gpu_names": [str(g) for g in facts.get("gpu_names") or []],
        "tensor_parallel_size": _int(facts.get("tensor_parallel_size")),
        "pipeline_parallel_size": _int(facts.get("pipeline_parallel_size")),
        "lines": report.lines,
        "error": report.error,
        "seen": seen,
        "seen_from": seen_from if seen is not None else None,
    }


def cause_time(cause: Diagnosis | None) -> datetime | None:
    """The full date and time that starts the cause's first evidence line (a container, journald `short-iso` or
    Python logging prefix), in UTC; None when it has none, or one without a year (vLLM's own prefix)."""
    if cause is None or not cause.evidence:
        return None
    first = min(cause.evidence, key=lambda e: e.line)
    m = _LINE_START.match(first.text)
    return parse_time(m.group(1)) if m else None


def parse_time(text: str) -> datetime | None:
    """`2024-01-05T10:00:00.123456789Z`, `2024-01-05 10:00:00,123`, `2024-01-05T10:00:00+02:00` as UTC; a time
    without a zone is taken as UTC; None for a time without a year or one that is not a real date."""
    m = _FULL_TIME.search(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    zone = timezone.utc
    if m.group(8) and m.group(8) != "Z":
        sign = -1 if m.group(8)[0] == "-" else 1
        digits = m.group(8)[1:].replace(":", "")
        zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=zone).astimezone(timezone.utc)
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its time as an ISO string (`2024-01-05T10:00:00Z`), for JSON lines."""
    seen = row.get("seen")
    if isinstance(seen, datetime):
        return {**row, "seen": seen.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")}
    return row
