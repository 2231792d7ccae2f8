"""The rule format: one YAML file a rule, validated by these pydantic models.

A condition is a one-key mapping (`regex`, `contains`, `exception`, `frame`, `fact`, `log_ends_in`) or a group
(`all`, `any`, `none`). `rules/README.md` documents the format; `logclassify rules schema` prints it as JSON Schema.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import regex
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from logclassify.models import Severity

ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)?$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_regex(pattern: str, ignore_case: bool = False) -> str:
    """Compile a pattern now so a bad one is reported at load time, with its position and a pointer; a pattern over
    the limits or of a catastrophic shape is refused before it is compiled (`regexcheck`)."""
    from logclassify.engine.regexcheck import check_pattern

    check_pattern(pattern, regex.IGNORECASE if ignore_case else 0)
    try:
        regex.compile(pattern, regex.V0 | (regex.IGNORECASE if ignore_case else 0))
    except regex.error as exc:
        msg, pos = str(getattr(exc, "msg", exc)), getattr(exc, "pos", None)
        try:  # the standard library points at where the problem starts (the unclosed group, not the end)
            re.compile(pattern)
        except re.error as std:
            msg, pos = std.msg, std.pos
        where = f" at position {pos}" if pos is not None else ""
        pointer = f"\n    {pattern}\n    {' ' * pos}^" if pos is not None else ""
        raise ValueError(f"bad regex{where}: {msg}{pointer}") from None
    return pattern


class RegexCond(_Strict):
    """A log line's message (prefixes stripped) matches this regex. Named groups become captures."""

    regex: str
    ignore_case: bool = False
    scope: Literal["message", "line"] = Field(
        default="message", description="message: the text after the log prefixes; line: the whole line, prefixes too"
    )

    @model_validator(mode="after")
    def _compile(self) -> RegexCond:
        check_regex(self.regex, self.ignore_case)
        return self


class ContainsCond(_Strict):
    """A log line's message contains this literal text."""

    contains: str = Field(min_length=3)
    ignore_case: bool = False
    scope: Literal["message", "line"] = "message"


class InnermostSpec(_Strict):
    """The innermost frame of one code base (`among`) in the exception's own traceback, and what it must be."""

    among: str = Field(
        description="regex searched in each frame's file path: the frames that count (e.g. vLLM's own files); "
        "the innermost of them is the one checked"
    )
    file: str | None = Field(
        default=None,
        description="regex searched in that frame's file path; its named groups become captures",
    )
    function: str | None = Field(default=None, description="regex full-matched against that frame's function")

    @model_validator(mode="after")
    def _check(self) -> InnermostSpec:
        if self.file is None and self.function is None:
            raise ValueError("innermost needs `file` or `function` (what the innermost `among` frame must be)")
        for p in (self.among, self.file, self.function):
            if p is not None:
                check_regex(p)
        return self


class ExceptionSpec(_Strict):
    type: str | None = Field(default=None, description="regex, full-matched against the exception type")
    message: str | None = Field(default=None, description="regex, searched in the exception message")
    root: bool = Field(default=False, description="only the first (root) exception of a chain")
    raised_in: str | None = Field(
        default=None,
        description="regex searched in the file path of the innermost frame, where the exception was raised; "
        "captures raised_type, raised_file, raised_line, raised_function",
    )
    innermost: InnermostSpec | None = Field(
        default=None,
        description="the innermost frame whose file matches `among` (the deepest frame of that code base, wherever "
        "the exception was raised below it) matches `file` / `function`; captures innermost_file, innermost_line, "
        "innermost_function and the named groups of `file`",
    )

    @model_validator(mode="after")
    def _check(self) -> ExceptionSpec:
        if self.type is None and self.message is None:
            raise ValueError("exception needs `type` or `message`")
        for p in (self.type, self.message, self.raised_in):
            if p is not None:
                check_regex(p)
        return self


class ExceptionCond(_Strict):
    """A parsed Python exception (in a traceback, or a bare `Type: message` line) matches."""

    exception: ExceptionSpec


class FrameSpec(_Strict):
    file: str | None = Field(default=None, description="regex searched in the frame's file path")
    function: str | None = Field(default=None, description="regex full-matched against the function name")
    code: str | None = Field(default=None, description="regex searched in the frame's source line")

    @model_validator(mode="after")
    def _check(self) -> FrameSpec:
        if self.file is None and self.function is None and self.code is None:
            raise ValueError("frame needs `file`, `function` or `code`")
        for p in (self.file, self.function, self.code):
            if p is not None:
                check_regex(p)
        return self


class FrameCond(_Strict):
    """Some traceback has a frame matching file / function / code."""

    frame: FrameSpec


class FactSpec(_Strict):
    name: str = Field(description="fact name, e.g. vllm_version, engine, env.VLLM_TRACE_FUNCTION")
    version: str | None = Field(default=None, description="PEP 440 specifier, e.g. '>=0.5.2,<0.5.4'")
    equals: str | None = None
    regex: str | None = None

    @field_validator("version")
    @classmethod
    def _spec(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                SpecifierSet(v)
            except InvalidSpecifier as exc:
                raise ValueError(f"bad version specifier {v!r}: {exc}") from None
        return v

    @model_validator(mode="after")
    def _check(self) -> FactSpec:
        if self.regex is not None:
            check_regex(self.regex)
        return self


class FactCond(_Strict):
    """A fact read from the log (versions, env vars, parallel sizes) has a value / lies in a version range."""

    fact: FactSpec


class LogEndsInCond(_Strict):
    """The log ends inside one of these startup phases, with no error after the phase began."""

    log_ends_in: list[str] = Field(min_length=1)


class AllCond(_Strict):
    """Every condition holds. With `within: N`, each must match within N lines of the first one's evidence."""

    all: list[Condition] = Field(min_length=1)
    within: int | None = Field(default=None, ge=0)


class AnyCond(_Strict):
    """At least one condition holds."""

    any: list[Condition] = Field(min_length=1)


class NoneCond(_Strict):
    """No condition holds (use inside `all` to exclude look-alikes)."""

    none: list[Condition] = Field(min_length=1)


_KEYS: dict[str, type[BaseModel]] = {
    "regex": RegexCond,
    "contains": ContainsCond,
    "exception": ExceptionCond,
    "frame": FrameCond,
    "fact": FactCond,
    "log_ends_in": LogEndsInCond,
    "all": AllCond,
    "any": AnyCond,
    "none": NoneCond,
}


def _condition_tag(v: Any) -> str:
    if isinstance(v, BaseModel):
        for key, cls in _KEYS.items():
            if isinstance(v, cls):
                return key
    if isinstance(v, dict):
        for key in _KEYS:
            if key in v:
                return key
    return "unknown"


Condition = Annotated[
    Annotated[RegexCond, Tag("regex")]
    | Annotated[ContainsCond, Tag("contains")]
    | Annotated[ExceptionCond, Tag("exception")]
    | Annotated[FrameCond, Tag("frame")]
    | Annotated[FactCond, Tag("fact")]
    | Annotated[LogEndsInCond, Tag("log_ends_in")]
    | Annotated[AllCond, Tag("all")]
    | Annotated[AnyCond, Tag("any")]
    | Annotated[NoneCond, Tag("none")],
    Discriminator(_condition_tag),
]
"""Any condition; which one is decided by its key, so validation errors name the right field."""

for _group in (AllCond, AnyCond, NoneCond):
    _group.model_rebuild()


class Live(_Strict):
    """How a hang rule behaves on a live log (`--follow`)."""

    silent_for: int = Field(gt=0, description="seconds the input must stay silent before the hang is reported")


ArgValue = str | int | float | bool


class FixStep(_Strict):
    """A fix step that uses values from the log: `text` when every placeholder in it (and in its command changes)
    has a value, else `else` (the generic wording; without it the step is left out). `when` adds conditions on
    values: each name must have one of the listed values. `set` / `add` / `remove` change the user's command."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    text: str = Field(min_length=3)
    otherwise: str | None = Field(default=None, alias="else", min_length=3,
                                  description="the generic step, used when a value of `text` is unknown")
    when: dict[str, list[str]] = Field(default_factory=dict,
                                       description="value name -> the values for which `text` applies")
    set: dict[str, ArgValue] = Field(default_factory=dict,
                                     description="arguments of the user's command to set (vLLM names, e.g. max_model_len)")
    add: dict[str, ArgValue] = Field(default_factory=dict, description="arguments to add (`true` for a bare flag)")
    remove: list[str] = Field(default_factory=list, description="arguments to drop from the user's command")

    @field_validator("set", "add", "remove")
    @classmethod
    def _names(cls, v: Any) -> Any:
        for name in v:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"argument name {name!r}: use vLLM's name in snake_case (max_model_len)")
        return v


class Rule(_Strict):
    """One known cause: how to recognise it in a log, and what to tell the user."""

    id: str = Field(pattern=ID_PATTERN, description="a taxonomy id, or <taxonomy-id>.<variant>")
    title: str = Field(min_length=3)
    severity: Severity
    confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    tags: list[str] = Field(default_factory=list)
    role: Literal["cause", "consequence", "fallback"] = Field(
        default="cause",
        description="a consequence (NCCL timeout on the other ranks, engine died) is folded under a cause when one is "
        "found; a fallback (a generic answer such as an internal error raised in vLLM's code) is reported only when no "
        "other rule finds an alarm-level cause",
    )
    priority: int = Field(default=0, description="breaks ties between causes; higher comes first")
    folds: list[str] = Field(
        default_factory=list, description="rule ids that this one explains: when both fire they fold under it"
    )
    cause: str = Field(min_length=10)
    fix: list[str | FixStep] = Field(
        min_length=1, description="steps; a step may use values from the log ({name}) with a generic fallback"
    )
    docs: list[str] = Field(default_factory=list)
    probe: str | None = Field(default=None, description="name of a live probe that can confirm it")
    live: Live | None = Field(
        default=None,
        description="a hang: the log stops (or a line is missing) rather than shows an error; in --follow mode it is "
        "reported only after `silent_for` seconds of silence",
    )
    match: Condition
    confirm: Condition | None = Field(
        default=None,
        description="positive evidence that raises the diagnosis to its severity; without it, it is reported as info",
    )


CONDITION_KEYS: tuple[str, ...] = tuple(_KEYS)
"""The keys that make a mapping a condition."""

_MODELS: tuple[type[BaseModel], ...] = (Rule, Live, FixStep, *_KEYS.values(), ExceptionSpec, FrameSpec, FactSpec)
FIELD_NAMES: frozenset[str] = frozenset(name for model in _MODELS for name in model.model_fields) | {"else"}
"""Every field a rule file may hold at some level: a misspelt one is matched against these."""


def rule_json_schema() -> dict[str, Any]:
    """JSON Schema of a rule file, for editors (yaml-language-server)."""
    schema = Rule.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "logclassify rule"
    return schema
