"""Startup phases of a vLLM server and evidence that it hangs in one.

`build_timeline` turns the (possibly sparse) normalised lines of a log into the ordered startup phases
`download`, `load_weights`, `compile`, `profile`, `cuda_graphs`, `api_server` and `serving`, each with its start/end
line, the times printed there and a duration. `ending_phase` says which startup phase the log stops in when no error
follows its start (what `log_ends_in` rules match), and `hang_evidence` returns facts (`hang.crawl`,
`hang.stuck_progress`, `hang.waiting`, `hang.retrying`, `hang.interrupted`) that make a hang more than a guess.

Every line these functions rely on contains one of `LITERALS`, so a literal prefilter keeps all of them.
The wordings cover vLLM 0.2-0.4 (V0, "Loading model weights took"), 0.5-0.7 (V0, "Starting to load model",
"Capturing cudagraphs for decoding", "Memory profiling takes") and the V1 engine (0.8+: torch.compile,
"Available KV cache memory", "Capturing CUDA graph shapes" / "Capturing CUDA graphs (...)",
"init engine (profile, create kv cache, warmup model) took", "Starting vLLM server on").
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import regex

from logclassify.lazyre import LazyPattern, lazy
from logclassify.models import Phase
from logclassify.parse.facts import Fact
from logclassify.read.logline import LogLine

if TYPE_CHECKING:
    from logclassify.engine.scan import LiteralIndex

PHASES: tuple[str, ...] = ("init", "download", "load_weights", "compile", "profile", "cuda_graphs", "api_server", "serving")
"""Phase names in startup order (V0 has no `compile`; V1 compiles inside its profiling run, before KV sizing)."""

LABELS: dict[str, str] = {
    "init": "initialising the engine and its workers",
    "download": "downloading weights",
    "load_weights": "loading weights",
    "compile": "compiling the model (torch.compile)",
    "profile": "profiling memory and sizing the KV cache",
    "cuda_graphs": "capturing CUDA graphs",
    "api_server": "starting the API server",
    "serving": "serving",
}

_RANK = {name: i for i, name in enumerate(PHASES)}

# --------------------------------------------------------------------------------------------------------------------
# Markers: (phase, kind, literal, pattern). kind: start | progress | end | ready (engine initialised: closes the
# running phase; the API server comes next). The pattern is searched in the message and must contain its literal.
# --------------------------------------------------------------------------------------------------------------------

_SECS = r"(?P<secs>\d+(?:\.\d+)?)"


@dataclass(frozen=True, slots=True)
class _Marker:
    phase: str
    kind: str
    literal: str
    pattern: LazyPattern | None  # None: the literal alone is the marker


def _m(phase: str, kind: str, literal: str, pattern: str | None = None) -> _Marker:
    return _Marker(phase, kind, literal, lazy(pattern) if pattern is not None else None)


_MARKERS: tuple[_Marker, ...] = (
    # engine and worker initialisation, before any weights are fetched: platform, distributed groups, attention backend
    _m("init", "start", "LLM engine (v", r"Initializing an? (?:V[01] )?LLM engine \(v"),
    _m("init", "start", "LLM engine with config", r"Initializing an? (?:V[01] )?LLM engine with config"),
    _m("init", "start", "Started a local Ray instance"),
    _m("init", "progress", "is assigned as DP rank"),
    _m("init", "progress", "distributed_init_method="),
    # download (hub snapshot; vLLM hides hub progress bars in most releases, so silence after "Using model weights
    # format" is the download itself)
    _m("download", "end", "Time spent downloading weights", r"Time spent downloading weights for \S+: " + _SECS),
    _m("download", "start", "Using model weights format"),
    _m("download", "start", "Falling back to regular HTTP download"),
    _m("download", "progress", ".safetensors:", r"\.safetensors\S*:\s*\d{1,3}%"),
    _m("download", "progress", ".bin:", r"\.bin:\s*\d{1,3}%"),
    _m("download", "progress", " files:", r"Fetching \d+ files:"),
    _m("download", "progress", "Downloading shards"),
    _m("download", "progress", "to acquire lock on", r"(?i)still waiting to acquire lock on"),
    _m("download", "progress", "Trying to resume download"),
    # load weights
    _m("load_weights", "start", "Starting to load model"),
    _m("load_weights", "progress", "checkpoint shards:", r"Loading (?:\w+ )?checkpoint shards:"),
    _m("load_weights", "progress", "Loading safetensors using"),
    _m("load_weights", "progress", "loading shards:", r"(?i)loading shards:"),
    _m("load_weights", "progress", "Loading model from scratch"),
    _m("load_weights", "progress", "Loading weights with BitsAndBytes"),
    _m("load_weights", "progress", "Filesystem type for checkpoints"),
    _m("load_weights", "progress", "Prefetching checkpoint files"),
    _m("load_weights", "progress", "Loading weights took", r"Loading weights took " + _SECS + r"\s*s"),
    _m(
        "load_weights",
        "end",
        "Model loading took",
        r"Model loading took [\d.]+ ?GiB(?: memory)?(?: and " + _SECS + r" ?s)?",
    ),
    _m(
        "load_weights",
        "end",
        "Loading model weights took",
        r"Loading model weights took [\d.]+ ?GB(?: and " + _SECS + r" ?s)?",
    ),
    # VLLM_TRACE_FUNCTION=1 trace lines from inside the weight iterators
    _m("load_weights", "progress", "_weights_iterator in", r"(?:from|to) \w+_weights_iterator in "),
    # torch.compile (V1; inside the profiling run)
    _m("compile", "end", "torch.compile takes", r"torch\.compile takes " + _SECS + r" ?s in total"),
    _m("compile", "end", "torch.compile took", r"torch\.compile took " + _SECS + r" ?s in total"),
    _m("compile", "start", "vLLM's torch.compile"),
    _m("compile", "start", "Dynamo bytecode transform time"),
    _m("compile", "start", "Start compiling function"),
    _m("compile", "progress", "Compiling a graph for"),
    _m("compile", "progress", "Cache the graph of"),
    _m("compile", "progress", "Directly load the compiled graph"),
    _m("compile", "progress", "AOT compiled function"),
    # memory profiling / KV cache sizing
    _m("profile", "progress", "Memory profiling takes", r"Memory profiling takes " + _SECS + r" ?s"),
    _m("profile", "progress", "Memory profiling results", r"Memory profiling results: (?:duration=" + _SECS + ")?"),
    _m("profile", "progress", "Initial profiling/warmup run took", r"Initial profiling/warmup run took " + _SECS),
    _m("profile", "progress", "Profiling CUDA graph memory"),
    _m("profile", "progress", "Estimated CUDA graph memory"),
    _m("profile", "progress", "Available KV cache memory"),
    _m("profile", "progress", "the current vLLM instance can use"),
    _m("profile", "end", "# GPU blocks:"),
    _m("profile", "end", "# cuda blocks:"),
    _m("profile", "end", "GPU KV cache size:"),
    _m("profile", "end", "Maximum concurrency for"),
    # CUDA graph capture
    _m("cuda_graphs", "end", "Graph capturing finished", r"Graph capturing finished in " + _SECS + r" ?secs?"),
    _m("cuda_graphs", "start", "Capturing the model for CUDA graphs"),
    _m("cuda_graphs", "start", "Capturing cudagraphs"),
    _m("cuda_graphs", "start", "Capturing CUDA graph"),
    _m("cuda_graphs", "progress", "Capturing a cudagraph"),
    _m("cuda_graphs", "progress", "CUDA graphs can take additional"),
    _m("cuda_graphs", "progress", "during cudagraph capture"),
    # engine ready (V1 and late V0)
    _m(
        "ready",
        "ready",
        "init engine (profile",
        r"init engine \(profile, create kv cache, warmup model\) took " + _SECS,
    ),
    # API server
    _m("serving", "start", "Application startup complete"),
    _m("api_server", "start", "Starting vLLM API server"),
    _m("api_server", "start", "Starting vLLM server on"),
    _m("api_server", "start", "Available routes are"),
    _m("api_server", "progress", "Route: /"),
    _m("api_server", "start", "Started server process"),
    _m("api_server", "progress", "Waiting for application startup"),
    # serving
    _m("serving", "start", "Uvicorn running on"),
    _m("serving", "progress", "Processed prompts"),
    # Not "Avg prompt throughput" or access-log lines: a busy server prints millions of them, and every literal
    # here makes the prefilter keep those lines.
)

# A new startup in the same log (restarted container, second run appended): start a fresh timeline.
_RESTART_LITERALS = ("LLM engine (v", "LLM engine with config", "vLLM API server version", "non-default args:")
_RESTART = lazy(r"Initializing an? (?:V[01] )?LLM engine (?:\(v|with config)|vLLM API server version|non-default args:")

# Configuration read from the engine/args lines.
_CONFIG_LITERALS = ("Cudagraph is disabled", "--enforce-eager", "enforce_eager")
_EAGER = lazy(
    r"(?<!')enforce_eager=True|'enforce_eager': True|Cudagraph is disabled under eager mode"
    r"|(?:vllm serve|api_server|LLM\().*(?:\s--enforce-eager(?=\s|$)|enforce_eager\s*=\s*True)"
)
_NO_COMPILE = lazy(r"""compilation_config=\{["']level["']:\s*0\b|CompilationMode\.NONE|'compilation_config': 0\b""")
_V1 = lazy(r"V1 LLM engine|EngineCore")
_MODEL = lazy(
    r"Starting to load model (?P<m>\S+?)(?:\.\.\.)?\s*$|(?<![\w_])model='(?P<m2>[^']*)'|'model': '(?P<m3>[^']*)'"
)

# Errors and interruptions.
_ERROR_LITERALS = ("Traceback (most recent call last)", "Error:", "Exception:", "AssertionError", "ERROR", "CRITICAL")
_TRACEBACK = lazy(r"^\s*Traceback \(most recent call last\)")
_EXC_LINE = lazy(
    r"^\s*(?:[A-Za-z_][\w]*\.)*(?:[A-Z]\w*(?:Error|Exception)|AssertionError)\b(?::|\s*$)"
    r"|^\s*(?:Error|ERROR|FATAL|Fatal error)\s*:"
)
_ERROR_LEVELS = frozenset({"ERROR", "CRITICAL", "FATAL"})
# Cheap test before the error / interruption patterns: a line that can be neither is skipped.
_MAYBE_BAD = lazy(
    r"error|exception|critical|fatal|traceback|interrupt|\^C|\bSIG|killed|terminated|signal", regex.IGNORECASE
)
_WRAPPED_ERROR = lazy(
    r"(?:^|[\s|\[(])(?:ERROR|CRITICAL|FATAL)(?:\s+\d\d-\d\d \d\d:|\s*\||\]|:\s)"
    r"|(?:^|[\s|:\]])(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception):\s"
)
_INTERRUPT_LITERALS = (
    "KeyboardInterrupt",
    "^C",
    "SIGTERM",
    "SIGINT",
    "SIGKILL",
    "Killed",
    "Terminated",
    "received signal",
    "Received signal",
)
# Someone stopped it: Ctrl-C, a SIGTERM/SIGINT the process reports receiving, the shell's "Killed"/"Terminated".
# Not torch elastic's "Sending process N closing signal SIGTERM" (it follows another rank's failure) nor Ray's
# "SIGTERM handler is not set" warning.
_INTERRUPT = lazy(
    r"KeyboardInterrupt|\^C"
    r"|(?i:(?:received|receiving|got|caught|catch)\s+(?:a\s+)?(?:signal\s+)?(?:SIG(?:TERM|INT|KILL)|\d+)\b)"
    r"|(?i:\bSIG(?:TERM|INT)\b\s+received)"
    r"|^\s*(?:Killed|Terminated)\s*$|\d+\s+(?:Killed|Terminated)\s"
)

# Hang evidence: periodic waiting messages. (literal, pattern, short name)
_WAITING: tuple[tuple[str, LazyPattern, str], ...] = (
    (
        "No available shared memory broadcast block",
        lazy(r"No available shared memory broadcast block found in (?P<n>\d+) second"),
        "No available shared memory broadcast block found",
    ),
    (
        "No available block found in",
        lazy(r"No available block found in (?P<n>\d+) second"),
        "No available block found (shared memory broadcast)",
    ),
    (
        "core engine proc(s)",
        lazy(r"Waiting for \d+ local, \d+ remote core engine proc\(s\) to (?:start|connect)"),
        "Waiting for core engine proc(s) to start",
    ),
    (
        "Waiting for output from MQLLMEngine",
        lazy(r"Waiting for output from MQLLMEngine"),
        "Waiting for output from MQLLMEngine",
    ),
    (
        "to acquire lock on",
        lazy(r"(?i)still waiting to acquire lock on \S+(?: \(elapsed: (?P<el>[\d.]+) seconds\))?"),
        "Still waiting to acquire lock (Hugging Face download lock)",
    ),
    (
        "Waiting for creating a placement group",
        lazy(r"Waiting for creating a placement group of specs for (?P<n>\d+) seconds"),
        "Waiting for creating a Ray placement group",
    ),
    (
        "Waiting in store based barrier",
        lazy(r"Waiting in store based barrier to initialize process group"),
        "Waiting in store based barrier",
    ),
)
_RETRY = lazy(r"Trying to resume download|Error while downloading from \S+")
_RETRY_LITERALS = ("Error while downloading from",)

# tqdm progress bars, standard ("desc:  61%|███   | 41/67 [00:06<00:04,  6.30it/s]") and vLLM's
# ("Loading safetensors checkpoint shards:  19% Completed | 12/62 [01:05<04:16,  5.13s/it]").
_TQDM_LITERALS = ("%|", "% Completed |")
_TQDM = lazy(
    r"(?P<desc>[^\r%|:]{0,120}?):\s*(?P<pct>\d{1,3})%\s*(?:Completed\s*)?\|(?:[^|\[\r]*\|)?\s*"
    r"(?P<n>\d+(?:\.\d+)?)(?P<nu>[kMGTP]?i?B?)/(?P<total>\d+(?:\.\d+)?)(?P<tu>[kMGTP]?i?B?)\s*"
    r"\[(?P<el>[\d:]+)<(?P<rem>[\d:?]+)(?:,\s*(?P<rate>[^\]\r]*))?\]"
)

LITERALS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [mk.literal for mk in _MARKERS]
        + list(_RESTART_LITERALS)
        + list(_CONFIG_LITERALS)
        + list(_ERROR_LITERALS)
        + list(_INTERRUPT_LITERALS)
        + [w[0] for w in _WAITING]
        + list(_RETRY_LITERALS)
        + list(_TQDM_LITERALS)
    )
)
"""Literal substrings: every line that phases / hang evidence rely on contains at least one."""


# --------------------------------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------------------------------

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


def _fmt_duration(secs: float) -> str:
    secs = max(0.0, secs)
    if secs < 90:
        return f"{secs:.0f} s"
    if secs < 5400:
        return f"{secs / 60:.0f} min"
    return f"{secs / 3600:.1f} h"


# --------------------------------------------------------------------------------------------------------------------
# Timeline
# --------------------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _P:
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
class _Config:
    v1: bool = False
    eager: bool = False
    no_compile: bool = False
    local_model: bool = False


@dataclass(slots=True)
class _State:
    phases: list[_P] = field(default_factory=list)
    by_name: dict[str, _P] = field(default_factory=dict)
    current: _P | None = None
    parent: _P | None = None  # load_weights while a download nested in it runs
    ready_at: int | None = None  # index of "init engine ... took"
    config: _Config = field(default_factory=_Config)
    max_rank: int = -1


_LEADING_TS = lazy(r"^\s*\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?)")


def _ts(ln: LogLine) -> str | None:
    """The line's timestamp, or one that starts its message (trace files, plain `logging` output)."""
    if ln.timestamp:
        return ln.timestamp
    m = _LEADING_TS.match(ln.message)
    return m.group(1) if m else None


def _time_before(lines: Sequence[LogLine], i: int) -> str | None:
    """The last timestamp printed at or before line index i."""
    for j in range(min(i, len(lines) - 1), -1, -1):
        t = _ts(lines[j])
        if t:
            return t
    return None


def _match_marker(msg: str, markers: Sequence[_Marker] = _MARKERS) -> tuple[_Marker, float | None] | None:
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


def _read_config(cfg: _Config, ln: LogLine) -> None:
    msg = ln.message
    if not cfg.v1 and ((ln.process and "EngineCore" in ln.process) or _V1.search(msg)):
        cfg.v1 = True
    if "eager" not in msg and "model" not in msg and "compilation_config" not in msg:
        return
    if _EAGER.search(msg):
        cfg.eager = True
    if _NO_COMPILE.search(msg):
        cfg.no_compile = True
    m = _MODEL.search(msg)
    if m:
        model = m["m"] or m["m2"] or m["m3"] or ""
        if model.startswith(("/", "./", "../", "~")):
            cfg.local_model = True


def _next_phase(last: str, cfg: _Config, after_ready: bool) -> str:
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


def _close(p: _P, i: int, lines: Sequence[LogLine]) -> None:
    if not p.ended:
        p.end = i
        p.end_time = _time_before(lines, i)
        p.ended = True


_INDEX: list[LiteralIndex] = []


def _literal_index() -> LiteralIndex:
    """LITERALS found in one pass over a text (see `engine.scan.LiteralIndex`)."""
    if not _INDEX:
        from logclassify.engine.scan import LiteralIndex

        _INDEX.append(LiteralIndex(LITERALS, ()))
    return _INDEX[0]


def _scan(lines: Sequence[LogLine]) -> _State:
    st = _State()
    # Only the literals (and markers) present somewhere in the input can be on a line: test those alone per line.
    whole = "\n".join(ln.message for ln in lines)
    found = _literal_index().present(whole)
    present = tuple(lit for lit in LITERALS if (lit in found[0] if found is not None else lit in whole))
    if not present:
        return st
    markers = tuple(mk for mk in _MARKERS if mk.literal in present)
    for i, ln in enumerate(lines):
        msg = ln.message
        if not any(lit in msg for lit in present):
            continue  # most lines the engine selects are for other rules
        if (
            st.phases
            and _RESTART.search(msg)
            and (st.max_rank >= _RANK["compile"] or _first_error(lines[:i], st.phases[0].start) is not None)
        ):
            st = _State()
        _read_config(st.config, ln)
        hit = _match_marker(msg, markers)
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
                    p.end, p.end_time, p.ended = i, _time_before(lines, i), True
                if secs is not None:
                    p.printed_secs = secs
            elif name == "load_weights" and st.parent is p and cur is not None and cur.name == "download":
                _close(cur, i, lines)
                st.current, st.parent = p, None
                p.last = i
                if kind == "end":
                    p.end, p.end_time, p.ended = i, _time_before(lines, i), True
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
        if cur is not None and _RANK[name] < _RANK[cur.name]:
            nested = name == "download" and cur.name == "load_weights" and not cur.ended
            if not nested:
                continue  # a stale line of an earlier phase (another worker, buffered output)
        take_over: _P | None = None
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
        p = _P(name=name, start=start, start_time=_time_before(lines, start), last=i, only_start=kind == "start")
        p.after_download = name == "load_weights" and "download" in st.by_name
        if kind == "end":
            p.end, p.end_time, p.ended = i, _time_before(lines, i), True
        if secs is not None:
            p.printed_secs = secs
        if name == "serving":
            api = st.by_name.get("api_server")
            if api is not None and not api.ended:
                _close(api, i, lines)
        st.phases.append(p)
        st.by_name[name] = p
        st.current = p
        st.max_rank = max(st.max_rank, _RANK[name])
    return st


def _is_interrupt(ln: LogLine) -> bool:
    return bool(_INTERRUPT.search(ln.message))


def _is_error(ln: LogLine) -> bool:
    if ln.level and ln.level.upper() in _ERROR_LEVELS:
        return True
    if _EXC_LINE.search(ln.message):
        return True
    # prefixes the reader did not peel (app loggers wrapping vLLM: "... - INFO - ERROR 08-13 ...", "| ERROR | stderr |")
    return bool(_WRAPPED_ERROR.search(ln.text))


def _first_error(lines: Sequence[LogLine], start: int) -> int | None:
    """Index of the first error at or after `start`; an interruption (Ctrl-C, SIGTERM, Killed) ends the search."""
    pending_tb: int | None = None
    for i in range(max(0, start), len(lines)):
        ln = lines[i]
        if not _MAYBE_BAD.search(ln.text):
            continue
        if _is_interrupt(ln):
            return None
        if _TRACEBACK.search(ln.message):
            if pending_tb is None:
                pending_tb = i
            continue
        if _is_error(ln):
            return i
    return pending_tb  # a traceback cut before its exception line


def _last_time(lines: Sequence[LogLine]) -> str | None:
    for ln in reversed(lines):
        t = _ts(ln)
        if t:
            return t
    return None


def _diff(t0: str | None, t1: str | None) -> float | None:
    if not t0 or not t1:
        return None
    a, b = parse_time(t0), parse_time(t1)
    if a is None or b is None:
        return None
    d = elapsed(a, b)
    return d if d >= 0 else None


def _tqdm_elapsed(lines: Sequence[LogLine], start: int) -> float | None:
    best: float | None = None
    for ln in lines[max(0, start) :]:
        if "%|" not in ln.message and "% Completed |" not in ln.message:
            continue
        for m in _TQDM.finditer(ln.message):
            el = _hms(m["el"])
            if el is not None and (best is None or el > best):
                best = el
    return best


def _hms(s: str) -> float | None:
    parts = s.split(":")
    try:
        vals = [int(p) for p in parts]
    except ValueError:
        return None
    total = 0
    for v in vals:
        total = total * 60 + v
    return float(total)


def _to_phase(p: _P, lines: Sequence[LogLine], status: str, end_of_log: bool) -> Phase:
    end_line = lines[p.end].number if p.end is not None else None
    duration: float | None
    if p.printed_secs is not None and p.ended and not (p.after_download and p.start_time and p.end_time):
        duration = p.printed_secs
    elif p.end is not None:
        duration = _diff(p.start_time, p.end_time)
    elif end_of_log:
        duration = _diff(p.start_time, _last_time(lines))
        tq = _tqdm_elapsed(lines, p.start)
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


def build_timeline(lines: Sequence[LogLine]) -> list[Phase]:
    """The startup phases found in `lines`, in order.

    A phase is `done` when a later phase began or its end line was printed, `running` when the log ends inside it
    and `failed` when an error follows its start. When the log stops after a phase finished (say after "Model
    loading took"), the phase that comes next is added as running (or failed): V0 prints nothing until its
    profiling results, V1 nothing while Dynamo traces the model. Only the given lines are used.
    """
    if not lines:
        return []
    st = _scan(lines)
    if not st.phases:
        return []
    out: list[tuple[int, Phase]] = []
    open_phases = [p for p in st.phases if not p.ended]
    for p in st.phases:
        if p.ended:
            out.append((p.start, _to_phase(p, lines, "done", False)))
    for p in open_phases:
        status = "running"
        if p.name != "serving" and _first_error(lines, p.start) is not None:
            status = "failed"
        out.append((p.start, _to_phase(p, lines, status, True)))
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
            implicit = _P(name=nxt, start=start, start_time=_time_before(lines, start))
            status = "failed" if _first_error(lines, start + 1) is not None else "running"
            out.append((start, _to_phase(implicit, lines, status, True)))
    out.sort(key=lambda t: (t[0], _RANK[t[1].name]))
    return [ph for _, ph in out]


def _index_of(lines: Sequence[LogLine], number: int) -> int:
    for i, ln in enumerate(lines):
        if ln.number >= number:
            return i
    return len(lines)


def ending_phase(lines: Sequence[LogLine], timeline: list[Phase]) -> Phase | None:
    """The startup phase the log ends in, when no error was printed after it began; else None.

    The result is a copy of that phase with status `running` and `duration_s` the time from its start to the last
    timestamp of the log (or the longest progress-bar elapsed time in it when the log has no timestamps).
    """
    if not timeline or not lines:
        return None
    if any(ph.name == "serving" for ph in timeline):
        return None
    open_phases = [ph for ph in timeline if ph.status in ("running", "failed")]
    if not open_phases:
        return None
    last = max(open_phases, key=lambda ph: (ph.start_line, _RANK.get(ph.name, 0)))
    start = _index_of(lines, last.start_line)
    implicit_after_end = False
    # an implied phase starts on the previous phase's end line: errors count from the line after it
    for ph in timeline[:-1]:
        if ph.end_line == last.start_line:
            implicit_after_end = True
    if _first_error(lines, start + 1 if implicit_after_end else start) is not None:
        return None
    dur = _diff(last.start_time, _last_time(lines))
    tq = _tqdm_elapsed(lines, start)
    if tq is not None and (dur is None or tq > dur):
        dur = tq
    return last.model_copy(update={"status": "running", "duration_s": round(dur, 3) if dur is not None else None})


# --------------------------------------------------------------------------------------------------------------------
# Hang evidence
# --------------------------------------------------------------------------------------------------------------------

_UNIT = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}


def _bytes(num: str, unit: str) -> float:
    u = unit.rstrip("B").rstrip("i")
    return float(num) * _UNIT.get(u, 1.0)


def _rate_bytes_per_s(rate: str) -> float | None:
    m = regex.match(r"\s*(?P<v>\d+(?:\.\d+)?)\s*(?P<u>[kKMGT]?)i?B/s", rate)
    return float(m["v"]) * _UNIT[m["u"]] if m else None


def _sec_per_item(rate: str) -> float | None:
    m = regex.match(r"\s*(?P<v>\d+(?:\.\d+)?)\s*s/it", rate)
    if m:
        return float(m["v"])
    m = regex.match(r"\s*(?P<v>\d+(?:\.\d+)?)\s*it/s", rate)
    if m and float(m["v"]) > 0:
        return 1.0 / float(m["v"])
    return None


@dataclass(slots=True)
class _Bar:
    desc: str
    n: float
    total: float
    el: float | None
    rate: str
    is_bytes: bool
    line: LogLine


def _bars(lines: Sequence[LogLine], start: int) -> list[_Bar]:
    out: list[_Bar] = []
    for ln in lines[max(0, start) :]:
        if "%|" not in ln.message and "% Completed |" not in ln.message:
            continue
        for m in _TQDM.finditer(ln.message):
            desc = m["desc"].strip().lstrip("\r")
            out.append(
                _Bar(
                    desc=desc,
                    n=_bytes(m["n"], m["nu"]),
                    total=_bytes(m["total"], m["tu"]),
                    el=_hms(m["el"]),
                    rate=(m["rate"] or "").strip(),
                    is_bytes=bool(m["nu"] or m["tu"]) and ("B" in (m["nu"] + m["tu"]) or "B/s" in (m["rate"] or "")),
                    line=ln,
                )
            )
    return out


def _fact(name: str, value: str, ln: LogLine) -> Fact:
    return Fact(name=name, value=value, line=ln.number, text=ln.text)


def _short(desc: str) -> str:
    return desc if len(desc) <= 60 else desc[:57] + "..."


def _crawl(bars: list[_Bar]) -> Fact | None:
    worst: tuple[float, _Bar, str] | None = None
    for b in bars:
        if b.is_bytes:
            bps = _rate_bytes_per_s(b.rate)
            if bps is not None and bps < 1e6 and b.total >= 1e8 and b.n < b.total:
                score = 1e6 / max(bps, 1.0)
                text = f"{_short(b.desc)} downloading at {b.rate}"
                if worst is None or score > worst[0]:
                    worst = (score, b, text)
            continue
        spi = _sec_per_item(b.rate) if b.rate else None
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


def _stuck(bars: list[_Bar]) -> Fact | None:
    seen: dict[tuple[str, float], list[_Bar]] = {}
    best: tuple[float, _Bar, str] | None = None
    for b in bars:
        if b.n >= b.total:
            continue
        if b.n == 0 and b.el is not None and b.el >= 300:
            text = f"{_short(b.desc)} still at 0/{b.total:g} after {_fmt_duration(b.el)}"
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
        text += f", {_fmt_duration(span)})" if els else ")"
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


def _waiting(lines: Sequence[LogLine], start: int) -> Fact | None:
    found: dict[str, list[tuple[LogLine, regex.Match[str]]]] = {}
    for ln in lines[max(0, start) :]:
        msg = ln.message
        for lit, pat, name in _WAITING:
            if lit in msg:
                m = pat.search(msg)
                if m:
                    found.setdefault(name, []).append((ln, m))
    best: tuple[float, LogLine, str] | None = None
    for name, hits in found.items():
        times = [parse_time(t) for t in (_ts(h[0]) for h in hits) if t]
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
            text += f" over {_fmt_duration(span)}"
        elif el_max:
            text += f" (waited {_fmt_duration(el_max)})"
        score = (span or 0.0) + len(hits)
        if best is None or score > best[0]:
            best = (score, hits[-1][0], text)
    if best is None:
        return None
    return _fact("hang.waiting", best[2], best[1])


def _retrying(lines: Sequence[LogLine], start: int) -> Fact | None:
    hits = [ln for ln in lines[max(0, start) :] if "download" in ln.message and _RETRY.search(ln.message)]
    if not hits:
        return None
    return _fact("hang.retrying", f"download retried {len(hits)} time(s) (connection dropped or timed out)", hits[-1])


def _interrupted(lines: Sequence[LogLine], timeline: list[Phase]) -> Fact | None:
    startup = [ph for ph in timeline if ph.name != "serving"]
    if not startup or (timeline and timeline[-1].name == "serving"):
        return None
    first = _index_of(lines, startup[-1].start_line)
    for i in range(first, len(lines)):
        ln = lines[i]
        if not _MAYBE_BAD.search(ln.text) or not _is_interrupt(ln):
            continue
        if _first_error(lines[:i], first) is not None:
            return None  # it failed before it was interrupted
        before = None
        for j in range(i - 1, first - 1, -1):
            if _ts(lines[j]) and not _is_interrupt(lines[j]):
                before = _ts(lines[j])
                break
        after = None
        for j in range(i, len(lines)):
            if _ts(lines[j]):
                after = _ts(lines[j])
                break
        gap = _diff(before, after)
        if gap is not None and gap < 60:
            return None  # stopped right away: no sign that it was stuck
        what = _INTERRUPT.search(ln.message)
        kind = what.group(0).strip() if what else "interrupted"
        text = f"{kind} while {startup[-1].label}"
        if gap is not None:
            text += f", after {_fmt_duration(gap)} without output"
        return _fact("hang.interrupted", text, ln)
    return None


def hang_evidence(lines: Sequence[LogLine], timeline: list[Phase]) -> list[Fact]:
    """Positive evidence that startup hangs: facts named `hang.*` for rules' `confirm:` conditions.

    `hang.crawl` (a download below 1 MB/s, shards at 30+ s each, graph capture at 10+ s each), `hang.stuck_progress`
    (a progress bar that does not move), `hang.waiting` (vLLM / hub / Ray periodic waiting messages repeating),
    `hang.retrying` (hub download retried), `hang.interrupted` (Ctrl-C, SIGTERM or Killed during a startup phase
    after a silence). When the log ends in a startup phase only the lines from its start count.
    """
    if not lines:
        return []
    start = 0
    ending = ending_phase(lines, timeline)
    if ending is not None:
        start = _index_of(lines, ending.start_line)
    facts: list[Fact] = []
    bars = _bars(lines, start)
    for f in (_crawl(bars), _stuck(bars), _waiting(lines, start), _retrying(lines, start)):
        if f is not None:
            facts.append(f)
    f = _interrupted(lines, timeline)
    if f is not None:
        facts.append(f)
    return facts
