"""The service's limits and switches, parsed once from the command line (or given by a test)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import regex

MIB = 1 << 20
TOKEN_ENV = "LOGCLASSIFY_TOKEN"

_SIZE = regex.compile(r"(?i)^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$")
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


@dataclass(frozen=True)
class Settings:
    """Limits a public endpoint needs (bodies, time, concurrency) and who may call it."""

    max_body: int = 64 * MIB
    """bytes of request body (as sent: compressed bytes for gzip); more is a 413 that names the limit"""
    max_inflated: int = 1024 * MIB
    """bytes a gzip body may inflate to (a small body can inflate to gigabytes); more is a 413"""
    timeout_s: float = 60.0
    """seconds from a request's arrival to its answer (queue wait included); then 504"""
    max_concurrent: int = 2
    """classifications running at once; the rest wait in the queue"""
    max_queue: int = 64
    """requests waiting for a slot; one more is answered 503 with Retry-After, never dropped silently"""
    token: str | None = None
    """when set, /v1/* and /metrics need `Authorization: Bearer <token>`"""

    def __post_init__(self) -> None:
        for name in ("max_body", "max_inflated", "max_concurrent"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_queue < 0:
            raise ValueError(f"max_queue must be 0 or more, got {self.max_queue}")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be above 0, got {self.timeout_s}")


def default_concurrency() -> int:
    """Two classifications per CPU at most 4: the scan is mostly Python (one core each), and a second slot keeps
    a short request from waiting behind a long one."""
    return max(2, min(4, os.cpu_count() or 1))


def parse_size(text: str) -> int:
    """`64M`, `64MB`, `1.5G`, `500k`, `1048576` (binary units: 1M = 1 MiB) -> bytes; ValueError names the text."""
    m = _SIZE.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not a size: give bytes or a number with k, M or G (64M, 1G)")
    unit = (m.group(2) or "").lower().rstrip("b").rstrip("i")
    return int(float(m.group(1)) * _UNITS[unit])


def human_size(n: int) -> str:
    """64 MiB, 1 GiB, 512 KiB, 100 bytes: how a limit is named in a 413."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:g} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"
