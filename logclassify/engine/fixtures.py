"""Rule fixtures: labelled logs next to the rules, and the check that each yields exactly its expected diagnoses.

An expect file (`NAME.expect.yaml` beside `NAME.log`) names each id a log must yield, exactly (variants included),
and the evidence lines that prove it (line number, and the start of the line's text for the reader), with the
values from the log its answer uses and the corrected commands (none listed: none expected, the generic answer):

    expect:
      - id: cuda-oom
        evidence:
          - {line: 12, text: 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB'}
        values:
          - {name: oom_asked, value: '2.00 GiB', lines: [12]}
        commands:
          - {step: 3, command: 'vllm serve m --enforce-eager'}

The older form, `expect: [cuda-oom]`, still loads: such an id also accepts its variants (`cuda-oom.x`) and pins no
line. `logclassify rules test --update` rewrites every expect file in the new form from what the rules yield now, for
review in git after a deliberate change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from logclassify.engine.classifier import Classifier
from logclassify.engine.loader import builtin_rules_dir
from logclassify.engine.validators import Finding, ParsedRule
from logclassify.models import Diagnosis, Report
from logclassify.vocab.located import Loc, display, field_path, line_of, read_located

LOG_SUFFIXES = (".log", ".md", ".txt", ".log.gz", ".gz", ".json", ".jsonl")
PINNED_TEXT = 100  # characters of an evidence line kept in an expect file


@dataclass(frozen=True)
class Expected:
    """One diagnosis a fixture must yield: its id (exact, or also a variant in the old form) and evidence lines."""

    id: str
    exact: bool = True
    evidence: tuple[tuple[int, str], ...] | None = None  # None: lines not pinned
    values: tuple[tuple[str, str, tuple[int, ...]], ...] = ()  # (name, value, lines): pinned with the evidence
    commands: tuple[tuple[int, str], ...] = ()  # (fix step, corrected command)

    def covers(self, got: str) -> bool:
        return got == self.id or (not self.exact and got.startswith(self.id + "."))


@dataclass
class FixtureResult:
    path: Path
    expected: list[str]
    got: list[str]
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    error: str | None = None
    diff: list[str] = field(default_factory=list)  # `- expected` / `+ got` lines, ids and evidence
    report: Report | None = None
    updated: bool = False  # --update rewrote its expect file
    pinned: bool = True  # every expected id is exact and has its evidence lines (the form --update writes)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra and self.error is None and not self.diff


def default_fixtures_dir() -> Path | None:
    """`fixtures/` beside the built-in `rules/` in a source checkout. A wheel ships rules, not fixtures: None."""
    candidate = builtin_rules_dir().parent / "fixtures"
    return candidate if candidate.is_dir() else None


NO_FIXTURES = ("fixtures are not installed with the package (the wheel ships rules only): run from a source "
               "checkout, or give a folder with --fixtures DIR")


def _covers(expected: str, got: str) -> bool:
    return got == expected or got.startswith(expected + ".")


def find_fixtures(root: Path) -> list[tuple[Path, Path | None]]:
    """(expect file, log file or None when missing) for every `*.expect.yaml` under root."""
    out: list[tuple[Path, Path | None]] = []
    for exp in sorted(root.rglob("*.expect.yaml")):
        stem = exp.name[: -len(".expect.yaml")]
        log = next((exp.with_name(stem + s) for s in LOG_SUFFIXES if exp.with_name(stem + s).is_file()), None)
        out.append((exp, log))
    return out


class ExpectError(ValueError):
    """An expect file that cannot be checked; the message names the file, the line and the field."""


def _expected(item: Any, at: _Where) -> Expected:
    if isinstance(item, str):
        return Expected(item, exact=False)
    keys = {"id", "evidence", "values", "commands"}
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or set(item) - keys:
        raise at.error((), "an entry is an id, or a mapping with `id`, `evidence`, `values`, `commands`")
    pinned = item.get("evidence")
    if pinned is None:
        if "values" in item or "commands" in item:
            raise at.error(("values" if "values" in item else "commands",),
                           "`values` and `commands` are pinned with `evidence`")
        return Expected(item["id"])
    if not isinstance(pinned, list) or not all(isinstance(e, dict) and isinstance(e.get("line"), int) for e in pinned):
        raise at.error(("evidence",), "`evidence` is a list of {line: N, text: '...'}")
    for j, e in enumerate(pinned):
        # an empty text is a prefix of every line: the pin would hold whatever the line says
        if not isinstance(e.get("text"), str) or not e["text"].strip():
            raise at.error(("evidence", j, "text"), "the start of the evidence line's text is required and must not "
                           "be empty (an empty text matches any line); `rules test --update` writes it")
    values = item.get("values") or []
    if not isinstance(values, list) or not all(
        isinstance(v, dict) and isinstance(v.get("name"), str) and isinstance(v.get("lines"), list) for v in values
    ):
        raise at.error(("values",), "`values` is a list of {name: N, value: '...', lines: [N, ...]}")
    commands = item.get("commands") or []
    if not isinstance(commands, list) or not all(
        isinstance(c, dict) and isinstance(c.get("step"), int) and isinstance(c.get("command"), str) for c in commands
    ):
        raise at.error(("commands",), "`commands` is a list of {step: N, command: '...'}")
    return Expected(
        item["id"],
        evidence=tuple((e["line"], e["text"]) for e in pinned),
        values=tuple((v["name"], str(v.get("value", "")), tuple(v["lines"])) for v in values),
        commands=tuple((c["step"], c["command"]) for c in commands),
    )


@dataclass(frozen=True)
class _Where:
    """Where an expect entry lies (file, its lines, its location), to name file:line: field in an error."""

    path: Path
    lines: dict[Loc, int]
    loc: Loc

    def error(self, sub: Loc, message: str) -> ExpectError:
        loc = (*self.loc, *sub)
        line = line_of(self.lines, loc)
        return ExpectError(f"{display(self.path)}{'' if line is None else f':{line}'}: {field_path(loc)}: {message}")


def load_expectations(path: Path) -> list[Expected]:
    data, lines, problems = read_located(path, display(path))
    if problems:
        raise ExpectError(problems[0])
    if not isinstance(data, dict) or not isinstance(data.get("expect"), list):
        raise _Where(path, lines, ()).error(("expect",), "needs a mapping with an `expect:` list")
    return [_expected(item, _Where(path, lines, ("expect", i))) for i, item in enumerate(data["expect"])]


def load_expect(path: Path) -> list[str]:
    """The ids an expect file names (either form)."""
    return [e.id for e in load_expectations(path)]


def _pinned(d: Diagnosis) -> tuple[tuple[int, str], ...]:
    return tuple((e.line, " ".join(e.text.split())[:PINNED_TEXT]) for e in d.evidence)


def _evidence_diff(exp: Expected, d: Diagnosis) -> list[str]:
    """`-`/`+` lines where the diagnosis's evidence differs from the pinned lines (text: the pinned start)."""
    if exp.evidence is None:
        return []
    got = _pinned(d)
    same = len(got) == len(exp.evidence) and all(
        gl == el and gt.startswith(" ".join(et.split())) for (gl, gt), (el, et) in zip(got, exp.evidence, strict=True)
    )
    out = [] if same else [f"- {exp.id} line {line}: {text}" for line, text in exp.evidence] + [
        f"+ {d.id} line {line}: {text}" for line, text in got
    ]
    return out + _answer_diff(exp, d)


def _values(d: Diagnosis) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
    return tuple((v.name, v.value, tuple(v.lines)) for v in d.values)


def _commands(d: Diagnosis) -> tuple[tuple[int, str], ...]:
    return tuple((c.step, c.command) for c in d.commands)


def _answer_diff(exp: Expected, d: Diagnosis) -> list[str]:
    """`-`/`+` lines where the values from the log or the corrected commands differ from the pinned ones (a pinned
    fixture without `values` expects none: the generic answer)."""
    out: list[str] = []
    if sorted(_values(d)) != sorted(exp.values):
        out += [f"- {exp.id} value {n} = {v} (lines {list(ls)})" for n, v, ls in exp.values]
        out += [f"+ {d.id} value {n} = {v} (lines {list(ls)})" for n, v, ls in _values(d)]
    if _commands(d) != exp.commands:
        out += [f"- {exp.id} step {s}: {c}" for s, c in exp.commands]
        out += [f"+ {d.id} step {s}: {c}" for s, c in _commands(d)]
    return out


def check_fixture(classifier: Classifier, expect_path: Path, log_path: Path | None) -> FixtureResult:
    try:
        expected = load_expectations(expect_path)
    except (ValueError, yaml.YAMLError) as exc:
        return FixtureResult(expect_path, [], [], error=str(exc))
    ids = [e.id for e in expected]
    if log_path is None:
        return FixtureResult(expect_path, ids, [], error="no log file beside it (NAME.log / NAME.md ...)")
    report = classifier.classify_path(log_path)
    got = [d.id for d in report.diagnoses]
    missing = [e.id for e in expected if not any(e.covers(g) for g in got)]
    extra = [g for g in got if not any(e.covers(g) for e in expected)]
    diff = [f"- {m}" for m in missing] + [f"+ {x}" for x in extra]
    for exp in expected:
        d = next((d for d in report.diagnoses if d.id == exp.id), None)
        if d is not None:
            diff += _evidence_diff(exp, d)
    pinned = all(e.exact and e.evidence is not None for e in expected)
    return FixtureResult(log_path, ids, got, missing, extra, diff=diff, report=report, pinned=pinned)


def bless(expect_path: Path, report: Report) -> bool:
    """Rewrite an expect file from a report: exact ids and their evidence lines; other keys kept. True if changed."""
    old_text = expect_path.read_text(encoding="utf-8")
    data = yaml.safe_load(old_text)
    rest = {k: v for k, v in data.items() if k != "expect"} if isinstance(data, dict) else {}
    out = ["expect: []"] if not report.diagnoses else ["expect:"]
    for d in report.diagnoses:
        out.append(f"  - id: {d.id}")
        out.append("    evidence:")
        for line, text in _pinned(d):
            out.append(f"      - {{line: {line}, text: {_quote(text)}}}")
        if d.values:
            out.append("    values:")
            for name, value, lines in _values(d):
                out.append(f"      - {{name: {name}, value: {_quote(value)}, lines: {list(lines)}}}")
        if d.commands:
            out.append("    commands:")
            for step, command in _commands(d):
                out.append(f"      - {{step: {step}, command: {_quote(command)}}}")
    body = "\n".join(out) + "\n"
    if rest:
        body += yaml.safe_dump(rest, sort_keys=False, allow_unicode=True, width=10**6)
    if body == old_text:
        return False
    expect_path.write_text(body, encoding="utf-8")
    return True


def _quote(text: str) -> str:
    """A YAML single-quoted scalar (only `'` is special there)."""
    return "'" + text.replace("'", "''") + "'"


def run_fixtures(classifier: Classifier, roots: Iterable[Path], update: bool = False) -> list[FixtureResult]:
    """Check every fixture under the roots; with `update`, rewrite the expect file of each one that differs or is in
    the old form (its result then shows what was wrong before the rewrite)."""
    results: list[FixtureResult] = []
    for root in roots:
        for exp, log in find_fixtures(root):
            res = check_fixture(classifier, exp, log)
            if update and res.report is not None and res.error is None and not (res.ok and res.pinned):
                res.updated = bless(exp, res.report)
            results.append(res)
    return results


@dataclass
class RuleRow:
    rule: str
    positives: int = 0
    passed: int = 0
    failed: int = 0
    confused_with: set[str] = field(default_factory=set)


def per_rule(results: Sequence[FixtureResult], rule_ids: Iterable[str]) -> list[RuleRow]:
    """One row per rule: its positive fixtures, how many pass, which other rules fired instead or as well."""
    rows = {rid: RuleRow(rid) for rid in sorted(rule_ids)}
    negatives = RuleRow("(negative fixtures)")
    for res in results:
        owners = [
            rid
            for rid in rows
            if rid in res.expected or (rid in res.got and any(_covers(e, rid) for e in res.expected))
        ]
        targets = [rows[o] for o in owners] or ([negatives] if not res.expected else [])
        for row in targets:
            row.positives += 1 if row is not negatives else 0
            if res.ok:
                row.passed += 1
            else:
                row.failed += 1
                row.confused_with.update(res.extra)
    return [*rows.values(), negatives]


# -- which conditions the fixtures exercise ---------------------------------------------------------------------


def unexercised(parsed: Sequence[ParsedRule], roots: Iterable[Path]) -> list[Finding]:
    """A warning for each alternative (a child of an `any`, outside `none`) that holds in none of its rule's positive
    fixtures: nothing proves that it can fire, nor that it fires only where it should."""
    from logclassify.engine.loader import compile_rule
    from logclassify.engine.schema import AnyCond
    from logclassify.engine.validators import conditions

    branches: dict[str, tuple[ParsedRule, tuple[int | str, ...]]] = {}
    compiled = []
    for p in parsed:
        for loc, cond, negated in conditions(p.rule.match, ("match",)):
            if negated or not isinstance(cond, AnyCond):
                continue
            for i, child in enumerate(cond.any):
                bid = f"branch-{len(branches)}"
                branches[bid] = (p, (*loc, "any", i))
                probe = p.rule.model_copy(update={"id": bid, "match": child, "confirm": None, "folds": [],
                                                  "role": "cause", "live": None})
                compiled.append(compile_rule(probe, p.path))
    if not compiled:
        return []
    wanted = {p.rule.id for p, _ in branches.values()}
    fixtures = [(exp, log) for root in roots for exp, log in find_fixtures(root) if log is not None]
    probe_classifier = Classifier(compiled)
    held: set[str] = set()
    for exp, log in fixtures:
        try:
            expected = load_expect(exp)
        except (ValueError, yaml.YAMLError):
            continue
        owners = {rid for rid in wanted if any(_covers(e, rid) for e in expected)}
        if not owners:
            continue
        for d in _all_diagnoses(probe_classifier.classify_path(log).diagnoses):
            if branches[d.id][0].rule.id in owners:
                held.add(d.id)
    out = []
    for bid, (p, loc) in branches.items():
        if bid not in held:
            out.append(Finding("warning", "unexercised", p.path, p.rule.id, loc,
                               "no positive fixture of this rule shows this condition: add one whose log does",
                               p.line(loc)))
    return out


def _all_diagnoses(diagnoses: Iterable[Diagnosis]) -> Iterator[Diagnosis]:
    for d in diagnoses:
        yield d
        yield from _all_diagnoses(d.consequences)
