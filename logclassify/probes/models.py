"""Result shapes of a live probe: public, pydantic, JSON-serialisable (they go into `Diagnosis.probe_result`)."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, Field


class ProbeStatus(str, Enum):
    """How a probe ended. `hung` is its own outcome because a stuck collective is the classic symptom."""

    passed = "passed"
    failed = "failed"
    hung = "hung"
    skipped = "skipped"


class RankOutcome(BaseModel):
    """What one child process reported, so a hang or crash can be pinned to a rank and a stage."""

    rank: int
    pid: int | None = None
    status: ProbeStatus
    stage: str | None = None
    exit_code: int | None = Field(default=None, description="None while it was still running (killed at timeout).")
    error: str | None = None


class ProbeResult(BaseModel):
    """The outcome of one probe on this machine."""

    probe: str
    status: ProbeStatus
    stage: str | None = Field(default=None, description="The stage reached; where it failed or hung.")
    duration_s: float = 0.0
    reason: str | None = Field(default=None, description="One line: why it failed, hung or was skipped.")
    details: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    ranks: list[RankOutcome] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Passed or skipped: nothing found wrong."""
        return self.status in (ProbeStatus.passed, ProbeStatus.skipped)
