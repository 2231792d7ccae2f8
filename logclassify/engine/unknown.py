"""Failures no rule explains: pick the salient error and give it a fingerprint that is stable across runs.

The fingerprint masks what varies between two occurrences of the same failure (numbers, hex ids, paths, pids,
IP addresses, timestamps, tensor shapes, quoted names) and hashes the exception type with the masked message and
the innermost frames' function names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import regex

from logclassify.engine.match import Context
from logclassify.models import Diagnosis, Evidence, Severity, Unrecognized
from logclassify.parse.traceback import ExceptionInfo

_MASKS: list[tuple[regex.Pattern[str], str]] = [
    (regex.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<ts>"),
    (regex.compile(r"\b\d\d:\d\d:\d\d(?:\.\d+)?\b"), "<time>"),
    (regex.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (regex.compile(r"\[[0-9a-fA-F:]{4,}\]|\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b"), "<ip6>"),
    (regex.compile(r"(?:[A-Za-z]:)?(?:[/\\][\w.@+~-]+){2,}[/\\]?"), "<path>"),
    (regex.compile(r"\b0x[0-9a-fA-F]+\b|\b[0-9a-fA-F]{8,}\b"), "<hex>"),
    (regex.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (regex.compile(r"(?:torch\.Size\()?\[\s*\d+(?:\s*,\s*\d+)*\s*\]\)?|\(\s*\d+(?:\s*,\s*\d+)+\s*\)"), "<shape>"),
    (regex.compile(r"\bpid[= ]\d+|\brank\s*=?\s*\d+", regex.IGNORECASE), "<proc>"),
    (regex.compile(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\""), "<q>"),
    (regex.compile(r"-?\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b"), "<n>"),
    (regex.compile(r"\s+"), " "),
]
_ERROR_LINE = regex.compile(r"\b(?:ERROR|CRITICAL|FATAL)\b|^Killed\b|exit(?:ed)? with (?:code|status) [1-9]")


def mask(text: str) -> str:
    """The text with the parts that vary between occurrences of one failure replaced by placeholders."""
    out = text.strip()
    for pattern, repl in _MASKS:
        out = pattern.sub(repl, out)
    return out.strip()


def fingerprint(exc_type: str, message: str, functions: Sequence[str] = ()) -> str:
    first_line = message.strip().split("\n", 1)[0][:300]
    basis = "|".join([exc_type.rsplit(".", 1)[-1], mask(first_line), *functions[-3:]])
    slug = regex.sub(r"[^a-z0-9]+", "-", exc_type.rsplit(".", 1)[-1].lower()).strip("-") or "error"
    return f"{slug}:{hashlib.sha1(basis.encode()).hexdigest()[:10]}"


def _salient(ctx: Context) -> ExceptionInfo | None:
    """The error a person would quote: the final exception of the first chain that is not a wrapper."""
    if not ctx.tracebacks:
        return None
    for tb in ctx.tracebacks:
        final = tb.final
        if final.frames or len(tb.exceptions) > 1 or final.short_type.endswith(("Error", "Exception")):
            return tb.root if final.short_type in ("RayTaskError", "EngineDeadError") else final
    return ctx.tracebacks[0].final


def find_unrecognized(ctx: Context, diagnoses: Sequence[Diagnosis]) -> list[Unrecognized]:
    """One entry when the log shows a failure that no alarm-level diagnosis explains."""
    if any(d.severity is not Severity.info for d in diagnoses):
        return []
    exc = _salient(ctx)
    if exc is not None:
        functions = [f.function for f in exc.frames]
        evidence = [Evidence(line=exc.line, text=exc.text[:400])]
        if exc.frames:
            fr = exc.frames[-1]
            evidence.insert(0, Evidence(line=fr.line, text=f'File "{fr.file}", line {fr.lineno}, in {fr.function}'))
        first = exc.message.strip().split("\n", 1)[0]
        return [
            Unrecognized(
                error=f"{exc.type}: {first}" if first else exc.type,
                line=exc.line,
                evidence=evidence,
                fingerprint=fingerprint(exc.type, exc.message, functions),
            )
        ]
    for line in ctx.lines:
        if line.level in ("ERROR", "CRITICAL") or (line.level is None and _ERROR_LINE.search(line.message)):
            msg = line.message.strip()
            if not msg:
                continue
            return [
                Unrecognized(
                    error=msg[:300],
                    line=line.number,
                    evidence=[Evidence(line=line.number, text=line.text.strip()[:400])],
                    fingerprint=fingerprint("error", msg),
                )
            ]
    return []
