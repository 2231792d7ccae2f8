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
