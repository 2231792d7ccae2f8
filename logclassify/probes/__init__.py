"""Live probes: small torch jobs, run in child processes, that confirm or refute a diagnosis on this machine.

Importing this package never imports torch; only a probe's child processes do.
"""

from __future__ import annotations

from logclassify.probes.apply import apply_probes, verdict_for
from logclassify.probes.models import ProbeResult, ProbeStatus, RankOutcome
from logclassify.probes.plan import PROBE_NAMES
from logclassify.probes.runner import DEFAULT_TIMEOUT_S, INSTALL_HINT, run_probe, run_probes, torch_available

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "INSTALL_HINT",
    "PROBE_NAMES",
    "ProbeResult",
    "ProbeStatus",
    "RankOutcome",
    "apply_probes",
    "run_probe",
    "run_probes",
    "torch_available",
    "verdict_for",
]
