"""Find, parse and validate rule files; errors name the file, the rule id and the field."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from logclassify.engine.literals import MIN_LITERAL
from logclassify.engine.match import LineRegex, Literals, LogEndsIn, Matcher, compile_condition, keep_literals, walk
from logclassify.models import Severity
from logclassify.vocab import builtin_rules_dir as builtin_rules_dir  # re-exported: where the rules are

if TYPE_CHECKING:  # pydantic validates rule files; compiled (and cached) rules do not need it
    from logclassify.engine.schema import Rule


class RuleError(Exception):
    """One or more rule files are invalid. `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RuleInfo:
    """What a rule tells the user (everything but its conditions, which are compiled into matchers)."""

    id: str
    title: str
    severity: Severity
    confidence: float
    tags: tuple[str, ...]
    role: str
    priority: int
    folds: tuple[str, ...]
    cause: str
    fix: tuple[str, ...]
    docs: tuple[str, ...]
    probe: str | None
    silent_for: float | None = None  # a hang rule (`live:`): seconds of silence before --follow reports it

    @classmethod
    def of(cls, rule: Rule) -> RuleInfo:
        return cls(
            id=rule.id, title=rule.title, severity=rule.severity, confidence=rule.confidence, tags=tuple(rule.tags),
            role=rule.role, priority=rule.priority, folds=tuple(rule.folds), cause=rule.cause, fix=tuple(rule.fix),
            docs=tuple(rule.docs), probe=rule.probe, silent_for=float(rule.live.silent_for) if rule.live else None,
        )


@dataclass(frozen=True)
class CompiledRule:
    rule: RuleInfo
    path: Path
    matcher: Matcher
    confirm: Matcher | None
    required: tuple[Literals, ...] | None  # each must be satisfied for the rule to be a candidate
    keep: tuple[Literals, ...]  # lines any condition may look at
    reads_ending: bool = False  # uses `log_ends_in`: evaluated after the other rules (see Classifier)

    @property
    def id(self) -> str:
        return self.rule.id


def rule_files(directory: Path) -> list[Path]:
    """The rule files of a folder: `*.yaml`/`*.yml`, except fixture expectations (`*.expect.yaml`), files and
    folders whose name starts with `_` (the vocabulary in `_vocab/`) and `fixtures` folders."""
    if directory.is_file():
        return [directory]
    if not directory.is_dir():
        raise RuleError([f"{directory}: no such rules directory"])
    out = []
    for p in directory.rglob("*.y*ml"):
        parts = p.relative_to(directory).parts
        if p.suffix not in (".yaml", ".yml") or p.name.endswith((".expect.yaml", ".expect.yml")):
            continue
        if any(part.startswith("_") or part == "fixtures" for part in parts):
            continue
        out.append(p)
    return sorted(out)


def _loc(loc: Sequence[int | str]) -> str:
    """pydantic's location, readable: match.all[2].none[0].regex (the union's tag repeats the key: drop it)."""
    out = ""
    prev: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part != prev:
            out += f".{part}" if out else str(part)
        prev = part
    return out or "(rule)"


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def parse_rule_file(path: Path) -> tuple[Rule | None, list[str]]:
    import yaml  # only when rules are (re)compiled: a run with cached rules does not need it
    from pydantic import ValidationError

    from logclassify.engine.schema import Rule

    where = _display(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        return None, [f"{where}{pos}: invalid YAML: {getattr(exc, 'problem', exc)}"]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{where}: cannot read: {exc}"]
    if not isinstance(data, dict):
        return None, [f"{where}: a rule file must hold a mapping, got {type(data).__name__}"]
    rid = data.get("id", "?")
    try:
        return Rule.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: rule {rid}: {_loc(err['loc'])}: {msg}")
        return None, problems


def compile_rule(rule: Rule, path: Path) -> CompiledRule:
    matcher = compile_condition(rule.match)
    confirm = compile_condition(rule.confirm) if rule.confirm is not None else None
    required = matcher.literals()
    keep = keep_literals(matcher) + (keep_literals(confirm) if confirm else [])
    reads_ending = any(isinstance(m, LogEndsIn) for m in walk(matcher))
    return CompiledRule(
        RuleInfo.of(rule), path, matcher, confirm, tuple(required) if required else None, tuple(keep), reads_ending
    )


def load_rule_dirs(dirs: Iterable[Path]) -> list[CompiledRule]:
    """Load every rule under the directories; raise RuleError listing every problem (duplicates too)."""
    problems: list[str] = []
    compiled: list[CompiledRule] = []
    seen: dict[str, Path] = {}
    for d in dirs:
        try:
            files = rule_files(d)
        except RuleError as exc:
            problems.extend(exc.problems)
            continue
        for path in files:
            rule, errs = parse_rule_file(path)
            problems.extend(errs)
            if rule is None:
                continue
            if rule.id in seen:
                problems.append(
                    f"{_display(path)}: rule {rule.id}: id: duplicate id, already defined in {_display(seen[rule.id])}"
                )
                continue
            seen[rule.id] = path
            compiled.append(compile_rule(rule, path))
    if problems:
        raise RuleError(problems)
    return compiled


def literal_warnings(rule: CompiledRule) -> list[str]:
    """Conditions the one-pass scan cannot find by themselves: their lines are seen only near other hits."""
    out = []
    for m in (*walk(rule.matcher), *(walk(rule.confirm) if rule.confirm else ())):
        if isinstance(m, LineRegex) and not m.literals():
            out.append(f"regex {m.source!r} contains no literal of {MIN_LITERAL}+ characters; "
                       "its lines are only seen near other matches (anchor it on distinctive text)")
    return out


def hang_limits(rules: Iterable[CompiledRule]) -> dict[str, float]:
    """Seconds of silence after which `--follow` reports a hang, from the rules' `live: {silent_for: N}`: per
    startup phase (the phases a rule's `log_ends_in` names), and `other` for hang rules outside a phase. When two
    rules name one phase, the shorter limit wins."""
    from logclassify.parse.phases import PHASES

    limits: dict[str, float] = {}
    for r in rules:
        if r.rule.silent_for is None:
            continue
        phases = sorted({p for m in walk(r.matcher) if isinstance(m, LogEndsIn) for p in m.phases}) or ["other"]
        for phase in phases:
            limits[phase] = min(limits.get(phase, r.rule.silent_for), r.rule.silent_for)
    order = {name: i for i, name in enumerate((*PHASES, "other"))}
    return dict(sorted(limits.items(), key=lambda kv: order.get(kv[0], len(order))))
