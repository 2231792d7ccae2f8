"""tqdm progress bars (hub downloads, checkpoint shards, CUDA graph capture): how far they got and how fast.

A log that ends inside a phase often shows only its bars, so their elapsed times stand in for timestamps, and their
rates and counts show a crawl or a bar that does not move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from logclassify.lazyre import lazy
from logclassify.parse.phases.candidates import between
from logclassify.parse.phases.clock import hms
from logclassify.parse.phases.markers import TQDM
from logclassify.read.logline import LogLine

_UNIT = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
# compiled once: `regex.match(pattern, ...)` looks its cache up on every call, which costs more than the match
_BYTES_PER_S = lazy(r"\s*(?P<v>\d+(?:\.\d+)?)\s*(?P<u>[kKMGT]?)i?B/s")
_S_PER_IT = lazy(r"\s*(?P<v>\d+(?:\.\d+)?)\s*s/it")
_IT_PER_S = lazy(r"\s*(?P<v>\d+(?:\.\d+)?)\s*it/s")


def _bytes(num: str, unit: str) -> float:
    u = unit.rstrip("B").rstrip("i")
    return float(num) * _UNIT.get(u, 1.0)


def rate_bytes_per_s(rate: str) -> float | None:
    """Bytes per second in a bar's rate (`1.2MB/s`), or None."""
    m = _BYTES_PER_S.match(rate)
    return float(m["v"]) * _UNIT[m["u"]] if m else None


def sec_per_item(rate: str) -> float | None:
    """Seconds per item in a bar's rate (`5.13s/it` or `6.30it/s`), or None."""
    m = _S_PER_IT.match(rate)
    if m:
        return float(m["v"])
    m = _IT_PER_S.match(rate)
    if m and float(m["v"]) > 0:
        return 1.0 / float(m["v"])
    return None


@dataclass(slots=True)
class Bar:
    """One printed state of a progress bar."""

    desc: str
    n: float
    total: float
    el: float | None
    rate: str
    is_bytes: bool
    line: LogLine


def bars(lines: Sequence[LogLine], rows: Sequence[int], start: int) -> list[Bar]:
    """The bars printed from line index `start` on; `rows` are the lines that may hold one (`Candidates.bars`)."""
    out: list[Bar] = []
    for i in between(rows, start):
        ln = lines[i]
        if "%|" not in ln.message and "% Completed |" not in ln.message:
            continue
        for m in TQDM.finditer(ln.message):
            desc = m["desc"].strip().lstrip("\r")
            out.append(
                Bar(
                    desc=desc,
                    n=_bytes(m["n"], m["nu"]),
                    total=_bytes(m["total"], m["tu"]),
                    el=hms(m["el"]),
                    rate=(m["rate"] or "").strip(),
                    is_bytes=bool(m["nu"] or m["tu"]) and ("B" in (m["nu"] + m["tu"]) or "B/s" in (m["rate"] or "")),
                    line=ln,
                )
            )
    return out


def longest_elapsed(lines: Sequence[LogLine], rows: Sequence[int], start: int) -> float | None:
    """The longest elapsed time a bar printed from line index `start` on (see `bars` for `rows`)."""
    best: float | None = None
    for i in between(rows, start):
        ln = lines[i]
        if "%|" not in ln.message and "% Completed |" not in ln.message:
            continue
        for m in TQDM.finditer(ln.message):
            el = hms(m["el"])
            if el is not None and (best is None or el > best):
                best = el
    return best
