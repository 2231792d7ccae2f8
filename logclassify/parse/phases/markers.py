"""The wordings the phase readers look for: startup markers, configuration, errors, interruptions, waiting and
retry messages, progress bars, and `LITERALS`, the literals every line they rely on contains.

The phases, their markers and the waiting messages are data (rules/_vocab/phases.yaml), so that a new vLLM wording
needs no Python; the patterns that describe log structure (errors, interruptions, progress bars) stay here. Kept in
one module so that `LITERALS` (the engine's prefilter) and the per-reader literal lists that
choose which lines to read (see `candidates`) are checked against the patterns in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from logclassify.lazyre import LazyPattern, lazy
from logclassify.vocab import pattern, vocab

_VOCAB = vocab()["phases"]  # rules/_vocab/phases.yaml: the phases, their markers and the waiting messages

PHASES: tuple[str, ...] = tuple(p["name"] for p in _VOCAB["phases"])
"""Phase names in startup order (V0 has no `compile`; V1 compiles inside its profiling run, before KV sizing)."""

LABELS: dict[str, str] = {p["name"]: p["label"] for p in _VOCAB["phases"]}

RANK = {name: i for i, name in enumerate(PHASES)}


@dataclass(frozen=True, slots=True)
class Marker:
    """A wording that starts, advances or ends a phase (or says the engine is ready)."""

    phase: str
    kind: str
    literal: str
    pattern: LazyPattern | None  # None: the literal alone is the marker


MARKERS: tuple[Marker, ...] = tuple(
    Marker(d["phase"], d["kind"], d["literal"], pattern(d) if d["pattern"] is not None else None)
    for d in _VOCAB["markers"]
)
"""In the order they are tried. Not "Avg prompt throughput" or access-log lines: a busy server prints millions of
them, and every marker literal makes the prefilter keep those lines."""

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
WAITING: tuple[tuple[str, LazyPattern, str], ...] = tuple(
    (d["literal"], pattern(d), d["name"]) for d in _VOCAB["waiting"]
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
