"""Rule fixtures: labelled logs next to the rules, and the check that each yields exactly its expected ids."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from logclassify.engine.classifier import Classifier
from logclassify.engine.loader import builtin_rules_dir
from logclassify.engine.validators import Finding, ParsedRule
from logclassify.models import Diagnosis

LOG_SUFFIXES = (".log", ".md", ".txt", ".log.gz", ".gz", ".json", ".jsonl")


@dataclass
class FixtureResult:
    path: Path
    expected: list[str]
    got: list[str]
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra and self.error is None


def default_fixtures_dir() -> Path | None:
    """`fixtures/` beside the built-in `rules/` in a source checkout (a wheel ships rules, not fixtures)."""
    candidate = builtin_rules_dir().parent / "fixtures"
    return candidate if candidate.is_dir() else None


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


def load_expect(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("expect"), list):
        raise ValueError(f"{path}: needs a mapping with an `expect:` list of ids")
    return [str(x) for x in data["expect"]]


def check_fixture(classifier: Classifier, expect_path: Path, log_path: Path | None) -> FixtureResult:
    try:
        expected = load_expect(expect_path)
    except (ValueError, yaml.YAMLError) as exc:
        return FixtureResult(expect_path, [], [], error=str(exc))
    if log_path is None:
        return FixtureResult(expect_path, expected, [], error="no log file beside it (NAME.log / NAME.md ...)")
    report = classifier.classify_path(log_path)
    got = [d.id for d in report.diagnoses]
    missing = [e for e in expected if not any(_covers(e, g) for g in got)]
    extra = [g for g in got if not any(_covers(e, g) for e in expected)]
    return FixtureResult(log_path, expected, got, missing, extra)


def run_fixtures(classifier: Classifier, roots: Iterable[Path]) -> list[FixtureResult]:
    results: list[FixtureResult] = []
    for root in roots:
        for exp, log in find_fixtures(root):
            results.append(check_fixture(classifier, exp, log))
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
