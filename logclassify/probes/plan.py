"""Decide whether and how a probe runs here: how many ranks, or why it must be skipped. Pure, so it is testable."""

from __future__ import annotations

from dataclasses import dataclass, field

PROBE_NAMES = ("cuda", "gloo", "nccl", "compile", "p2p")
SINGLE_PROCESS = frozenset({"cuda", "compile", "p2p"})


@dataclass
class Machine:
    """What the inspect child found: GPUs torch can see, and the stack's versions."""

    device_count: int
    versions: dict[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    """How many ranks to start, or the reason not to start any."""

    nproc: int = 1
    skip: str | None = None


def plan_probe(name: str, machine: Machine, nproc: int | None) -> Plan:
    """One GPU per rank for NCCL; GLOO runs on CPU so it defaults to the GPU count or 2."""
    gpus = machine.device_count
    no_gpu = "no CUDA device is visible to torch (torch.cuda.is_available() is False)"
    if name in ("cuda", "nccl") and gpus == 0:
        return Plan(skip=no_gpu)
    if name == "p2p":
        return Plan(skip=None if gpus >= 2 else (no_gpu if gpus == 0 else "peer access needs 2 GPUs; 1 is visible"))
    if name in SINGLE_PROCESS:
        return Plan()
    if name == "gloo":
        return Plan(nproc=nproc or (gpus if gpus >= 2 else 2))
    # nccl
    wanted = nproc or gpus
    if wanted < 2:
        return Plan(skip=f"an NCCL all-reduce needs 2 GPUs; {gpus} visible" if nproc is None else "--nproc must be >= 2")
    if wanted > gpus:
        return Plan(skip=f"{wanted} ranks need {wanted} GPUs (one per rank); {gpus} visible")
    return Plan(nproc=wanted)
