"""Every fixture yields exactly its expected ids and evidence lines, and every rule is proven by at least two
positive fixtures.

A new rule that steals another rule's fixtures, one that fires on a healthy log, or a change that moves the line a
diagnosis rests on, fails here (`logclassify rules test --update` re-blesses after a deliberate change).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from logclassify import Classifier
from logclassify.engine.fixtures import bless, check_fixture, find_fixtures, per_rule, run_fixtures
from tests.conftest import run_cli

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
    assert not result.diff, "\n".join(result.diff)


def test_every_rule_has_two_positive_fixtures(classifier: Classifier) -> None:
    results = [check_fixture(classifier, exp, log) for exp, log in CASES]
    rows = per_rule(results, [r.id for r in classifier.rules])
    few = [row.rule for row in rows if row.positives < 2 and not row.rule.startswith("(")]
    assert not few, f"rules with fewer than 2 positive fixtures: {few}"


def test_every_fixture_names_its_source() -> None:
    import yaml

    missing = [str(e) for e, _ in CASES if not (yaml.safe_load(e.read_text()) or {}).get("source")]
    assert not missing, missing


def _fixture(d: Path, name: str, log: str, expect: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.log").write_text(log)
    path = d / f"{name}.expect.yaml"
    path.write_text(expect)
    return path


OOM = "INFO 05-01 10:00:00 [core.py:1] starting\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB\n"


def test_old_form_accepts_a_variant_and_the_new_form_checks_id_and_lines(classifier: Classifier, tmp_path: Path) -> None:
    exp = _fixture(tmp_path, "oom", OOM, "expect: [cuda-oom]\nsource: synthetic\n")
    res = check_fixture(classifier, exp, tmp_path / "oom.log")
    assert res.ok and not res.pinned and res.report is not None
    assert bless(exp, res.report) and not bless(exp, res.report)  # a second bless changes nothing
    text = exp.read_text()
    assert text.startswith("expect:\n  - id: cuda-oom\n    evidence:\n      - {line: 2, text: 'torch.OutOfMemoryError: CUDA")
    assert text.endswith("source: synthetic\n")
    assert check_fixture(classifier, exp, tmp_path / "oom.log").ok
    exp.write_text(text.replace("{line: 2,", "{line: 1,"))
    res = check_fixture(classifier, exp, tmp_path / "oom.log")
    assert not res.ok and res.diff[0].startswith("- cuda-oom line 1: torch.OutOfMemoryError")
    assert res.diff[1].startswith("+ cuda-oom line 2: torch.OutOfMemoryError")
    exp.write_text("expect:\n  - id: cuda\n")  # exact: a variant or a parent id does not count
    assert check_fixture(classifier, exp, tmp_path / "oom.log").diff == ["- cuda", "+ cuda-oom"]


@pytest.mark.parametrize("pin", ["{line: 2, text: ''}", "{line: 2, text: '  '}", "{line: 2}", "{line: 2, text: 7}"])
def test_an_empty_pinned_text_is_refused_with_file_line_and_field(classifier: Classifier, tmp_path: Path,
                                                                  pin: str) -> None:
    """An empty text is a prefix of every line: such a pin would pass whatever the evidence line says."""
    exp = _fixture(tmp_path, "oom", OOM, f"source: synthetic\nexpect:\n  - id: cuda-oom\n    evidence:\n      - {pin}\n")
    res = check_fixture(classifier, exp, tmp_path / "oom.log")
    assert not res.ok and res.error is not None
    assert res.error.startswith(f"{exp}:5: expect[0].evidence[0].text: "), res.error
    if pin.endswith("''}"):  # the command shows the same error and fails
        proc = run_cli("rules", "test", "--fixtures", str(tmp_path))
        assert proc.returncode == 1 and "oom.expect.yaml:5: expect[0].evidence[0].text: " in proc.stdout.decode()


def test_update_rewrites_only_what_differs(classifier: Classifier, tmp_path: Path) -> None:
    stale = _fixture(tmp_path, "stale", OOM, "expect: []\nnote: wrong on purpose\n")
    _fixture(tmp_path, "healthy", "INFO 05-01 10:00:00 [core.py:1] all good\n", "expect: []\n")
    (first, second) = run_fixtures(classifier, [tmp_path], update=True)
    assert (first.path.name, first.ok, first.updated) == ("healthy.log", True, False)
    assert (second.ok, second.updated) == (False, True)
    assert "note: wrong on purpose" in stale.read_text()
    assert all(r.ok for r in run_fixtures(classifier, [tmp_path]))


def test_rules_test_on_ones_own_folder_shows_only_its_rules(tmp_path: Path) -> None:
    rules, fixtures = tmp_path / "my-rules", tmp_path / "my-fixtures"
    rules.mkdir()
    (rules / "my-boom.yaml").write_text(
        "id: my-boom\ntitle: my boom\nseverity: error\ncause: my library went boom.\nfix: [stop it]\n"
        "match:\n  contains: MyLib boom\n")
    # fixtures kept beside the rule are not read as rules
    _fixture(rules / "fixtures", "in-rules", "MyLib boom\n", "expect: [my-boom]\n")
    _fixture(rules, "beside", "MyLib boom\n", "expect: [my-boom]\n")
    _fixture(fixtures, "one", "RuntimeError: MyLib boom\n", "expect: [my-boom]\n")
    _fixture(fixtures, "two", "MyLib boom again\n", "expect:\n  - id: my-boom\n    evidence:\n      - {line: 9, text: MyLib}\n")
    proc = run_cli("rules", "test", "--rules", str(rules), "--fixtures", str(fixtures))
    out = proc.stdout.decode()
    assert proc.returncode == 1, out
    table = out.splitlines()
    assert [ln.split()[0] for ln in table[1:3]] == ["my-boom", "(negative"] and table[3].startswith("FAIL ")
    assert "FAIL " in out and "    - my-boom line 9: " in out and "    + my-boom line 1: MyLib boom again" in out
    proc = run_cli("rules", "test", "--rules", str(rules), "--fixtures", str(fixtures), "--update")
    assert proc.returncode == 0 and "UPDATED" in proc.stdout.decode()
    assert run_cli("rules", "test", "--rules", str(rules), "--fixtures", str(fixtures)).returncode == 0


def test_without_fixtures_the_commands_say_so(tmp_path: Path) -> None:
    """An installed wheel has no fixtures/: list and show say so instead of showing 0 for every rule."""
    import shutil

    from logclassify.engine.fixtures import NO_FIXTURES

    env = {"PYTHONPATH": str(tmp_path)}
    pkg = tmp_path / "logclassify"  # a copy of the package with its rules inside, as a wheel lays it out

    shutil.copytree(Path(__file__).resolve().parent.parent / "logclassify", pkg,
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(Path(__file__).resolve().parent.parent / "rules", pkg / "_rules")
    proc = run_cli("rules", "list", env={**env, "LOGCLASSIFY_CACHE_DIR": str(tmp_path / "c")}, cwd=tmp_path)
    assert proc.returncode == 0 and NO_FIXTURES in proc.stderr.decode()
    proc = run_cli("rules", "test", env={**env, "LOGCLASSIFY_CACHE_DIR": str(tmp_path / "c")}, cwd=tmp_path)
    assert proc.returncode == 2 and NO_FIXTURES in proc.stderr.decode()
