"""Startup phases of a vLLM server and evidence that it hangs in one.

`build_timeline` turns the (possibly sparse) normalised lines of a log into the ordered startup phases
`download`, `load_weights`, `compile`, `profile`, `cuda_graphs`, `api_server` and `serving`, each with its start/end
line, the times printed there and a duration. `ending_phase` says which startup phase the log stops in when no error
follows its start (what `log_ends_in` rules match), and `hang_evidence` returns facts (`hang.crawl`,
`hang.stuck_progress`, `hang.waiting`, `hang.retrying`, `hang.interrupted`) that make a hang more than a guess.

Every line these functions rely on contains one of `LITERALS`, so a literal prefilter keeps all of them, and each
reader visits only the lines of the input's `LineIndex` that hold its literals (pass the index the caller already
has; one is built otherwise). The wordings cover vLLM 0.2-0.4 (V0, "Loading model weights took"), 0.5-0.7 (V0,
"Starting to load model", "Capturing cudagraphs for decoding", "Memory profiling takes") and the V1 engine (0.8+:
torch.compile, "Available KV cache memory", "Capturing CUDA graph shapes" / "Capturing CUDA graphs (...)",
"init engine (profile, create kv cache, warmup model) took", "Starting vLLM server on").

Modules: `markers` (the wordings and `LITERALS`), `clock` (timestamps), `candidates` (which lines each reader
visits), `errors` (errors and interruptions after a point), `progress` (tqdm bars), `scan` (the walk over marker
lines), `timeline` (`build_timeline`, `ending_phase`) and `hang` (`hang_evidence`).
"""

from __future__ import annotations

from logclassify.parse.phases import errors, markers, scan
from logclassify.parse.phases.clock import elapsed, parse_time
from logclassify.parse.phases.hang import hang_evidence
from logclassify.parse.phases.markers import LABELS, LITERALS, MAYBE_BAD_FOLDED, PHASES
from logclassify.parse.phases.timeline import build_timeline, ending_phase

FOLDED_LITERALS: tuple[str, ...] = MAYBE_BAD_FOLDED
"""Lowercased literals the readers look up in lowercased lines (`LineIndex.lines_with(..., lower=True)`): a
`LiteralIndex` given them as folded literals answers for them in its one pass (`LineIndex.known`)."""

__all__ = [
    "FOLDED_LITERALS",
    "LABELS",
    "LITERALS",
    "PHASES",
    "build_timeline",
    "elapsed",
    "ending_phase",
    "hang_evidence",
    "parse_time",
]

# Internals the tests reach through this module.
_MARKERS = markers.MARKERS
_Config = scan.Config
_read_config = scan.read_config
_is_interrupt = errors.is_interrupt
