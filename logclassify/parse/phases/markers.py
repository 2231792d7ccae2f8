"""The wordings the phase readers look for: startup markers, configuration, errors, interruptions, waiting and
retry messages, progress bars, and `LITERALS`, the literals every line they rely on contains.

Kept in one table-only module so that `LITERALS` (the engine's prefilter) and the per-reader literal lists that
choose which lines to read (see `candidates`) are checked against the patterns in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from logclassify.lazyre import LazyPattern, lazy

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

RANK = {name: i for i, name in enumerate(PHASES)}

# --------------------------------------------------------------------------------------------------------------------
# Markers: (phase, kind, literal, pattern). kind: start | progress | end | ready (engine initialised: closes the
# running phase; the API server comes next). The pattern is searched in the message and must contain its literal.
# --------------------------------------------------------------------------------------------------------------------

_SECS = r"(?P<secs>\d+(?:\.\d+)?)"


@dataclass(frozen=True, slots=True)
class Marker:
    """A wording that starts, advances or ends a phase (or says the engine is ready)."""

    phase: str
    kind: str
    literal: str
    pattern: LazyPattern | None  # None: the literal alone is the marker


def _m(phase: str, kind: str, literal: str, pattern: str | None = None) -> Marker:
    return Marker(phase, kind, literal, lazy(pattern) if pattern is not None else None)


MARKERS: tuple[Marker, ...] = (
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
RESTART = lazy(r"Initializing an? (?:V[01] )?LLM engine (?:\(v|with config)|vLLM API server version|non-default args:")

# Configuration read from the engine/args lines.
_CONFIG_LITERALS = ("Cudagraph is disabled", "--enforce-eager", "enforce_eager")
EAGER = lazy(
    r"(?<!')enforce_eager=True|'enforce_eager': True|Cudagraph is disabled under eager mode"
    r"|(?:vllm serve|api_server|LLM\().*(?:\s--enforce-eager(?=\s|$)|enforce_eager\s*=\s*True)"
)
NO_COMPILE = lazy(r"""compilation_config=\{["']level["']:\s*0\b|CompilationMode\.NONE|'compilation_config': 0\b""")
V1 = lazy(r"V1 LLM engine|EngineCore")
MODEL = lazy(
    r"Starting to load model (?P<m>\S+?)(?:\.\.\.)?\s*$|(?<![\w_])model='(?P<m2>[^']*)'|'model': '(?P<m3>[^']*)'"
)

# Errors and interruptions.
_ERROR_LITERALS = ("Traceback (most recent call last)", "Error:", "Exception:", "AssertionError", "ERROR", "CRITICAL")
TRACEBACK = lazy(r"^\s*Traceback \(most recent call last\)")
EXC_LINE = lazy(
    r"^\s*(?:[A-Za-z_][\w]*\.)*(?:[A-Z]\w*(?:Error|Exception)|AssertionError)\b(?::|\s*$)"
    r"|^\s*(?:Error|ERROR|FATAL|Fatal error)\s*:"
)
ERROR_LEVELS = frozenset({"ERROR", "CRITICAL", "FATAL"})
# Cheap test before the error / interruption patterns: a line that can be neither is skipped.
MAYBE_BAD = lazy(
    r"error|exception|critical|fatal|traceback|interrupt|\^C|\bSIG|killed|terminated|signal", regex.IGNORECASE
)
# `MAYBE_BAD` matches only lines that, lowercased, contain one of these ("sig" also covers "signal" and `\bSIG`)...
MAYBE_BAD_FOLDED: tuple[str, ...] = (
    "error",
    "exception",
    "critical",
    "fatal",
    "traceback",
    "interrupt",
    "^c",
    "sig",
    "killed",
    "terminated",
)
# ... or one of the letters that its IGNORECASE equates with an ASCII letter but `str.lower()` does not lower to
# one (dotted capital I, dotless i, long s; the Kelvin sign lowers to "k"). Found by trying every code point in
# place of each letter of those literals; `regex` does simple case folding only (no FULLCASE), so no others.
MAYBE_BAD_ODD_LETTERS: tuple[str, ...] = ("\u0130", "\u0131", "\u017f")
WRAPPED_ERROR = lazy(
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
INTERRUPT = lazy(
    r"KeyboardInterrupt|\^C"
    r"|(?i:(?:received|receiving|got|caught|catch)\s+(?:a\s+)?(?:signal\s+)?(?:SIG(?:TERM|INT|KILL)|\d+)\b)"
    r"|(?i:\bSIG(?:TERM|INT)\b\s+received)"
    r"|^\s*(?:Killed|Terminated)\s*$|\d+\s+(?:Killed|Terminated)\s"
)

# Hang evidence: periodic waiting messages. (literal, pattern, short name)
WAITING: tuple[tuple[str, LazyPattern, str], ...] = (
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
RETRY = lazy(r"Trying to resume download|Error while downloading from \S+")
_RETRY_LITERALS = ("Error while downloading from",)
RETRY_TRIGGERS = ("Trying to resume download", *_RETRY_LITERALS)  # a line `RETRY` matches holds one

# tqdm progress bars, standard ("desc:  61%|███   | 41/67 [00:06<00:04,  6.30it/s]") and vLLM's
# ("Loading safetensors checkpoint shards:  19% Completed | 12/62 [01:05<04:16,  5.13s/it]").
TQDM_LITERALS = ("%|", "% Completed |")
TQDM = lazy(
    r"(?P<desc>[^\r%|:]{0,120}?):\s*(?P<pct>\d{1,3})%\s*(?:Completed\s*)?\|(?:[^|\[\r]*\|)?\s*"
    r"(?P<n>\d+(?:\.\d+)?)(?P<nu>[kMGTP]?i?B?)/(?P<total>\d+(?:\.\d+)?)(?P<tu>[kMGTP]?i?B?)\s*"
    r"\[(?P<el>[\d:]+)<(?P<rem>[\d:?]+)(?:,\s*(?P<rate>[^\]\r]*))?\]"
)

LITERALS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [mk.literal for mk in MARKERS]
        + list(_RESTART_LITERALS)
        + list(_CONFIG_LITERALS)
        + list(_ERROR_LITERALS)
        + list(_INTERRUPT_LITERALS)
        + [w[0] for w in WAITING]
        + list(_RETRY_LITERALS)
        + list(TQDM_LITERALS)
    )
)
"""Literal substrings: every line that phases / hang evidence rely on contains at least one."""

MARKER_ORDER: dict[str, tuple[int, ...]] = {
    lit: tuple(i for i, mk in enumerate(MARKERS) if mk.literal == lit) for lit in dict.fromkeys(mk.literal for mk in MARKERS)
}
"""Positions in `MARKERS` of the markers with each literal: a line is tried against only those its message holds."""
