"""The probe bodies that run inside a child process. Only the worker imports the modules that import torch."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# task name -> "module:function", resolved lazily so that listing tasks never imports torch.
_TASKS = {
    "inspect": "device:inspect",
    "cuda": "device:cuda",
    "p2p": "device:p2p",
    "gloo": "collective:gloo",
    "nccl": "collective:nccl",
    "compile": "compiler:compile_smoke",
}
TASK_NAMES = tuple(_TASKS)


class TaskSkipped(Exception):
    """The task cannot run here (no GPU, too few GPUs): a reason, not a failure."""


class CheckFailed(Exception):
    """The task ran but the stack gave a wrong answer; carries what was measured."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


@dataclass
class TaskContext:
    """What a task knows about its place in the job, and how it reports progress."""

    rank: int
    world_size: int
    local_rank: int
    pg_timeout_s: float
    report_stage: Callable[[str], None]
    stages: list[str] = field(default_factory=list)

    def stage(self, name: str) -> None:
        self.stages.append(name)
        self.report_stage(name)


def run_task(name: str, ctx: TaskContext) -> dict[str, Any]:
    """Import the task's module (and so torch) only now, then run it."""
    module_name, func_name = _TASKS[name].split(":")
    ctx.stage("import torch")
    module = importlib.import_module(f"{__name__}.{module_name}")
    func: Callable[[TaskContext], dict[str, Any]] = getattr(module, func_name)
    return func(ctx)
