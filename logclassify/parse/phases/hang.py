"""Evidence that startup hangs rather than merely runs long: facts named `hang.*` for rules' `confirm:` conditions.

A log that stops inside a startup phase may be a hang or just a cut-off copy; these facts are the positive signs
(a crawling or frozen progress bar, waiting messages repeating, retried downloads, someone interrupting it after
a silence) that let a rule say "hang" with confidence.
"""

from __future__ import annotations

from collections.abc import Sequence

import regex

from logclassify.models import Phase
from logclassify.parse.facts import Fact
from logclassify.parse.phases.candidates import Candidates, between
from logclassify.parse.phases.clock import diff, elapsed, fmt_duration, line_time, parse_time
from logclassify.parse.phases.errors import first_error, is_interrupt
from logclassify.parse.phases.markers import INTERRUPT, MAYBE_BAD, RETRY, WAITING
from logclassify.parse.phases.progress import Bar, bars, rate_bytes_per_s, sec_per_item
from logclassify.parse.phases.timeline import ending_of, index_of
from logclassify.read.lineindex import LineIndex
from logclassify.read.logline import LogLine


def _fact(name: str, value: str, ln: LogLine) -> Fact:
    return Fact(name=name, value=value, line=ln.number, text=ln.text)


def _short(desc: str) -> str:
    return desc if len(desc) <= 60 else desc[:57] + "..."


def _crawl(bars: list[Bar]) -> Fact | None:
    """The slowest bar that crawls: a download below 1 MB/s, or items slower than a healthy start allows."""
    worst: tuple[float, Bar, str] | None = None
    for b in bars:
        if b.is_bytes:
            bps = rate_bytes_per_s(b.rate)
            if bps is not None and bps < 1e6 and b.total >= 1e8 and b.n < b.total:
                score = 1e6 / max(bps, 1.0)
                text = f"{_short(b.desc)} downloading at {b.rate}"
                if worst is None or score > worst[0]:
                    worst = (score, b, text)
            continue
        spi = sec_per_item(b.rate) if b.rate else None
        if (spi is None or spi < 1) and b.el is not None and b.n >= 1:
            spi = max(spi or 0.0, b.el / b.n)
        limit = 10.0 if "Capturing" in b.desc else 600.0 if "Fetching" in b.desc else 30.0
        if spi is not None and spi >= limit:
            text = f"{_short(b.desc)} at {spi:.1f} s per item ({b.n:g}/{b.total:g})"
            if worst is None or spi > worst[0]:
                worst = (spi, b, text)
    if worst is None:
        return None
    return _fact("hang.crawl", worst[2], worst[1].line)


def _stuck(bars: list[Bar]) -> Fact | None:
    """A bar that stays at 0 for minutes, or prints the same count again and again over a minute or more."""
    seen: dict[tuple[str, float], list[Bar]] = {}
    best: tuple[float, Bar, str] | None = None
    for b in bars:
        if b.n >= b.total:
            continue
        if b.n == 0 and b.el is not None and b.el >= 300:
            text = f"{_short(b.desc)} still at 0/{b.total:g} after {fmt_duration(b.el)}"
            if best is None or b.el > best[0]:
                best = (b.el, b, text)
        key = (b.desc, b.n)
        seen.setdefault(key, []).append(b)
    for (desc, n), group in seen.items():
        if len(group) < 3:
            continue
        els = [g.el for g in group if g.el is not None]
        span = (max(els) - min(els)) if els else 0.0
        if els and span < 60:
            continue
        pct = 100.0 * n / group[0].total if group[0].total else 0.0
        text = f"{_short(desc)} stuck at {pct:.0f}% ({len(group)} updates"
        text += f", {fmt_duration(span)})" if els else ")"
        score = span if els else float(len(group))
        if best is None or score > best[0]:
            best = (score, group[-1], text)
    if best is None:
        return None
    return _fact("hang.stuck_progress", best[2], best[1].line)


# Polling messages that a healthy start prints every ~10 s (V1's API server waiting for its engine core, V0's
# DEBUG client loop): repeated, they show only that the engine is still starting, unless the wait is long.
_ROUTINE_POLLS = frozenset({"Waiting for core engine proc(s) to start", "Waiting for output from MQLLMEngine"})
_ROUTINE_POLL_MIN_S = 600.0


def _waiting(lines: Sequence[LogLine], rows: Sequence[int], start: int) -> Fact | None:
    """The waiting message repeated longest (`rows`: `Candidates.waiting`)."""
    found: dict[str, list[tuple[LogLine, regex.Match[str]]]] = {}
    for i in between(rows, start):
        ln = lines[i]
        msg = ln.message
        for lit, pat, name in WAITING:
            if lit in msg:
                m = pat.search(msg)
                if m:
                    found.setdefault(name, []).append((ln, m))
    best: tuple[float, LogLine, str] | None = None
    for name, hits in found.items():
        times = [parse_time(t) for t in (line_time(h[0]) for h in hits) if t]
        vals = [t for t in times if t is not None]
        span = elapsed(vals[0], vals[-1]) if len(vals) >= 2 else None
        el_max = 0.0
        for _, m in hits:
            el = m.groupdict().get("el")
            if el:
                el_max = max(el_max, float(el))
        if name in _ROUTINE_POLLS:  # printed every few seconds by any healthy start: only a long wait counts
            repeated = (span is not None and span >= _ROUTINE_POLL_MIN_S) or (span is None and len(hits) >= 60)
        else:
            repeated = len(hits) >= 2 and (span is None or span >= 60 or len(hits) >= 3)
        if not repeated and el_max < 60:
            continue
        text = f"'{name}' repeated {len(hits)} times"
        if span is not None and span > 0:
            text += f" over {fmt_duration(span)}"
        elif el_max:
            text += f" (waited {fmt_duration(el_max)})"
        score = (span or 0.0) + len(hits)
        if best is None or score > best[0]:
            best = (score, hits[-1][0], text)
    if best is None:
        return None
    return _fact("hang.waiting", best[2], best[1])


def _retrying(lines: Sequence[LogLine], rows: Sequence[int], start: int) -> Fact | None:
    """Hub downloads retried (`rows`: `Candidates.retries`)."""
    hits = [ln for ln in (lines[i] for i in between(rows, start)) if "download" in ln.message and RETRY.search(ln.message)]
    if not hits:
        return None
    return _fact("hang.retrying", f"download retried {len(hits)} time(s) (connection dropped or timed out)", hits[-1])


def _interrupted(lines: Sequence[LogLine], timeline: list[Phase], cand: Candidates) -> Fact | None:
    """An interruption during the last startup phase, with no error before it and after a silence of a minute or more."""
    startup = [ph for ph in timeline if ph.name != "serving"]
    if not startup or (timeline and timeline[-1].name == "serving"):
        return None
    first = index_of(lines, startup[-1].start_line)
    maybe_bad = cand.maybe_bad
    for i in between(maybe_bad, first):
        ln = lines[i]
        if not MAYBE_BAD.search(ln.text) or not is_interrupt(ln):
            continue
        if first_error(lines, maybe_bad, first, i) is not None:
            return None  # it failed before it was interrupted
        before = None
        for j in range(i - 1, first - 1, -1):
            if line_time(lines[j]) and not is_interrupt(lines[j]):
                before = line_time(lines[j])
                break
        after = None
        for j in range(i, len(lines)):
            if line_time(lines[j]):
                after = line_time(lines[j])
                break
        gap = diff(before, after)
        if gap is not None and gap < 60:
            return None  # stopped right away: no sign that it was stuck
        what = INTERRUPT.search(ln.message)
        kind = what.group(0).strip() if what else "interrupted"
        text = f"{kind} while {startup[-1].label}"
        if gap is not None:
            text += f", after {fmt_duration(gap)} without output"
        return _fact("hang.interrupted", text, ln)
    return None


def hang_evidence(lines: Sequence[LogLine], timeline: list[Phase], index: LineIndex | None = None) -> list[Fact]:
    """Positive evidence that startup hangs: facts named `hang.*` for rules' `confirm:` conditions.

    `hang.crawl` (a download below 1 MB/s, shards at 30+ s each, graph capture at 10+ s each), `hang.stuck_progress`
    (a progress bar that does not move), `hang.waiting` (vLLM / hub / Ray periodic waiting messages repeating),
    `hang.retrying` (hub download retried), `hang.interrupted` (Ctrl-C, SIGTERM or Killed during a startup phase
    after a silence). When the log ends in a startup phase only the lines from its start count. `index` is the
    lines' `LineIndex` when the caller has one.
    """
    if not lines:
        return []
    cand = Candidates(lines, index)
    start = 0
    ending = ending_of(lines, timeline, cand)
    if ending is not None:
        start = index_of(lines, ending.start_line)
    facts: list[Fact] = []
    printed = bars(lines, cand.bars, start)
    for f in (_crawl(printed), _stuck(printed), _waiting(lines, cand.waiting, start), _retrying(lines, cand.retries, start)):
        if f is not None:
            facts.append(f)
    f = _interrupted(lines, timeline, cand)
    if f is not None:
        facts.append(f)
    return facts
