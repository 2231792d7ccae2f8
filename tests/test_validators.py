"""Checks that catch what a rule or vocabulary author wrote wrong, each fed a broken input; errors name file, line
and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from logclassify.vocab import FILES, VocabError, load_vocab, vocab_dir


def broken_vocab(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the built-in vocabulary with one text replaced in one file."""
    d = tmp_path / "_vocab"
    shutil.copytree(vocab_dir(), d)
    path = d / f"{name}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return d


def problems(d: Path) -> list[str]:
    with pytest.raises(VocabError) as err:
        load_vocab(d)
    return err.value.problems


def line_of(d: Path, name: str, text: str) -> int:
    return next(i for i, ln in enumerate((d / f"{name}.yaml").read_text().splitlines(), 1) if text in ln)


def test_builtin_vocabulary_is_valid() -> None:
    assert set(load_vocab(vocab_dir())) == set(FILES)


def test_marker_of_an_unknown_phase_names_file_line_and_field(tmp_path: Path) -> None:
    d = broken_vocab(tmp_path, "phases", "{phase: download, kind: start, literal: 'Using model weights format'}",
                     "{phase: loading, kind: start, literal: 'Using model weights format'}")
    (p,) = problems(d)
    assert p.startswith(f"{d / 'phases.yaml'}:{line_of(d, 'phases', 'phase: loading')}: markers[")
    assert ".phase: unknown phase 'loading'" in p


def test_bad_regex_unknown_define_and_missing_group(tmp_path: Path) -> None:
    d = broken_vocab(tmp_path, "facts", "pattern: 'NCCL version (\\d+\\.\\d+\\.\\d+)'", "pattern: 'NCCL version (\\d+'")
    (p,) = problems(d)
    assert f"facts.yaml:{line_of(d, 'facts', 'NCCL version (')}: extractors[" in p and "bad regex" in p
    d = broken_vocab(tmp_path / "2", "facts", "{{VERSION}}", "{{VERSON}}")
    assert any("unknown {{VERSON}}" in p for p in problems(d))
    d = broken_vocab(tmp_path / "3", "wrappers", "(?P<inner>.+)'', please", "(.+)'', please")
    (p,) = problems(d)
    assert "wrappers.yaml:" in p and "messages[0]" in p and "`inner`" in p


def test_an_extractor_of_an_undeclared_fact(tmp_path: Path) -> None:
    d = broken_vocab(tmp_path, "facts", "{name: nccl_version, literals: ['nccl==']",
                     "{name: nccl_verison, literals: ['nccl==']")
    (p,) = problems(d)
    assert f"facts.yaml:{line_of(d, 'facts', 'nccl_verison')}: extractors[" in p and "not declared" in p


def test_a_missing_file_and_a_misspelt_field(tmp_path: Path) -> None:
    d = broken_vocab(tmp_path, "debug", "    harm: 'logs every NCCL call", "    harms: 'logs every NCCL call")
    (d / "fingerprint.yaml").unlink()
    text = "\n".join(problems(d))
    assert "fingerprint.yaml: missing vocabulary file" in text
    assert f"debug.yaml:{line_of(d, 'debug', 'harms:')}: switches[2].harms: Extra inputs" in text


# -- rule validators: each fed a broken rule -------------------------------------------------------------------

from logclassify import RuleError, load_rules  # noqa: E402
from logclassify.engine.loader import builtin_rules_dir, review_rule_dirs  # noqa: E402
from logclassify.engine.validators import MESSAGE_STARTS, STRIPPED_PREFIXES  # noqa: E402
from logclassify.read.normalize import normalize_line  # noqa: E402

HEAD = "title: A test rule\nseverity: error\ncause: Something failed in a test.\nfix: [do something]\n"


def rule(d: Path, rid: str, body: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{rid}.yaml"
    path.write_text(f"id: {rid}\n{HEAD}{body}")
    return path


def load_problems(d: Path) -> list[str]:
    with pytest.raises(RuleError) as err:
        load_rules(d, builtin=False)
    return err.value.problems


def test_unknown_fact_names_the_line_and_suggests(tmp_path: Path) -> None:
    rule(tmp_path, "old-vllm", "match:\n  all:\n    - contains: boom here\n    - fact: {name: vllm_verison, version: '<0.5'}\n")
    (p,) = load_problems(tmp_path)
    assert p.startswith(f"{tmp_path / 'old-vllm.yaml'}:9: rule old-vllm: match.all[1].fact.name: no fact 'vllm_verison'")
    assert "did you mean `vllm_version`" in p and p.endswith("[unknown-fact]")


def test_env_facts_of_any_name_are_known(tmp_path: Path) -> None:
    rule(tmp_path, "env-on", "match:\n  fact: {name: env.SOME_NEW_VAR}\n")
    assert [r.id for r in load_rules(tmp_path, builtin=False)] == ["env-on"]


def test_unknown_phase(tmp_path: Path) -> None:
    rule(tmp_path, "stuck", "match:\n  log_ends_in: [load_weights, loading]\n")
    (p,) = load_problems(tmp_path)
    assert ":7: rule stuck: match.log_ends_in[1]: unknown phase 'loading'" in p and "[unknown-phase]" in p


def test_unknown_probe_in_rules_validate(tmp_path: Path) -> None:
    rule(tmp_path, "probed", "probe: ncl\nmatch:\n  contains: boom here\n")
    review = review_rule_dirs([tmp_path], probes=("nccl", "p2p"))
    (p,) = review.errors
    assert ":6: rule probed: probe: no probe 'ncl' (did you mean `nccl`?)" in p


def test_confirm_equal_to_match_is_a_warning(tmp_path: Path) -> None:
    rule(tmp_path, "twice", "match:\n  contains: boom here\nconfirm:\n  contains: boom here\n")
    assert [r.id for r in load_rules(tmp_path, builtin=False)] == ["twice"]  # warnings do not stop the load
    review = review_rule_dirs([tmp_path])
    assert review.errors == []
    assert any(":8: rule twice: confirm: warning: `confirm` repeats `match`" in w for w in review.warnings)


def test_folds_naming_no_rule_is_a_warning_and_builtins_count(tmp_path: Path) -> None:
    rule(tmp_path, "folder", "folds: [cuda-oom, no-such-rule]\nmatch:\n  contains: boom here\n")
    review = review_rule_dirs([tmp_path])
    assert [w for w in review.warnings if "folds-unknown" in w] == [
        f"{tmp_path / 'folder.yaml'}:6: rule folder: folds[1]: warning: folds 'no-such-rule', which no loaded rule "
        "is [folds-unknown]"
    ]


def test_two_rules_with_the_same_signature(tmp_path: Path) -> None:
    rule(tmp_path, "first", "match:\n  regex: 'Some (?:error|failure)'\n")
    rule(tmp_path, "second", "match:\n  regex: 'Some (?:error|failure)'\n")
    (p,) = load_problems(tmp_path)
    assert "second.yaml:6: rule second: match: same `match` as rule first" in p and "[same-signature]" in p
    copy = (builtin_rules_dir() / "process" / "port-in-use.yaml").read_text().replace("id: port-in-use", "id: ports")
    (tmp_path / "second.yaml").write_text(copy)
    (tmp_path / "first.yaml").unlink()
    assert any("same `match` as rule port-in-use" in e for e in review_rule_dirs([tmp_path]).errors)


def test_a_regex_anchored_on_a_stripped_prefix(tmp_path: Path) -> None:
    rule(tmp_path, "ranked", "match:\n  any:\n    - regex: '^\\[rank\\d+\\]: RuntimeError'\n"
         "    - regex: '^INFO \\d\\d-\\d\\d .* boom'\n    - regex: '^ERROR: boom'\n")
    problems = load_problems(tmp_path)
    assert [p.split(": rule ")[1].split(":")[0] for p in problems] == ["ranked"] * 3
    assert ":8: rule ranked: match.any[0].regex: anchored on a log prefix ('[rank0]:')" in problems[0]
    assert "match.any[1].regex" in problems[1] and "match.any[2].regex: anchored on a log prefix ('ERROR:')" in problems[2]
    rule(tmp_path, "ranked", "match:\n  regex: '^\\[rank\\d+\\]: RuntimeError'\n  scope: line\n")
    assert load_rules(tmp_path, builtin=False)  # on the whole line the prefix is there


@pytest.mark.parametrize("prefix", STRIPPED_PREFIXES)
def test_the_sample_prefixes_are_stripped_and_the_message_starts_kept(prefix: str) -> None:
    (rec,) = normalize_line(1, prefix + "RuntimeError: boom")
    assert rec.message == "RuntimeError: boom"
    for start in MESSAGE_STARTS:
        (rec,) = normalize_line(1, start)
        assert rec.message == start


def test_an_id_that_duplicates_a_builtin_rule(tmp_path: Path) -> None:
    rule(tmp_path, "cuda-oom", "match:\n  contains: my own out of memory\n")
    (p,) = review_rule_dirs([tmp_path]).errors
    assert p.startswith(f"{tmp_path / 'cuda-oom.yaml'}:1: rule cuda-oom: id: duplicates the built-in rule")


def test_a_misspelt_condition_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    rule(tmp_path, "typo", "match:\n  all:\n    - regx: 'boom'\n    - contains: boom here\n")
    (p,) = load_problems(tmp_path)
    assert ":8: rule typo: match.all[0]: not a condition: it has `regx` (did you mean `regex`?)" in p
    rule(tmp_path, "typo", "match:\n  contains: boom here\n  ignore_cse: true\n")
    (p,) = load_problems(tmp_path)
    assert "match.contains.ignore_cse: unknown field `ignore_cse` (did you mean `ignore_case`?)" in p
    rule(tmp_path, "typo", "match:\n  contains: boom here\nconfrim:\n  contains: boom\n")
    (p,) = load_problems(tmp_path)
    assert ":8: rule typo: confrim: unknown field `confrim` (did you mean `confirm`?)" in p


def test_the_builtin_rules_have_no_errors_or_warnings() -> None:
    review = review_rule_dirs([builtin_rules_dir()], probes=("nccl", "p2p", "gloo", "cuda", "compile", "inspect"))
    assert review.errors == [] and review.warnings == []


def test_a_condition_no_fixture_exercises(tmp_path: Path) -> None:
    from logclassify.engine.fixtures import unexercised
    from logclassify.engine.loader import parse_rule_dirs

    rules, fixtures = tmp_path / "rules", tmp_path / "fixtures"
    rule(rules, "boom", "match:\n  any:\n    - contains: boom happened\n    - regex: 'kaboom \\d+'\n")
    fixtures.mkdir()
    (fixtures / "one.log").write_text("RuntimeError: boom happened\n")
    (fixtures / "one.expect.yaml").write_text("expect: [boom]\n")
    (finding,) = unexercised(parse_rule_dirs([rules])[0], [fixtures])
    assert str(finding) == (f"{rules / 'boom.yaml'}:9: rule boom: match.any[1]: warning: no positive fixture of this "
                            "rule shows this condition: add one whose log does [unexercised]")
    (fixtures / "two.log").write_text("RuntimeError: kaboom 42\n")
    (fixtures / "two.expect.yaml").write_text("expect: [boom]\n")
    assert unexercised(parse_rule_dirs([rules])[0], [fixtures]) == []


def test_hang_limits_come_from_the_rules_live_field(tmp_path: Path) -> None:
    from logclassify.engine.loader import hang_limits

    builtin = hang_limits(load_rules())
    assert builtin == {"init": 300, "download": 900, "load_weights": 600, "compile": 900, "profile": 300,
                       "cuda_graphs": 300, "api_server": 180, "other": 300}  # the defaults README.md documents
    body = "match:\n  all:\n    - log_ends_in: [compile]\n    - contains: my huge model\n"
    rule(tmp_path, "slow-compile", "live: {silent_for: 60}\n" + body)
    mine = hang_limits(load_rules(tmp_path))
    assert mine["compile"] == 60 and mine["download"] == 900  # the shorter limit of a phase wins
    rule(tmp_path, "slow-compile", "live: {silent_for: 0}\n" + body)
    (p,) = load_problems(tmp_path)
    assert ":6: rule slow-compile: live.silent_for: Input should be greater than 0" in p


def test_a_real_field_in_the_wrong_place_is_not_called_a_misspelling(tmp_path: Path) -> None:
    """`within` belongs under `all:`; under `any:` the old message suggested `within` for `within`."""
    rule(tmp_path, "misplaced", "match:\n  any:\n    - contains: boom here\n  within: 5\n")
    (p,) = load_problems(tmp_path)
    assert "field `within` is not allowed here" in p and "did you mean" not in p
