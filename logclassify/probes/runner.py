"""Run probes by name and turn what the ranks reported into a `ProbeResult`."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from typing import Any

from logclassify.probes.launch import LaunchOutcome, RankRun, launch
from logclassify.probes.models import ProbeResult, ProbeStatus, RankOutcome
from logclassify.probes.plan import PROBE_NAMES, Machine, plan_probe

INSTALL_HINT = "pip install 'logclassify[probes]'"
DEFAULT_TIMEOUT_S = 120.0
_TAIL = 2000


def torch_available() -> bool:
    """Look for torch without importing it: importing it here would defeat the point of child processes."""
    return importlib.util.find_spec("torch") is not None


def run_probes(names: Iterable[str], *, nproc: int | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> list[ProbeResult]:
    """Inspect the machine once (in a child), then run each probe in its own children."""
    names = list(names)
    _check_names(names)
    if not torch_available():
        return [_skipped(n, f"torch is not installed: {INSTALL_HINT}") for n in names]
    if not any(needs_inspect(n, nproc) for n in names):
        return [run_probe(n, nproc=nproc, timeout=timeout) for n in names]
    machine = inspect_machine(timeout)
    if isinstance(machine, ProbeResult):
        return [machine.model_copy(update={"probe": n}) for n in names]
    return [run_probe(n, nproc=nproc, timeout=timeout, machine=machine) for n in names]


def run_probe(
    name: str,
    *,
    nproc: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    world_size: int | None = None,
    machine: Machine | None = None,
) -> ProbeResult:
    """Run one probe. `world_size` above `nproc` starts too few ranks on purpose: a collective that must hang."""
    _check_names([name])
    if not torch_available():
        return _skipped(name, f"torch is not installed: {INSTALL_HINT}")
    if machine is None and not needs_inspect(name, nproc):
        machine = Machine(device_count=0)  # the plan does not depend on the GPUs; the ranks report versions
    if machine is None:
        found = inspect_machine(timeout)
        if isinstance(found, ProbeResult):
            return found.model_copy(update={"probe": name})
        machine = found
    plan = plan_probe(name, machine, nproc)
    if plan.skip:
        return _skipped(name, plan.skip, machine.versions)
    outcome = launch(name, plan.nproc, timeout, world_size)
    return summarise(name, outcome, timeout, machine.versions)


def needs_inspect(name: str, nproc: int | None) -> bool:
    """Only GPU probes and a gloo run without --nproc depend on the GPU count; skipping the count saves a torch import."""
    return not (name == "compile" or (name == "gloo" and nproc is not None))


def _check_names(names: list[str]) -> None:
    unknown = [n for n in names if n not in PROBE_NAMES]
    if unknown:
        raise ValueError(f"unknown probe(s) {', '.join(unknown)}; known: {', '.join(PROBE_NAMES)}")


def inspect_machine(timeout: float) -> Machine | ProbeResult:
    """Count GPUs in a child: a broken driver can hang or crash there, and that is itself the finding."""
    outcome = launch("inspect", 1, timeout)
    rank = outcome.ranks[0]
    if rank.result and rank.result.get("status") == "passed":
        details: dict[str, Any] = rank.result.get("details") or {}
        return Machine(int(details.get("device_count", 0)), dict(details.get("versions") or {}))
    failed = summarise("inspect", outcome, timeout, {})
    return failed.model_copy(update={"stage": f"inspect: {failed.stage}"})


def _skipped(name: str, reason: str, versions: dict[str, str] | None = None) -> ProbeResult:
    return ProbeResult(probe=name, status=ProbeStatus.skipped, reason=reason, versions=versions or {})


def _rank_outcome(run: RankRun) -> RankOutcome:
    result = run.result or {}
    if run.exit_code is None and not result:
        status = ProbeStatus.hung
    elif result.get("status") in ProbeStatus.__members__:
        status = ProbeStatus(result["status"])
    else:
        status = ProbeStatus.failed
    error = result.get("error")
    if status is ProbeStatus.failed and not error:
        error = f"exited with code {run.exit_code} without a result"
    return RankOutcome(rank=run.rank, pid=run.pid, status=status, stage=run.stage, exit_code=run.exit_code, error=error)


def summarise(name: str, outcome: LaunchOutcome, timeout: float, versions: dict[str, str]) -> ProbeResult:
    """Failed beats hung (a crashed rank explains its stuck peers); hung beats passed; all skipped is skipped."""
    ranks = [_rank_outcome(r) for r in outcome.ranks]
    found = dict(versions)
    for run in outcome.ranks:
        found.update((run.result or {}).get("versions") or {})
    base: dict[str, Any] = {
        "probe": name,
        "duration_s": round(outcome.duration_s, 3),
        "versions": found,
        "ranks": ranks,
    }
    failed = [r for r in ranks if r.status is ProbeStatus.failed]
    hung = [r for r in ranks if r.status is ProbeStatus.hung]
    if failed:
        first = failed[0]
        run = outcome.ranks[first.rank]
        details = dict((run.result or {}).get("details") or {})
        details["log_tail"] = run.log_tail[-_TAIL:]
        if hung:
            details["stuck_ranks"] = {str(r.rank): r.stage for r in hung}
        reason = f"rank {first.rank} failed in stage {first.stage}: {first.error}"
        return ProbeResult(status=ProbeStatus.failed, stage=first.stage, reason=reason, details=details, **base)
    if hung:
        stuck = {str(r.rank): r.stage for r in hung}
        stage = hung[0].stage
        reason = f"no progress after {timeout:g}s: rank(s) {', '.join(stuck)} stuck in stage {stage}"
        return ProbeResult(status=ProbeStatus.hung, stage=stage, reason=reason, details={"stuck_ranks": stuck}, **base)
    if ranks and all(r.status is ProbeStatus.skipped for r in ranks):
        reason = str(ranks[0].error or "cannot run here")
        return ProbeResult(status=ProbeStatus.skipped, stage=ranks[0].stage, reason=reason, **base)
    lead = outcome.ranks[0].result or {}
    details = dict(lead.get("details") or {})
    return ProbeResult(status=ProbeStatus.passed, stage=ranks[0].stage, details=details, **base)
