"""The startup timeline of a log (`build_timeline`) and the phase the log ends in (`ending_phase`)."""

from __future__ import annotations

from collections.abc import Sequence

from logclassify.lazyre import lazy
from logclassify.models import Phase
from logclassify.parse.phases.candidates import Candidates
from logclassify.parse.phases.clock import diff, last_time, time_before
from logclassify.parse.phases.errors import first_error
from logclassify.parse.phases.markers import LABELS, RANK
from logclassify.parse.phases.progress import longest_elapsed
from logclassify.parse.phases.scan import Config, Span, scan
from logclassify.read.lineindex import LineIndex
from logclassify.read.logline import LogLine


def _next_phase(last: str, cfg: Config, after_ready: bool) -> str:
    """The phase that follows `last` when the log stops after it finished (V0 has no compile, eager no graphs)."""
    if after_ready:
        return "api_server"
    if last == "download":
        return "load_weights"
    if last == "load_weights":
        return "compile" if cfg.v1 and not cfg.eager and not cfg.no_compile else "profile"
    if last == "compile":
        return "profile"
    if last == "profile":
        return "api_server" if cfg.eager else "cuda_graphs"
    if last == "cuda_graphs":
        return "api_server"
    return "serving"


def _to_phase(p: Span, lines: Sequence[LogLine], cand: Candidates, status: str, end_of_log: bool) -> Phase:
    end_line = lines[p.end].number if p.end is not None else None
    duration: float | None
    if p.printed_secs is not None and p.ended and not (p.after_download and p.start_time and p.end_time):
        duration = p.printed_secs
    elif p.end is not None:
        duration = diff(p.start_time, p.end_time)
    elif end_of_log:
        duration = diff(p.start_time, last_time(lines))
        tq = longest_elapsed(lines, cand.bars, p.start)
        if tq is not None and (duration is None or tq > duration):
            duration = tq
    else:
        duration = None
    return Phase(
        name=p.name,
        label=LABELS[p.name],
        start_line=lines[p.start].number,
        end_line=end_line,
        start_time=p.start_time,
        end_time=p.end_time,
        duration_s=round(duration, 3) if duration is not None else None,
        status=status,
    )


def build_timeline(lines: Sequence[LogLine], index: LineIndex | None = None) -> list[Phase]:
    """The startup phases found in `lines`, in order.

    A phase is `done` when a later phase began or its end line was printed, `running` when the log ends inside it
    and `failed` when an error follows its start. When the log stops after a phase finished (say after "Model
    loading took"), the phase that comes next is added as running (or failed): V0 prints nothing until its
    profiling results, V1 nothing while Dynamo traces the model. Only the given lines are used; `index` is their
    `LineIndex` when the caller has one (it decides which lines are read, not the result).
    """
    if not lines:
        return []
    cand = Candidates(lines, index)
    st = scan(lines, cand)
    if not st.phases:
        return []
    out: list[tuple[int, Phase]] = []
    open_phases = [p for p in st.phases if not p.ended]
    for p in st.phases:
        if p.ended:
            out.append((p.start, _to_phase(p, lines, cand, "done", False)))
    for p in open_phases:
        status = "running"
        if p.name != "serving" and first_error(lines, cand.maybe_bad, p.start) is not None:
            status = "failed"
        out.append((p.start, _to_phase(p, lines, cand, status, True)))
    cur = st.current
    last_name = cur.name if cur is not None else st.phases[-1].name
    if (cur is None or cur.ended) and last_name != "serving" and st.parent is None:
        after_ready = st.ready_at is not None and (cur is None or cur.end is None or st.ready_at >= cur.end)
        nxt = _next_phase(last_name, st.config, after_ready)
        if nxt not in st.by_name:
            if after_ready and st.ready_at is not None:
                start = st.ready_at
            elif cur is not None and cur.end is not None:
                start = cur.end
            else:
                start = 0
            implicit = Span(name=nxt, start=start, start_time=time_before(lines, start))
            status = "failed" if first_error(lines, cand.maybe_bad, start + 1) is not None else "running"
            out.append((start, _to_phase(implicit, lines, cand, status, True)))
    out.sort(key=lambda t: (t[0], RANK[t[1].name]))
    return [ph for _, ph in out]


# What is left of a vLLM record cut inside its prefix: the level and part of the date (`INFO 09-08`).
_CUT_PREFIX = lazy(r"^(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)(?: \d\d-\d\d(?: [\d:.]*)?)?$")
_OPENERS = {"(": ")", "[": "]", "{": "}"}


def cut_mid_record(lines: Sequence[LogLine]) -> bool:
    """Whether the last line of the log stops inside a record: a prefix with no message, a line ending on `=`, `,`
    or an open bracket, or more brackets opened than closed (`... with config: model=..., tensor_parallel_size=`).
    Such a log is an excerpt cut where the paste (or the index it came from) stopped, not where the process did:
    where it ends says nothing about a hang."""
    last = next((ln for ln in reversed(lines) if ln.message.strip() or ln.text.strip()), None)
    if last is None:
        return False
    msg = last.message.strip() or last.text.strip()
    if _CUT_PREFIX.match(msg) or msg.endswith(("=", ",", *_OPENERS)):
        return True
    return sum(msg.count(o) for o in _OPENERS) > sum(msg.count(c) for c in _OPENERS.values())


def index_of(lines: Sequence[LogLine], number: int) -> int:
    """Index of the first line numbered `number` or later (len(lines) when none is)."""
    for i, ln in enumerate(lines):
        if ln.number >= number:
            return i
    return len(lines)


def ending_phase(lines: Sequence[LogLine], timeline: list[Phase], index: LineIndex | None = None) -> Phase | None:
    """The startup phase the log ends in, when no error was printed after it began; else None.

    The result is a copy of that phase with status `running` and `duration_s` the time from its start to the last
    timestamp of the log (or the longest progress-bar elapsed time in it when the log has no timestamps). `index`
    is the lines' `LineIndex` when the caller has one.
    """
    if not timeline or not lines:
        return None
    return ending_of(lines, timeline, Candidates(lines, index))


def ending_of(lines: Sequence[LogLine], timeline: list[Phase], cand: Candidates) -> Phase | None:
    """`ending_phase` with the candidate rows of a caller that needs them again."""
    if not timeline or not lines:
        return None
    if any(ph.name == "serving" for ph in timeline) or cut_mid_record(lines):
        return None
    open_phases = [ph for ph in timeline if ph.status in ("running", "failed")]
    if not open_phases:
        return None
    last = max(open_phases, key=lambda ph: (ph.start_line, RANK.get(ph.name, 0)))
    start = index_of(lines, last.start_line)
    implicit_after_end = False
    # an implied phase starts on the previous phase's end line: errors count from the line after it
    for ph in timeline[:-1]:
        if ph.end_line == last.start_line:
            implicit_after_end = True
    if first_error(lines, cand.maybe_bad, start + 1 if implicit_after_end else start) is not None:
        return None
    dur = diff(last.start_time, last_time(lines))
    tq = longest_elapsed(lines, cand.bars, start)
    if tq is not None and (dur is None or tq > dur):
        dur = tq
    return last.model_copy(update={"status": "running", "duration_s": round(dur, 3) if dur is not None else None})
