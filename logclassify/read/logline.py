"""`LogLine`: one input line after its prefixes were peeled off, keeping where it came from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class LogLine:
    """A normalised line.

    `number` is the 1-based line number in the original input (several records split from one line that lost its
    newlines share it). `message` is the text after every recognised prefix, with colours removed; `text` is the
    whole line with colours removed. `level` is INFO/WARNING/ERROR/... when a prefix said so, `timestamp` the most
    precise time a prefix gave (ISO-like string as printed), `process` the worker/rank tags joined with a space
    (so interleaved tracebacks can be told apart), `origin` the `file.py:N` of a vLLM log record.
    """

    number: int
    text: str
    message: str
    level: str | None = None
    timestamp: str | None = None
    process: str | None = None
    origin: str | None = None
