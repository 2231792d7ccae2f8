"""The typed answer logclassify gives: a `Report` of `Diagnosis` objects, facts and a startup timeline.

These are the public, JSON-serialisable shapes (pydantic v2). Internals use plain dataclasses for speed.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, Field


class Severity(str, Enum):
    """How alarming a diagnosis is. `info` is a note, not an alarm."""

    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self.value]


_SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}


class Evidence(BaseModel):
    """One input line that supports a diagnosis, with its 1-based line number in the input."""

    line: int
    text: str
    message: str | None = Field(default=None, description="the line without its log prefixes, when they differ")


class Diagnosis(BaseModel):
    """A known cause found in the log, with the lines that prove it and what to do about it."""

    id: str
    title: str
    severity: Severity
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: list[Evidence] = Field(default_factory=list)
    captures: dict[str, str] = Field(default_factory=dict)
    cause: str
    fix: list[str] = Field(default_factory=list)
    docs: list[str] = Field(default_factory=list)
    probe: str | None = None
    tags: list[str] = Field(default_factory=list)
    role: str = "cause"
    consequences: list[Diagnosis] = Field(
        default_factory=list, description="Diagnoses this one explains (errors it triggered), folded under it."
    )
    probe_result: dict[str, Any] | None = Field(
        default=None, description="Set by --probe: the live check's verdict (confirmed, refuted, unchecked)."
    )

    @property
    def first_line(self) -> int:
        return min((e.line for e in self.evidence), default=0)


class Suggestion(BaseModel):
    """A known cause that resembles an unrecognised failure. A hint, never a diagnosis."""

    id: str
    title: str
    score: float


class Unrecognized(BaseModel):
    """A failure that no rule explains: the salient error, its evidence and a stable fingerprint."""

    error: str
    line: int
    evidence: list[Evidence] = Field(default_factory=list)
    fingerprint: str
    related: list[Suggestion] = Field(default_factory=list)


class Phase(BaseModel):
    """One startup phase (download, load weights, profile, compile, cuda graphs, api server, serving)."""

    name: str
    label: str
    start_line: int
    end_line: int | None = None
    start_time: str | None = None
    end_time: str | None = None
    duration_s: float | None = None
    status: str = "done"  # done | running | failed


class Report(BaseModel):
    """Everything logclassify found in one input."""

    source: str
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    unrecognized: list[Unrecognized] = Field(default_factory=list)
    facts: dict[str, Any] = Field(default_factory=dict)
    timeline: list[Phase] = Field(default_factory=list)
    lines: int = 0
    error: str | None = Field(default=None, description="Why the input could not be read, if it could not.")

    @property
    def headline(self) -> Diagnosis | None:
        """The root cause: the first diagnosis above info severity, else the first note."""
        for d in self.diagnoses:
            if d.severity is not Severity.info:
                return d
        return self.diagnoses[0] if self.diagnoses else None

    @property
    def alarms(self) -> list[Diagnosis]:
        return [d for d in self.diagnoses if d.severity is not Severity.info]
