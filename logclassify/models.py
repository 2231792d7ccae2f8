"""The typed answer logclassify gives: a `Report` of `Diagnosis` objects, facts and a startup timeline.

These are the public, JSON-serialisable shapes. They are standard dataclasses that pydantic validates and describes:
`Report.model_validate(data)`, `Report.model_validate_json(text)` and `Report.model_json_schema()` run pydantic
(imported on the first such call), `model_dump()` / `model_dump_json()` give the same output pydantic would. Plain
dataclasses keep pydantic's ~60 ms import and per-object validation off every scan; a test checks that the
hand-written dumps equal pydantic's own.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

if TYPE_CHECKING:
    from pydantic import TypeAdapter

_M = TypeVar("_M", bound="PublicModel")


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


def _plain(value: Any, json_mode: bool) -> Any:
    """What pydantic's `model_dump` gives for a value: dataclasses as dicts in field order, enums as values in JSON."""
    if isinstance(value, PublicModel):
        return {name: _plain(getattr(value, name), json_mode) for name in value.__dataclass_fields__}
    if isinstance(value, Enum):
        return value.value if json_mode else value
    if isinstance(value, (list, tuple)):
        return [_plain(v, json_mode) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, json_mode) for k, v in value.items()}
    return value


class PublicModel:
    """The pydantic-style methods of the public result types (pydantic itself is imported only to validate)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    # field descriptions in the JSON schema come from the attribute docstrings below
    __pydantic_config__: ClassVar[dict[str, Any]] = {"use_attribute_docstrings": True}
    _adapters: ClassVar[dict[type, Any]] = {}

    @classmethod
    def _adapter(cls: type[_M]) -> TypeAdapter[_M]:
        found = PublicModel._adapters.get(cls)
        if found is None:
            from pydantic import TypeAdapter

            found = PublicModel._adapters[cls] = TypeAdapter(cls)
        return found

    @classmethod
    def model_validate(cls: type[_M], obj: Any) -> _M:
        """Build and validate from a dict (e.g. parsed JSON output); raises `pydantic.ValidationError`."""
        return cls._adapter().validate_python(obj)

    @classmethod
    def model_validate_json(cls: type[_M], data: str | bytes) -> _M:
        return cls._adapter().validate_json(data)

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        return cls._adapter().json_schema()

    def model_dump(self, *, mode: Literal["python", "json"] = "python") -> dict[str, Any]:
        data: dict[str, Any] = _plain(self, mode == "json")
        return data

    def model_dump_json(self, *, indent: int | None = None) -> str:
        separators = (",", ":") if indent is None else None
        return json.dumps(self.model_dump(mode="json"), indent=indent, ensure_ascii=False, separators=separators)

    def model_copy(self: _M, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> _M:
        new = copy.deepcopy(self) if deep else self
        return dataclasses.replace(new, **(update or {}))


@dataclass(kw_only=True)
class Evidence(PublicModel):
    """One input line that supports a diagnosis, with its 1-based line number in the input."""

    line: int
    text: str
    message: str | None = None
    """the line without its log prefixes, when they differ"""


@dataclass(kw_only=True)
class Value(PublicModel):
    """A number read or computed from the log (a memory size, a length, a parallel size), with its input lines."""

    name: str
    value: str
    """as shown in the answer, e.g. `49344`, `0.95`, `2.00 GiB`"""
    about: str
    """what it is and how it was obtained (read as printed, or the arithmetic)"""
    lines: list[int] = field(default_factory=list)
    """the input lines it comes from"""


@dataclass(kw_only=True)
class ArgChange(PublicModel):
    """One change a fix makes to the user's command."""

    action: Literal["set", "add", "remove"]
    """set: a new value for an argument given before; add: an argument it did not have; remove: drop it"""
    name: str
    """vLLM's argument name, e.g. `max_model_len`"""
    flag: str
    """the command-line flag, e.g. `--max-model-len`"""
    value: Any = None
    old: Any = None
    """the value logged before the change (set, remove)"""


@dataclass(kw_only=True)
class FixCommand(PublicModel):
    """A fix step's change applied to the command the log shows: the corrected command to run."""

    step: int
    """the fix step it belongs to, numbered from 1"""
    changes: list[ArgChange] = field(default_factory=list)
    command: str
    """the corrected command on one line: `vllm serve ...`, or `LLM(...)` for offline use"""


@dataclass(kw_only=True)
class Command(PublicModel):
    """The command the user ran, read from the arguments vLLM logs at start-up (secrets removed)."""

    kind: Literal["serve", "offline"]
    """serve: `vllm serve` (the OpenAI API server); offline: the `LLM(...)` class in a script"""
    source: str
    """which line it was read from: `non-default args`, `Namespace`, `command line` (typed), or `engine config`"""
    line: int
    args: dict[str, Any] = field(default_factory=dict)
    """the arguments as logged (non-default ones; from a Namespace or engine config, those that differ from
    vLLM's defaults)"""
    text: str
    """the command as it would be typed"""
    complete: bool = True
    """False when rebuilt from a line that may not show every argument the user gave (the engine config, a typed
    command continued on lines not shown)"""
    program: str = "vllm serve"
    """how the server was started: `vllm serve` (the model as its first word) or a typed
    `python -m vllm.entrypoints.openai.api_server` (the model as `--model`)"""


@dataclass(kw_only=True)
class Diagnosis(PublicModel):
    """A known cause found in the log, with the lines that prove it and what to do about it."""

    id: str
    title: str
    severity: Severity
    confidence: float
    """from 0 to 1"""
    evidence: list[Evidence] = field(default_factory=list)
    captures: dict[str, str] = field(default_factory=dict)
    cause: str
    fix: list[str] = field(default_factory=list)
    docs: list[str] = field(default_factory=list)
    probe: str | None = None
    tags: list[str] = field(default_factory=list)
    role: str = "cause"
    consequences: list[Diagnosis] = field(default_factory=list)
    """Diagnoses this one explains (errors it triggered), folded under it."""
    probe_result: dict[str, Any] | None = None
    """Set by --probe: the live check's verdict (confirmed, refuted, unchecked)."""
    values: list[Value] = field(default_factory=list)
    """Numbers from the log that the cause and fix use, each with its lines (e.g. the longest context that fits)."""
    commands: list[FixCommand] = field(default_factory=list)
    """The user's command corrected by a fix step, when the log shows the command."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be between 0 and 1, got {self.confidence}")

    @property
    def first_line(self) -> int:
        return min((e.line for e in self.evidence), default=0)


@dataclass(kw_only=True)
class Suggestion(PublicModel):
    """A known cause that resembles an unrecognised failure. A hint, never a diagnosis."""

    id: str
    title: str
    score: float


@dataclass(kw_only=True)
class Unrecognized(PublicModel):
    """A failure that no rule explains: the salient error, its evidence and a stable fingerprint."""

    error: str
    line: int
    evidence: list[Evidence] = field(default_factory=list)
    fingerprint: str
    related: list[Suggestion] = field(default_factory=list)
    generic_answer: str | None = None
    """the id of the family answer (a `role: fallback` rule) that answered it without naming a specific cause"""


@dataclass(kw_only=True)
class Phase(PublicModel):
    """One startup phase (download, load weights, profile, compile, cuda graphs, api server, serving)."""

    name: str
    label: str
    start_line: int
    end_line: int | None = None
    start_time: str | None = None
    end_time: str | None = None
    duration_s: float | None = None
    status: str = "done"
    """done, running or failed"""


@dataclass(kw_only=True)
class Report(PublicModel):
    """Everything logclassify found in one input."""

    source: str
    diagnoses: list[Diagnosis] = field(default_factory=list)
    unrecognized: list[Unrecognized] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    timeline: list[Phase] = field(default_factory=list)
    lines: int = 0
    error: str | None = None
    """Why the input could not be read, if it could not (or could be read only in part: a damaged gzip file, whose
    report then covers the lines before the damage)."""
    warnings: list[str] = field(default_factory=list)
    """What was not examined, and why (a memory or time limit, docs/limits.md): the report may be incomplete."""
    command: Command | None = None
    """The command the log shows the user ran, when vLLM logged its arguments."""

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


@dataclass(frozen=True)
class Event:
    """One diagnosis or unrecognised failure in live mode (`--follow`), printed the moment it became certain.

    A cause found again in a later run of the server (after a restart, or in the next file after rotation) is a
    new event with `occurrence` above 1 and `first_at`, when it was first printed: alerting fires on every one.
    """

    kind: Literal["diagnosis", "unrecognized"]
    source: str
    at: str  # ISO time it was printed
    diagnosis: Diagnosis | None = None
    unrecognized: Unrecognized | None = None
    occurrence: int = 1
    first_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        payload = self.diagnosis if self.diagnosis is not None else self.unrecognized
        assert payload is not None
        out: dict[str, Any] = {"event": self.kind, "source": self.source, "at": self.at}
        if self.occurrence > 1:
            out |= {"occurrence": self.occurrence, "first_at": self.first_at}
        out[self.kind] = payload.model_dump(mode="json")
        return out
