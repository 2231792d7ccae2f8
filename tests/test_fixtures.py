"""Every fixture yields exactly its expected ids, and every rule is proven by at least two positive fixtures.

A new rule that steals another rule's fixtures, or one that fires on a healthy log, fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from logclassify import Classifier
from logclassify.engine.fixtures import check_fixture, find_fixtures, per_rule

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = find_fixtures(FIXTURES)


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier()


def test_there_are_fixtures() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize(("expect", "log"), CASES, ids=[str(e.relative_to(FIXTURES)) for e, _ in CASES])
def test_fixture_yields_exactly_its_expected_ids(classifier: Classifier, expect: Path, log: Path | None) -> None:
    result = check_fixture(classifier, expect, log)
    assert result.error is None, result.error
    assert not result.missing, f"missing {result.missing}; got {result.got}"
    assert not result.extra, f"unexpected {result.extra}; expected {result.expected}"


def test_every_rule_has_two_positive_fixtures(classifier: Classifier) -> None:
    results = [check_fixture(classifier, exp, log) for exp, log in CASES]
    rows = per_rule(results, [r.id for r in classifier.rules])
    few = [row.rule for row in rows if row.positives < 2 and not row.rule.startswith("(")]
    assert not few, f"rules with fewer than 2 positive fixtures: {few}"


def test_every_fixture_names_its_source() -> None:
    import yaml

    missing = [str(e) for e, _ in CASES if not (yaml.safe_load(e.read_text()) or {}).get("source")]
    assert not missing, missing
