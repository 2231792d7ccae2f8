"""Facts read from a log: versions, engine, GPUs, parallel sizes, model, env vars. Rules can require them.

Each extractor is a regex with one group, tried only on lines that contain one of its literals (so the scan stays
fast). The last value seen wins, except for GPU names, which accumulate. The extractors, the fact names and their
types are data (rules/_vocab/facts.yaml): a new wording of a fact needs no Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import regex

from logclassify.lazyre import LazyPattern, lazy
from logclassify.read.lineindex import LineIndex
from logclassify.read.logline import LogLine
from logclassify.vocab import pattern, vocab


@dataclass(slots=True, frozen=True)
class Fact:
    """One fact and the line it was read from (its evidence)."""

    name: str
    value: str
    line: int
    text: str


@dataclass(frozen=True)
class _Extractor:
    name: str
    literals: tuple[str, ...]
    pattern: LazyPattern
    value: str | None = None  # a fixed value instead of the captured group
    also: tuple[str, ...] = ()  # one of these must be on the line too (checked before the regex, not a marker)


_VOCAB = vocab()["facts"]  # rules/_vocab/facts.yaml
TYPES: dict[str, str] = {name: spec["type"] for name, spec in _VOCAB["facts"].items()}
"""Every fact a rule may name (`env.*`: any environment variable) and its type: version, int, text, flag, list."""

EXTRACTORS: tuple[_Extractor, ...] = tuple(
    _Extractor(d["name"], tuple(d["literals"]), pattern(d), d["value"], tuple(d["also"])) for d in _VOCAB["extractors"]
)

# Environment variables that matter for diagnosis, seen set in the log (env dumps, commands, docker -e).
_ENV_LITERALS: tuple[str, ...] = tuple(_VOCAB["env"]["literals"])
_ENV = lazy(_VOCAB["env"]["pattern"])
# Sentences that mention a variable without it being set: hints, suggestions, deprecation notices.
_NOT_A_SETTING = lazy(_VOCAB["env"]["not_a_setting"], regex.IGNORECASE)


def known_fact(name: str) -> bool:
    """Whether a rule may name this fact (`env.NAME` for any variable)."""
    return name in TYPES or (name.startswith("env.") and "env.*" in TYPES)


def guard_literals() -> tuple[str, ...]:
    """Literals extractors also need on a line (not markers: they do not keep lines by themselves)."""
    return tuple(dict.fromkeys(a for ex in EXTRACTORS for a in ex.also))


def literals() -> tuple[str, ...]:
    """Every literal a fact line contains: the prefilter keeps these lines."""
    lits: list[str] = list(_ENV_LITERALS)
    for ex in EXTRACTORS:
        lits.extend(ex.literals)
    return tuple(dict.fromkeys(lits))


_BY_LITERAL: dict[str, list[int]] = {}  # literal -> the extractors (by index) it is one of
for _k, _ex in enumerate(EXTRACTORS):
    for _lit in _ex.literals:
        _BY_LITERAL.setdefault(_lit, []).append(_k)
_ALL_LITERALS = tuple(_BY_LITERAL)


def _extractors_to_try(index: LineIndex) -> Sequence[int]:
    """The extractors (by index, in order) one of whose literals may be in the input: all of them unless the index
    can rule literals out, then those of the few literals left (one ask, not one per extractor)."""
    if index.screen is None:
        return range(len(EXTRACTORS))
    return sorted({k for lit in index.maybe_present(_ALL_LITERALS) for k in _BY_LITERAL[lit]})


def extract_facts(lines: Iterable[LogLine], index: LineIndex | None = None) -> list[Fact]:
    """All facts found, in input order. Each extractor looks only at the lines that hold one of its literals."""
    lines = lines if isinstance(lines, Sequence) else list(lines)
    index = index if index is not None else LineIndex(lines)
    extractors = EXTRACTORS
    found: list[tuple[int, int, Fact]] = []  # (line index, extractor index, fact): sorted into input order
    for k in _extractors_to_try(index):
        ex = extractors[k]
        rows = index.lines_with_any(ex.literals)
        if ex.also and rows:
            rows = sorted(set(rows).intersection(index.lines_with_any(ex.also)))
        for i in rows:
            msg = lines[i].message
            if not any(lit in msg for lit in ex.literals) or (ex.also and not any(a in msg for a in ex.also)):
                continue
            m = ex.pattern.search(msg)
            if m is not None:
                value = ex.value if ex.value is not None else m.group(1).strip()
                found.append((i, k, Fact(ex.name, value, lines[i].number, msg.strip())))
    for i in index.lines_with_any(_ENV_LITERALS):
        msg = lines[i].message
        if any(lit in msg for lit in _ENV_LITERALS) and not _NOT_A_SETTING.search(msg):
            for m in _ENV.finditer(msg):
                value = m["value"].rstrip(".:")
                if value:
                    found.append((i, len(extractors), Fact(f"env.{m['name']}", value, lines[i].number, msg.strip())))
    found.sort(key=lambda f: (f[0], f[1]))  # stable: several env vars of one line keep their order
    return [f for _, _, f in found]


def index_facts(facts: Iterable[Fact]) -> dict[str, list[Fact]]:
    """Facts by name, for `fact:` conditions, with the derived `gpu_count` (read from the last GPU line)."""
    out: dict[str, list[Fact]] = {}
    for f in facts:
        out.setdefault(f.name, []).append(f)
    gpus = out.get("gpu_names")
    if gpus:
        last = gpus[-1]
        out["gpu_count"] = [Fact("gpu_count", str(gpu_count(gpus)), last.line, last.text)]
    return out


def gpu_count(gpu_facts: Iterable[Fact]) -> int:
    """One line per GPU; a repeated paste of the same line counts once."""
    return len({f.text for f in gpu_facts})


def summarize_facts(facts: Iterable[Fact]) -> dict[str, Any]:
    """The facts as a JSON-ready dict: last value wins; GPU names accumulate; env vars nest under `env`."""
    out: dict[str, Any] = {}
    env: dict[str, str] = {}
    gpus: list[Fact] = []
    for f in facts:
        if f.name.startswith("env."):
            env[f.name[4:]] = f.value
        elif f.name.startswith("hang."):
            continue
        elif f.name == "gpu_names":
            gpus.append(f)
        elif TYPES.get(f.name) == "int":
            out[f.name] = int(f.value)
        elif f.name == "engine" and out.get("engine") == "V1":
            continue  # once any V1 marker is seen the engine is V1
        else:
            out[f.name] = f.value
    if gpus:
        names = [f.value for f in gpus]
        out["gpu_names"] = sorted(set(names), key=names.index)
        out["gpu_count"] = gpu_count(gpus)
    if env:
        out["env"] = env
    return out
