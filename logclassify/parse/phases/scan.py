"""One walk over a log's marker lines that records the startup phases it goes through (see `timeline`).

The walk is a small state machine: a marker starts, advances or ends a phase; a phase of a later rank closes the
running one; stale lines of earlier phases (other workers, buffered output) are ignored; a restart of the server
after the first start begins a fresh record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from logclassify.parse.phases.candidates import Candidates
from logclassify.parse.phases.clock import time_before
from logclassify.parse.phases.errors import first_error
from logclassify.parse.phases.markers import (
    EAGER,
    MARKER_ORDER,
    MARKERS,
    MODEL,
    NO_COMPILE,
    RANK,
    RESTART,
    V1,
    Marker,
)
from logclassify.read.logline import LogLine


@dataclass(slots=True)
class Span:
    """A phase as the walk records it (line indexes; `timeline` turns it into a `Phase`)."""

    name: str
    start: int  # index into lines
    start_time: str | None
    end: int | None = None
    end_time: str | None = None
    ended: bool = False  # closed by an explicit end marker (or by a later phase)
    printed_secs: float | None = None
    last: int = 0
    only_start: bool = False  # nothing but its start line was seen yet
    after_download: bool = False  # load_weights that began when a download ended: vLLM's total includes both


@dataclass(slots=True)
class Config:
    """What the engine/args lines say about the run: it decides which phase follows a finished one."""

    v1: bool = False
    eager: bool = False
    no_compile: bool = False
    local_model: bool = False


@dataclass(slots=True)
class State:
    """The walk so far."""

    phases: list[Span] = field(default_factory=list)
    by_name: dict[str, Span] = field(default_factory=dict)
    current: Span | None = None
    parent: Span | None = None  # load_weights while a download nested in it runs
    ready_at: int | None = None  # index of "init engine ... took"
    config: Config = field(default_factory=Config)
    max_rank: int = -1


def match_marker(msg: str, markers: Sequence[Marker] = MARKERS) -> tuple[Marker, float | None] | None:
    """The first marker the message matches, and the seconds it printed (when its pattern captures them)."""
    for mk in markers:
        if mk.literal not in msg:
            continue
        if mk.pattern is None:
            return mk, None
        m = mk.pattern.search(msg)
        if m:
            secs = m.groupdict().get("secs")
            return mk, (float(secs) if secs else None)
    return None


def read_config(cfg: Config, ln: LogLine) -> None:
    """Note the V1 engine, eager mode, no torch.compile or a local model path when the line says so."""
    msg = ln.message
    if not cfg.v1 and ((ln.process and "EngineCore" in ln.process) or V1.search(msg)):
        cfg.v1 = True
    if "eager" not in msg and "model" not in msg and "compilation_config" not in msg:
        return
    if EAGER.search(msg):
        cfg.eager = True
    if NO_COMPILE.search(msg):
        cfg.no_compile = True
    m = MODEL.search(msg)
    if m:
        model = m["m"] or m["m2"] or m["m3"] or ""
        if model.startswith(("/", "./", "../", "~")):
            cfg.local_model = True


def _close(p: Span, i: int, lines: Sequence[LogLine]) -> None:
    if not p.ended:
        p.end = i
        p.end_time = time_before(lines, i)
        p.ended = True


_WITH_LITERAL = {lit: tuple(MARKERS[k] for k in ks) for lit, ks in MARKER_ORDER.items()}


def _markers_in(found: list[str]) -> Sequence[Marker]:
    """The markers whose literal is one of `found`, in `MARKERS` order (the first that matches wins)."""
    if len(found) == 1:
        return _WITH_LITERAL.get(found[0], ())
    return [MARKERS[k] for k in sorted(k for lit in found for k in MARKER_ORDER.get(lit, ()))]


def scan(lines: Sequence[LogLine], cand: Candidates) -> State:
    """Walk the lines that hold one of `LITERALS` in their message, in order, and record the phases seen.

    Lines without one (most of those the engine selects are for other rules) can change nothing here.
    """
    st = State()
    for i, in_line in cand.literals.items():
        ln = lines[i]
        msg = ln.message
        found = [lit for lit in in_line if lit in msg]
        if not found:
            continue  # in the line's prefix only
        if (
            st.phases
            and RESTART.search(msg)
            and (st.max_rank >= RANK["compile"] or first_error(lines, cand.maybe_bad, st.phases[0].start, i) is not None)
        ):
            st = State()
        read_config(st.config, ln)
        hit = match_marker(msg, _markers_in(found))
        if hit is None:
            continue
        mk, secs = hit
        name, kind = mk.phase, mk.kind
        if name == "download" and st.config.local_model:
            name = "load_weights"
            kind = "progress" if kind != "end" else "end"
        if kind == "ready":
            if st.current is not None and st.current.name != "serving":
                _close(st.current, i, lines)
                st.current.last = i
            st.parent = None
            st.ready_at = i
            continue
        cur = st.current
        p = st.by_name.get(name)
        if p is not None:
            if p is cur:
                p.last = i
                p.only_start = p.only_start and kind == "start"
                if kind == "end":
                    p.end, p.end_time, p.ended = i, time_before(lines, i), True
                if secs is not None:
                    p.printed_secs = secs
            elif name == "load_weights" and st.parent is p and cur is not None and cur.name == "download":
                _close(cur, i, lines)
                st.current, st.parent = p, None
                p.last = i
                if kind == "end":
                    p.end, p.end_time, p.ended = i, time_before(lines, i), True
                if secs is not None:
                    p.printed_secs = secs
            elif p.printed_secs is None and secs is not None:
                p.printed_secs = secs  # another worker's late line
            if name == "serving" and mk.literal == "Application startup complete":
                api = st.by_name.get("api_server")
                if api is not None and not api.ended:
                    _close(api, i, lines)
            continue
        # a phase not seen before
        if name == "load_weights" and kind == "start" and cur is not None and cur.name == "download" and not cur.ended:
            continue  # another rank's "Starting to load model" while the download runs
        if cur is not None and RANK[name] < RANK[cur.name]:
            nested = name == "download" and cur.name == "load_weights" and not cur.ended
            if not nested:
                continue  # a stale line of an earlier phase (another worker, buffered output)
        take_over: Span | None = None
        if name == "download" and cur is not None and cur.name == "load_weights" and not cur.ended:
            if cur.only_start:
                # "Starting to load model" then the hub download: the download is what runs from that line on
                take_over = cur
                st.phases.remove(cur)
                del st.by_name["load_weights"]
                cur = st.current = None
            else:
                st.parent = cur
        elif cur is not None:
            _close(cur, i, lines)
            st.parent = None
        start = i
        if kind != "start" and cur is not None and cur.end is not None and cur.name != "download":
            start = cur.end  # the phase began when the previous one ended (V0 profiling prints only results)
        elif kind != "start" and st.ready_at is not None and name == "api_server":
            start = st.ready_at
        if take_over is not None:
            start = take_over.start
        p = Span(name=name, start=start, start_time=time_before(lines, start), last=i, only_start=kind == "start")
        p.after_download = name == "load_weights" and "download" in st.by_name
        if kind == "end":
            p.end, p.end_time, p.ended = i, time_before(lines, i), True
        if secs is not None:
            p.printed_secs = secs
        if name == "serving":
            api = st.by_name.get("api_server")
            if api is not None and not api.ended:
                _close(api, i, lines)
        st.phases.append(p)
        st.by_name[name] = p
        st.current = p
        st.max_rank = max(st.max_rank, RANK[name])
    return st
