"""`logclassify mine`: unknown failures grouped across versions, and a drafted rule that its fixtures prove."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from logclassify.cli import main
from logclassify.engine.classifier import Classifier, load_rules
from logclassify.engine.fixtures import run_fixtures
from logclassify.mine import TemplateMiner, draft_rule, mine, similarity, tokens

DATA = Path(__file__).parent / "data" / "mine"
LORA = ("lora-targets-v0.4.log", "lora-targets-v0.8.log")


@pytest.fixture(scope="module")
def bare() -> Classifier:
    """No rules at all, so every failure is unknown whatever the built-in pack grows to cover."""
    return Classifier(load_rules(builtin=False))


def _sources(group: object) -> set[str]:
    return {Path(s).name for s in group.sources}  # type: ignore[attr-defined]


def test_one_failure_from_two_versions_is_one_group(bare: Classifier) -> None:
    groups = mine([DATA], bare)
    lora = [g for g in groups if _sources(g) & set(LORA)]
    assert len(lora) == 1, [g.template for g in groups]
    assert _sources(lora[0]) == set(LORA)
    assert len(lora[0].fingerprints) == 2  # different fingerprints (paths, module lists), one template
    assert "expected target modules in" in lora[0].template and "<*>" in lora[0].template


def test_different_failures_stay_apart(bare: Classifier) -> None:
    groups = mine([DATA], bare)
    assert len(groups) == 3
    assert [g.size for g in groups] == [2, 1, 1]
    singles = {next(iter(_sources(g))) for g in groups if g.size == 1}
    assert singles == {"illegal-memory-access.log", "decoder-prompt-too-long.log"}


def test_different_exception_types_never_merge() -> None:
    miner = TemplateMiner()
    a = miner.add("ValueError: could not load the adapter weights from disk")
    b = miner.add("KeyError: could not load the adapter weights from disk")
    assert a is not b
    assert similarity(tokens("x y z"), tokens("x y z")) == 1.0


def test_draft_writes_a_rule_its_fixtures_prove(bare: Classifier, tmp_path: Path) -> None:
    lora = next(g for g in mine([DATA], bare) if g.size == 2)
    written, missed = draft_rule(lora, tmp_path, "lora-unexpected-target-modules", area="lora")
    assert missed == []
    rule = tmp_path / "rules" / "lora" / "lora-unexpected-target-modules.yaml"
    assert rule in written
    fixtures = sorted((tmp_path / "fixtures" / "lora").glob("*.expect.yaml"))
    assert len(fixtures) == 2
    # the drafted rule alone (the built-in pack now knows this LoRA failure too: lora-target-module-unsupported)
    results = run_fixtures(Classifier(load_rules(rule.parent, builtin=False)), [tmp_path / "fixtures"])
    assert results and all(r.ok for r in results), [(r.path, r.got, r.error) for r in results]
    # the draft generalises: it is not anchored on either file's paths or module lists
    match = json.dumps(yaml.safe_load(rule.read_text())["match"])
    assert "expected target modules in" in match
    assert "customer-support" not in match and "sql-lora" not in match and "lm_head" not in match


def test_draft_refuses_an_existing_rule_and_a_bad_id(bare: Classifier, tmp_path: Path) -> None:
    from logclassify.mine import DraftError

    lora = next(g for g in mine([DATA], bare) if g.size == 2)
    with pytest.raises(DraftError, match="lower-case"):
        draft_rule(lora, tmp_path, "Bad Id")
    draft_rule(lora, tmp_path, "lora-x")
    with pytest.raises(DraftError, match="exists"):
        draft_rule(lora, tmp_path, "lora-x")


def test_jsonl_backlog_names_its_sources(bare: Classifier, tmp_path: Path) -> None:
    backlog = tmp_path / "backlog.jsonl"
    rows = [{"url": f"https://example.invalid/issues/{n}", "body": (DATA / name).read_text()} for n, name in enumerate(LORA)]
    backlog.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n" + json.dumps({"title": "x"}) + "\n")
    problems: list[str] = []
    groups = mine([backlog], bare, problems=problems)
    assert [g.sources for g in groups] == [[r["url"] for r in rows]]
    assert any("not JSON" in p for p in problems) and any("no text field" in p for p in problems)


def test_cli_lists_groups_and_drafts(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    shutil.copytree(DATA, logs)
    empty_rules = tmp_path / "no-rules"
    empty_rules.mkdir()
    runner = CliRunner()
    out = runner.invoke(main, ["mine", str(logs), "--format", "json"])
    assert out.exit_code == 0, out.output
    groups = json.loads(out.stdout)
    assert groups[0]["size"] >= 1 and {"template", "sources", "excerpt", "fingerprints"} <= set(groups[0])
    bad = runner.invoke(main, ["mine", str(logs), "--draft", str(tmp_path / "d")])
    assert bad.exit_code == 2 and "--group" in bad.output
    text = runner.invoke(main, ["mine", str(logs)])
    assert text.exit_code == 0 and "template:" in text.stdout and "sources:" in text.stdout


_TOKEN = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"
_LEAKY = (
    "INFO 05-01 10:00:00 [api_server.py:1] vLLM API server version 0.9.0\n"
    "Traceback (most recent call last):\n"
    '  File "/app/serve.py", line 3, in <module>\n'
    "    login()\n"
    f"ZorkError: the hub refused token {_TOKEN} for user admin@example.com\n"
)


def test_mined_excerpts_and_drafted_fixtures_carry_no_secret(bare: Classifier, tmp_path: Path) -> None:
    """A backlog of issue bodies is public text: groups and drafted fixtures are redacted unless asked not to."""
    for name in ("a.log", "b.log"):
        (tmp_path / name).write_text(_LEAKY)
    (grp,) = mine([tmp_path], bare)
    shown = json.dumps(grp.to_json())
    assert "ZorkError" in shown and _TOKEN not in shown and "admin@example.com" not in shown
    written, _ = draft_rule(grp, tmp_path / "draft", "zork-token", area="hub")
    for path in written:
        assert _TOKEN not in path.read_text() and "admin@example.com" not in path.read_text(), path
    log = next(p for p in written if p.suffix == ".log")
    assert log.read_text().count("\n") == _LEAKY.count("\n")  # every line kept: evidence line numbers hold
    (kept,) = mine([tmp_path], bare, redact=False)
    assert _TOKEN in json.dumps(kept.to_json())


def test_cli_mine_redacts_unless_told_not_to(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(_LEAKY)
    runner = CliRunner()
    out = runner.invoke(main, ["mine", str(tmp_path)])
    assert out.exit_code == 0 and "ZorkError" in out.stdout and _TOKEN not in out.stdout
    raw = runner.invoke(main, ["mine", str(tmp_path), "--no-redact"])
    assert raw.exit_code == 0 and _TOKEN in raw.stdout
