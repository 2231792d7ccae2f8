"""`--probe`: run the probes that a report's diagnoses name, and mark each diagnosis confirmed, refuted or unchecked.

Which probe checks which diagnosis is data: the rule's `probe` field. No rule id appears in this code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from logclassify.models import Diagnosis, Report
from logclassify.probes.models import ProbeResult, ProbeStatus
from logclassify.probes.plan import PROBE_NAMES

ProbeRunner = Callable[[list[str], float], list[ProbeResult]]

_VERDICTS = {
    ProbeStatus.failed: "confirmed",
    ProbeStatus.hung: "confirmed",
    ProbeStatus.passed: "refuted",
    ProbeStatus.skipped: "unchecked",
}


def verdict_for(status: ProbeStatus) -> str:
    """A probe that fails or hangs reproduces the diagnosed breakage; one that passes says the stack works here."""
    return _VERDICTS[status]


def _default_runner(names: list[str], timeout: float) -> list[ProbeResult]:
    from logclassify.probes.runner import run_probes

    return run_probes(names, timeout=timeout)


def _walk(diagnoses: list[Diagnosis]) -> Iterator[Diagnosis]:
    for diagnosis in diagnoses:
        yield diagnosis
        yield from _walk(diagnosis.consequences)


def apply_probes(report: Report, timeout: float, *, runner: ProbeRunner | None = None) -> Report:
    """Return a copy of `report` whose probed diagnoses carry `probe_result`; each probe runs at most once."""
    result = report.model_copy(deep=True)
    wanted = list(dict.fromkeys(d.probe for d in _walk(result.diagnoses) if d.probe))
    known = [name for name in wanted if name in PROBE_NAMES]
    outcomes = {r.probe: r for r in (runner or _default_runner)(known, timeout)} if known else {}
    for diagnosis in _walk(result.diagnoses):
        if diagnosis.probe:
            diagnosis.probe_result = _probe_result(diagnosis.probe, outcomes.get(diagnosis.probe))
    return result


def _probe_result(name: str, outcome: ProbeResult | None) -> dict[str, Any]:
    if outcome is None:
        reason = f"no probe named {name!r}; known: {', '.join(PROBE_NAMES)}"
        return {"verdict": "unchecked", "probe": name, "status": "skipped", "details": {"reason": reason}}
    details = dict(outcome.details)
    details.update(reason=outcome.reason, stage=outcome.stage, duration_s=outcome.duration_s)
    return {
        "verdict": verdict_for(outcome.status),
        "probe": name,
        "status": outcome.status.value,
        "details": details,
    }
