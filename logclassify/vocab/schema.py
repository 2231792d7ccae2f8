"""The shape of each vocabulary file (rules/_vocab/*.yaml), checked when the files are read (not from the cache).

The models only validate: what the readers get is the plain data (`model_dump`), with every `{{NAME}}` of a
pattern replaced by the file's `defines`, so that it can be cached as JSON.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import regex
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME = r"^[a-z][a-z0-9_]*$"
FACT_NAME = r"^(?:[a-z][a-z0-9_]*|env\.\*|hang\.[a-z_]+)$"
_DEFINE = re.compile(r"\{\{(\w+)\}\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def expand(pattern: str, defines: dict[str, str]) -> str:
    """`pattern` with each `{{NAME}}` replaced by its definition; an unknown name is an error."""

    def one(m: re.Match[str]) -> str:
        if m[1] not in defines:
            raise ValueError(f"unknown {{{{{m[1]}}}}} (defined: {', '.join(defines) or 'none'})")
        return defines[m[1]]

    return _DEFINE.sub(one, pattern)


def compiles(pattern: str, flags: int = 0) -> str:
    try:
        regex.compile(pattern, regex.V0 | flags)
    except regex.error as exc:
        raise ValueError(f"bad regex: {exc}") from None
    return pattern


class Pattern(_Strict):
    """A regex with its flags, as the vocabulary files write it."""

    pattern: str = Field(min_length=1)
    ignore_case: bool = False
    dotall: bool = False

    @property
    def flags(self) -> int:
        return (regex.IGNORECASE if self.ignore_case else 0) | (regex.DOTALL if self.dotall else 0)

    @model_validator(mode="after")
    def _compile(self) -> Pattern:
        compiles(self.pattern, self.flags)
        return self


class _WithDefines(_Strict):
    defines: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _expand(cls, data: Any) -> Any:
        """Replace `{{NAME}}` everywhere a `pattern`/`value` string appears, before the fields are checked."""
        if not isinstance(data, dict):
            return data
        defines = data.get("defines") or {}
        if not isinstance(defines, dict):
            return data

        def walk(v: Any, key: str | None) -> Any:
            if isinstance(v, dict):
                return {k: walk(x, k) for k, x in v.items()}
            if isinstance(v, list):
                return [walk(x, key) for x in v]
            if isinstance(v, str) and key in ("pattern", "value", "not_a_setting") and "{{" in v:
                return expand(v, {str(k): str(x) for k, x in defines.items()})
            return v

        return {k: (v if k == "defines" else walk(v, k)) for k, v in data.items()}


# -- phases.yaml ---------------------------------------------------------------------------------------------


class Phase(_Strict):
    name: str = Field(pattern=NAME)
    label: str = Field(min_length=3)


class Marker(_Strict):
    phase: str = Field(pattern=NAME)
    kind: Literal["start", "progress", "end", "ready"]
    literal: str = Field(min_length=3)
    pattern: str | None = None
    ignore_case: bool = False

    @model_validator(mode="after")
    def _check(self) -> Marker:
        if self.pattern is not None:
            compiles(self.pattern, regex.IGNORECASE if self.ignore_case else 0)
        if (self.kind == "ready") != (self.phase == "ready"):
            raise ValueError("kind `ready` goes with phase `ready`, and only with it")
        return self


class Waiting(Pattern):
    name: str = Field(min_length=3)
    literal: str = Field(min_length=3)


class PhasesFile(_WithDefines):
    phases: list[Phase] = Field(min_length=1)
    markers: list[Marker] = Field(min_length=1)
    waiting: list[Waiting] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self) -> PhasesFile:
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError(f"phases: a name is listed twice: {names}")
        for i, mk in enumerate(self.markers):
            if mk.phase not in names and mk.phase != "ready":
                raise ValueError(f"markers[{i}].phase: unknown phase {mk.phase!r}; phases: {', '.join(names)}")
        return self


# -- facts.yaml ----------------------------------------------------------------------------------------------


class FactType(_Strict):
    type: Literal["version", "int", "text", "flag", "list"]
    about: str | None = None
    derived: bool = False


class Extractor(Pattern):
    name: str = Field(pattern=r"^(?:[a-z][a-z0-9_]*|env\.[A-Z][A-Z0-9_]*)$")
    literals: list[str] = Field(min_length=1)
    value: str | None = Field(default=None, description="a fixed value instead of the pattern's first group")
    also: list[str] = Field(default_factory=list, description="one of these must be on the line too")

    @model_validator(mode="after")
    def _group(self) -> Extractor:
        if self.value is None and regex.compile(self.pattern, self.flags).groups < 1:
            raise ValueError("pattern needs a group (the value), or give a fixed `value`")
        return self


class EnvSpec(_Strict):
    literals: list[str] = Field(min_length=1)
    pattern: str
    not_a_setting: str

    @field_validator("pattern")
    @classmethod
    def _groups(cls, v: str) -> str:
        names = regex.compile(v).groupindex
        if not {"name", "value"} <= set(names):
            raise ValueError("needs the named groups `name` and `value`")
        return v

    @field_validator("not_a_setting")
    @classmethod
    def _compiles(cls, v: str) -> str:
        return compiles(v, regex.IGNORECASE)


class CollectEnvKey(_Strict):
    name: str = Field(pattern=NAME)
    key: str = Field(min_length=2)
    value: str

    @field_validator("value")
    @classmethod
    def _value(cls, v: str) -> str:
        if regex.compile(compiles(v)).groups < 1:
            raise ValueError("needs a group (the value)")
        return v


class CollectEnv(_Strict):
    keys: list[CollectEnvKey]
    packages: dict[str, str]


class FactsFile(_WithDefines):
    facts: dict[str, FactType]
    extractors: list[Extractor] = Field(min_length=1)
    env: EnvSpec
    collect_env: CollectEnv

    @field_validator("facts")
    @classmethod
    def _fact_names(cls, v: dict[str, FactType]) -> dict[str, FactType]:
        for name in v:
            if not regex.match(FACT_NAME, name):
                raise ValueError(f"bad fact name {name!r} (lower_case, env.*, or hang.NAME)")
        return v

    @model_validator(mode="after")
    def _known(self) -> FactsFile:
        known = set(self.facts)
        produced = [(f"extractors[{i}].name", e.name) for i, e in enumerate(self.extractors)]
        produced += [(f"collect_env.keys[{i}].name", k.name) for i, k in enumerate(self.collect_env.keys)]
        produced += [(f"collect_env.packages.{p}", n) for p, n in self.collect_env.packages.items()]
        for where, name in produced:
            if name not in known and not (name.startswith("env.") and "env.*" in known):
                raise ValueError(f"{where}: fact {name!r} is not declared under `facts:`")
        return self


# -- wrappers.yaml, fingerprint.yaml, debug.yaml ---------------------------------------------------------------


class WrapperMessage(Pattern):
    @model_validator(mode="after")
    def _inner(self) -> WrapperMessage:
        if "inner" not in regex.compile(self.pattern, self.flags).groupindex:
            raise ValueError("a wrapper message needs the named group `inner` (the wrapped error)")
        return self


class WrappersFile(_Strict):
    messages: list[WrapperMessage] = Field(min_length=1)
    types: list[str] = Field(min_length=1)
    see_above: Pattern
    lines: Pattern


class Mask(Pattern):
    replace: str


class FingerprintFile(_Strict):
    masks: list[Mask] = Field(min_length=1)


class Switch(_Strict):
    name: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    active: str = Field(description="regex full-matched against the value, ignoring case")
    harm: str = Field(min_length=10)
    fix: str = Field(min_length=5)
    rule: bool = Field(description="whether the debug-env-left-on rule reports it")

    @field_validator("active")
    @classmethod
    def _active(cls, v: str) -> str:
        return compiles(v, regex.IGNORECASE)


class DebugFile(_Strict):
    switches: list[Switch] = Field(min_length=1)


FILES: dict[str, type[BaseModel]] = {
    "phases": PhasesFile,
    "facts": FactsFile,
    "wrappers": WrappersFile,
    "fingerprint": FingerprintFile,
    "debug": DebugFile,
}
"""Each vocabulary file (rules/_vocab/NAME.yaml) and its model."""
