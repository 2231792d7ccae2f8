"""Find, parse and validate rule files; errors name the file, the rule id and the field."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logclassify.engine.match import Literals, LogEndsIn, Matcher, compile_condition, keep_literals, walk
from logclassify.models import Severity
from logclassify.vocab import builtin_rules_dir as builtin_rules_dir  # re-exported: where the rules are
from logclassify.vocab.located import display

MAX_RULE_FILE_BYTES = 1 << 20  # a rule file larger than this is refused unread (docs/limits.md)

if TYPE_CHECKING:  # pydantic validates rule files; compiled (and cached) rules do not need it
    from logclassify.engine import schema
    from logclassify.engine.schema import Rule
    from logclassify.engine.validators import Finding, ParsedRule


class RuleError(Exception):
    """One or more rule files are invalid. `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Edit:
    """A change a fix step makes to the user's command: set / add / remove an argument (value as the rule wrote it)."""

    action: str
    name: str
    value: str | None = None


@dataclass(frozen=True)
class When:
    """A condition of a fix step: the named value is one of these."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    """A fix step: its text, the generic text used when a value in it is unknown, its conditions and edits."""

    text: str
    otherwise: str | None = None
    when: tuple[When, ...] = ()
    edits: tuple[Edit, ...] = ()
    conditional: bool = False  # written as a mapping (`text:`): shown only when its values are known

    @classmethod
    def of(cls, step: str | schema.FixStep) -> Step:
        if isinstance(step, str):
            return cls(step)
        edits = (
            *(Edit("set", k, str(v)) for k, v in step.set.items()),
            *(Edit("add", k, str(v)) for k, v in step.add.items()),
            *(Edit("remove", k) for k in step.remove),
        )
        when = tuple(When(k, tuple(v)) for k, v in step.when.items())
        return cls(step.text, step.otherwise, when, edits, conditional=True)


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
    fix: tuple[Step, ...]
    docs: tuple[str, ...]
    probe: str | None
    silent_for: float | None = None  # a hang rule (`live:`): seconds of silence before --follow reports it

    @classmethod
    def of(cls, rule: Rule) -> RuleInfo:
        return cls(
            id=rule.id, title=rule.title, severity=rule.severity, confidence=rule.confidence, tags=tuple(rule.tags),
            role=rule.role, priority=rule.priority, folds=tuple(rule.folds), cause=rule.cause,
            fix=tuple(Step.of(f) for f in rule.fix),
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


def _explain(err: Any, data: Any) -> str:
    """pydantic's message, with the misspelt key named and a near key suggested."""
    from logclassify.engine.schema import CONDITION_KEYS, FIELD_NAMES
    from logclassify.engine.validators import did_you_mean
    from logclassify.vocab.located import clean_loc

    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden" and err["loc"]:
        key = str(err["loc"][-1])
        if key in FIELD_NAMES:  # a real field in the wrong place (e.g. `within` under `any:`), not a misspelling
            return f"field `{key}` is not allowed here ({msg.lower()}); see rules/README.md for where it belongs"
        return f"unknown field `{key}`{did_you_mean(key, FIELD_NAMES)} ({msg.lower()})"
    if err["type"] == "union_tag_invalid":
        value: Any = data
        for part in clean_loc(err["loc"]):
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                break
        keys = [str(k) for k in value] if isinstance(value, dict) else []
        hints = ", ".join(f"`{k}`{did_you_mean(k, CONDITION_KEYS)}" for k in keys) or "no key"
        return f"not a condition: it has {hints}; a condition has one of {', '.join(CONDITION_KEYS)}"
    return msg


def parse_rule_file(path: Path) -> tuple[ParsedRule | None, list[str]]:
    """The rule in a file, with the line of each field, or one `file:line: rule ID: field: message` per problem."""
    from pydantic import ValidationError

    from logclassify.engine.schema import Rule
    from logclassify.engine.validators import ParsedRule
    from logclassify.vocab.located import field_path, line_of, read_located

    where = display(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return None, [f"{where}: cannot read: {exc}"]
    if size > MAX_RULE_FILE_BYTES:  # refused before YAML or any regex sees it
        return None, [f"{where}: rule file of {size:,} bytes, above the limit of {MAX_RULE_FILE_BYTES:,} "
                      "(docs/limits.md)"]
    data, lines, unreadable = read_located(path, where, column=True)
    if unreadable:
        return None, unreadable
    if not isinstance(data, dict):
        return None, [f"{where}: a rule file must hold a mapping, got {type(data).__name__}"]
    rid = data.get("id", "?")
    try:
        return ParsedRule(Rule.model_validate(data), path, lines), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            line = line_of(lines, err["loc"])
            problems.append(f"{where}{f':{line}' if line else ''}: rule {rid}: {field_path(err['loc'])}: "
                            f"{_explain(err, data)}")
        return None, problems


def parse_rule_dirs(dirs: Iterable[Path]) -> tuple[list[ParsedRule], list[str]]:
    """Every rule file under the directories, parsed, and the problems found (duplicate ids too)."""
    problems: list[str] = []
    parsed: list[ParsedRule] = []
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
            rid = rule.rule.id
            if rid in seen:
                line = rule.line(("id",))
                problems.append(f"{display(path)}{f':{line}' if line else ''}: rule {rid}: id: duplicate id, "
                                f"already defined in {display(seen[rid])}")
                continue
            seen[rid] = path
            parsed.append(rule)
    return parsed, problems


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
    """Load every rule under the directories; raise RuleError listing every problem: schema errors, duplicate ids
    and the error-level findings of `engine.validators` (warnings do not stop the load)."""
    from logclassify.engine.validators import default_known, validate

    parsed, problems = parse_rule_dirs(dirs)
    problems += [str(f) for f in validate(parsed, default_known()) if f.severity == "error"]
    if problems:
        raise RuleError(problems)
    return [compile_rule(p.rule, p.path) for p in parsed]


@dataclass
class Review:
    """What `logclassify rules validate` reports: problems and error findings (which stop a load), warnings."""

    rules: int = 0
    problems: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return self.problems + [str(f) for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[str]:
        return [str(f) for f in self.findings if f.severity != "error"]


def review_rule_dirs(dirs: Sequence[Path], probes: Collection[str] | None = None) -> Review:
    """Every check on the rule folders, as loaded beside the built-in rules (an id that duplicates a built-in one,
    or a `match` equal to one, is an error; `folds` may name a built-in rule), and their `_vocab/` if they have one."""
    from logclassify.engine.validators import default_known, validate
    from logclassify.vocab import VocabError, load_vocab

    builtin = builtin_rules_dir().resolve()
    parsed, problems = parse_rule_dirs(dirs)
    context: list[ParsedRule] = []
    if all(d.resolve() != builtin for d in dirs):
        context, _ = parse_rule_dirs([builtin])
    builtin_ids = {c.rule.id: c.path for c in context}
    for p in parsed:
        if p.rule.id in builtin_ids:
            line = p.line(("id",))
            problems.append(f"{display(p.path)}{f':{line}' if line else ''}: rule {p.rule.id}: id: duplicates the "
                            f"built-in rule {display(builtin_ids[p.rule.id])}; choose another id (or a variant, "
                            f"{p.rule.id}.NAME)")
    for d in dirs:
        if (d / "_vocab").is_dir():
            try:
                load_vocab(d / "_vocab")
            except VocabError as exc:
                problems.extend(exc.problems)
    findings = validate(parsed, default_known(probes), context=context)
    return Review(len(parsed), problems, findings)


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
