"""Timestamps: reading the ones a log prints, the time between two of them, and the time at a line.

Logs mix vLLM's `MM-DD HH:MM:SS`, ISO docker/journald prefixes, syslog dates and bare times; durations are only
ever differences within one log, so the year and the time zone are dropped (see `parse_time`).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence

from logclassify.lazyre import lazy
from logclassify.read.logline import LogLine

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAY_S = 86400.0
# Day of year in a leap year, so that year-less dates from any year subtract correctly (Feb 29 exists).
_CUM_DAYS = [0, 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335]

_T_ISO = lazy(
    r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})[T ](?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:[.,](?P<f>\d+))?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
_T_MD = lazy(
    r"(?<![\d-])(?P<mo>\d{1,2})[-/](?P<d>\d{1,2})[ T](?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:[.,](?P<f>\d+))?"
)
_T_MON = lazy(
    r"(?P<mon>[A-Za-z]{3})\s+(?P<d>\d{1,2})\s+(?:(?P<y>\d{4})\s+)?(?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"(?:[.,](?P<f>\d+))?"
)
_T_DMY = lazy(r"(?P<d>\d{1,2})/(?P<mon>[A-Za-z]{3})/(?P<y>\d{4})[: ](?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})")
_T_HMS = lazy(r"(?<![\d:])(?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:[.,](?P<f>\d+))?(?![\d:])")


def _frac(f: str | None) -> float:
    return float("0." + f) if f else 0.0


def _clock(h: str, mi: str, s: str, f: str | None) -> float:
    return int(h) * 3600 + int(mi) * 60 + int(s) + _frac(f)


def _day_of_year(month: int, day: int) -> int | None:
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    return _CUM_DAYS[month] + day


def parse_time(ts: str) -> float | None:
    """Seconds for a timestamp as printed, comparable with other timestamps of the same log.

    Accepts ISO (`2024-10-07T22:54:54,595`, `2024-06-11 06:33:24.763706`, with `Z`/offset), vLLM's `MM-DD HH:MM:SS`,
    journald/syslog `Aug 19 18:30:11`, `[04/Oct/2024 20:05:20]` and a bare `HH:MM:SS`. The year and time zone are
    ignored (seconds are counted from the start of a leap year), so a vLLM prefix and an ISO docker prefix of the
    same instant agree; only differences are meaningful. A bare time of day gives seconds since midnight; callers
    handle midnight and new-year rollover (see `elapsed`).
    """
    s = ts.strip()
    if not s:
        return None
    m = _T_ISO.search(s)
    if m:
        doy = _day_of_year(int(m["mo"]), int(m["d"]))
        if doy is not None:
            return doy * _DAY_S + _clock(m["h"], m["mi"], m["s"], m["f"])
    m = _T_MON.search(s)
    if m and m["mon"].lower() in _MONTHS:
        doy = _day_of_year(_MONTHS[m["mon"].lower()], int(m["d"]))
        if doy is not None:
            return doy * _DAY_S + _clock(m["h"], m["mi"], m["s"], m["f"])
    m = _T_DMY.search(s)
    if m and m["mon"].lower() in _MONTHS:
        doy = _day_of_year(_MONTHS[m["mon"].lower()], int(m["d"]))
        if doy is not None:
            return doy * _DAY_S + _clock(m["h"], m["mi"], m["s"], None)
    m = _T_MD.search(s)
    if m:
        doy = _day_of_year(int(m["mo"]), int(m["d"]))
        if doy is not None:
            return doy * _DAY_S + _clock(m["h"], m["mi"], m["s"], m["f"])
    m = _T_HMS.search(s)
    if m and int(m["h"]) < 24:
        return _clock(m["h"], m["mi"], m["s"], m["f"])
    return None


def elapsed(t0: float, t1: float) -> float:
    """t1 - t0 for values of `parse_time`, across midnight (time-only stamps) and new year (year-less dates)."""
    d = t1 - t0
    if d < -12 * 3600:
        d += _DAY_S if t0 < _DAY_S else 366 * _DAY_S
    return d


def fmt_duration(secs: float) -> str:
    """A duration for a message: seconds, minutes or hours."""
    secs = max(0.0, secs)
    if secs < 90:
        return f"{secs:.0f} s"
    if secs < 5400:
        return f"{secs / 60:.0f} min"
    return f"{secs / 3600:.1f} h"


_LEADING_TS = lazy(r"^\s*\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?)")


def line_time(ln: LogLine) -> str | None:
    """The line's timestamp, or one that starts its message (trace files, plain `logging` output)."""
    if ln.timestamp:
        return ln.timestamp
    m = _LEADING_TS.match(ln.message)
    return m.group(1) if m else None


# The last `lines` asked about and, for each index, the last timestamp at or before it: the phase readers ask for
# every marker line, and walking back from each took quadratic time on a log without timestamps (12,000 repeated
# phase lines: 100 s).
_BEFORE: tuple[Sequence[LogLine], list[str | None]] | None = None


def time_before(lines: Sequence[LogLine], i: int) -> str | None:
    """The last timestamp printed at or before line index i."""
    global _BEFORE
    if i < 0 or not lines:
        return None
    known = _BEFORE
    if known is None or known[0] is not lines or len(known[1]) != len(lines):
        times: list[str | None] = []
        last: str | None = None
        for ln in lines:
            last = line_time(ln) or last
            times.append(last)
        known = _BEFORE = (lines, times)
    return known[1][min(i, len(lines) - 1)]


def last_time(lines: Sequence[LogLine]) -> str | None:
    """The last timestamp of the log."""
    for ln in reversed(lines):
        t = line_time(ln)
        if t:
            return t
    return None


def diff(t0: str | None, t1: str | None) -> float | None:
    """Seconds from one printed timestamp to another; None when either is missing or unreadable, or t1 is earlier."""
    if not t0 or not t1:
        return None
    a, b = parse_time(t0), parse_time(t1)
    if a is None or b is None:
        return None
    d = elapsed(a, b)
    return d if d >= 0 else None


def hms(s: str) -> float | None:
    """Seconds in a progress bar's `[H:]MM:SS`."""
    parts = s.split(":")
    try:
        vals = [int(p) for p in parts]
    except ValueError:
        return None
    total = 0
    for v in vals:
        total = total * 60 + v
    return float(total)
