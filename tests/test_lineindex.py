"""The per-input literal lookups (LineIndex) and the literal analysis that lets a line skip the regex."""

from __future__ import annotations

import random

import pytest
import regex

from logclassify.engine.literals import every_required_literal_set, plain_alternatives
from logclassify.read.lineindex import LineIndex
from logclassify.read.logline import LogLine


def _lines(texts: list[str]) -> list[LogLine]:
    return [LogLine(i + 1, t, t.split("] ", 1)[-1]) for i, t in enumerate(texts)]


def test_lines_with_finds_every_line_once() -> None:
    lines = _lines(["a NCCL error NCCL error", "nothing", "[x] NCCL error", "nccl ERROR", "NCCL error"])
    index = LineIndex(lines)
    assert index.lines_with("NCCL error") == [0, 2, 4]  # twice on line 0: listed once
    assert index.lines_with("nccl error", lower=True) == [0, 2, 3, 4]
    assert index.lines_with("absent") == []
    assert index.lines_with("error\nnothing") == []  # never across lines
    assert index.lines_with_any(["nothing", "NCCL error"]) == [0, 1, 2, 4]
    assert index.haystack(False, False)[1][2] == "NCCL error"  # messages


def test_lines_with_agrees_with_in_on_random_text() -> None:
    rnd = random.Random(7)
    alphabet = "ab \u0130\u00df\u212aK"  # characters whose lowercase differs in length or maps to ASCII
    texts = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12))) for _ in range(300)]
    index = LineIndex(_lines(texts))
    for lit in ("ab", "a", "b a", "k", "ss", "i\u0307", "\u00df"):
        assert index.lines_with(lit) == [i for i, t in enumerate(texts) if lit in t]
        assert index.lines_with(lit.lower(), lower=True) == [i for i, t in enumerate(texts) if lit.lower() in t.lower()]


def test_known_answers_skip_the_search() -> None:
    asked: list[str] = []

    def known(literal: str, folded: bool) -> list[int] | None:
        asked.append(literal)
        return {"boom": [], "bang": [0]}.get(literal)

    index = LineIndex(_lines(["boom", "bang", "crash"]), known)
    assert index.lines_with("boom") == []  # trusted: the one-pass scan said it is absent
    assert index.lines_with("bang") == [0]  # trusted, even where a search would say otherwise
    assert index.lines_with("crash") == [2]  # not known: searched
    assert asked == ["boom", "bang", "crash"]


@pytest.mark.parametrize("accent", ["", "\u00e9t\u00e9 \u212aelvin \u0130 "])
def test_located_rows_equal_searches(accent: str) -> None:
    from logclassify.select import LiteralIndex

    texts = [f"INFO a {accent}NCCL error x", "nccl ERROR", f"pl{accent}ain", "NCCL error NCCL error", "ab" * 40,
             f"{accent}Error: boom", "\u0130 plain"]
    literals = ["NCCL error", "ab", "Error: ", "absent", "plain", "\u0130", "t\u00e9 "]
    folded = ["nccl error", "error"]
    located = LiteralIndex(literals, folded).locate("\n".join(texts), LineIndex(_lines(texts)).line_starts())
    if located is None:
        pytest.skip("no Hyperscan here")
    searched = LineIndex(_lines(texts))
    fast = LineIndex(_lines(texts), located.known)
    for lit in literals:
        assert fast.lines_with(lit) == searched.lines_with(lit), lit
    for lit in folded:
        assert fast.lines_with(lit, lower=True) == searched.lines_with(lit, lower=True), lit
    assert fast.lines_with("\u00e9") == searched.lines_with("\u00e9")  # not indexed: searched, or none in ASCII
    assert fast.lines_with("k", lower=True) == searched.lines_with("k", lower=True)  # the Kelvin sign folds to k


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("NCCL WARN|NCCL INFO", {"NCCL WARN", "NCCL INFO"}),
        (r"LLMEngine\(|init_device", {"LLMEngine(", "init_device"}),
        ("plain text", {"plain text"}),
        (r"a\|b", None),  # an escaped bar is text, not an alternation
        ("a(b|c)", None),
        ("(?:foo|bar)", None),
        (r"x\d", None),
        ("(?i)abc", None),
        ("abc|", None),
    ],
)
def test_plain_alternatives(pattern: str, expected: set[str] | None) -> None:
    got = plain_alternatives(pattern)
    assert (set(got) if got is not None else None) == expected
    if got is not None:  # the claim that matters: a line matches exactly when it holds one of them
        for line in ("x NCCL INFO y", "LLMEngine( z", "plain texts", "nothing here", "init_devic"):
            assert (regex.search(pattern, line) is not None) == any(a in line for a in got)


def test_every_required_literal_set() -> None:
    sets = every_required_literal_set(r'File ".*torch[/\\]_inductor[/\\]\w+\.py", line \d+')
    assert {"_inductor"} in [set(s) for s in sets] and {"torch"} in [set(s) for s in sets]
    assert every_required_literal_set("(?i)Bad THING") == (frozenset({"bad thing"}),)
    assert every_required_literal_set(r"\d+") == ()


def test_classification_is_the_same_when_locate_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past LOCATE_MAX occurrences the classifier falls back to presence only, then to searches: same answers."""
    from pathlib import Path

    import logclassify.select.literal_index as literal_index
    from logclassify.engine.classifier import Classifier

    logs = sorted((Path(__file__).resolve().parent.parent / "fixtures").rglob("*.log"))[::5]
    clf = Classifier()
    expected = [clf.classify_path(p).model_dump_json() for p in logs]
    monkeypatch.setattr(literal_index, "LOCATE_MAX", 0)
    assert [clf.classify_path(p).model_dump_json() for p in logs] == expected
    monkeypatch.setattr(literal_index.LiteralIndex, "present", lambda self, text: None)  # no one-pass scan at all
    assert [clf.classify_path(p).model_dump_json() for p in logs] == expected
