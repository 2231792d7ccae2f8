"""A batch gives each log the report it gets alone: the per-rule-pack tables a `Classifier` keeps between inputs
(rule screen, look-alike causes, compiled patterns) must never carry one log's state into the next one's report.

Also: the rule screen (`engine.prefilter`) rules out exactly the rules `Context.impossible` rules out, whatever the
one-pass literal scan could tell (every occurrence, presence only, nothing, a non-ASCII input).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logclassify import batch
from logclassify.engine.classifier import Classifier, index_literals, load_rules
from logclassify.engine.match import Context
from logclassify.engine.prefilter import literal_screen, with_folded
from logclassify.read.lineindex import LineIndex
from logclassify.read.sources import chunks_from
from logclassify.render.jsonout import report_dict
from tests.conftest import CORPUS, FIXTURES

# the real logs of the corpus, and every 7th fixture log (other areas, other formats), in a fixed order
LOGS = sorted(str(p) for p in CORPUS.glob("*.log")) + sorted(str(p) for p in FIXTURES.rglob("*.log"))[::7]


@pytest.fixture(scope="module")
def rules() -> tuple[object, ...]:
    return tuple(load_rules())


def _alone(rules: tuple[object, ...], name: str) -> str:
    """The report of one log from a classifier that has classified nothing before."""
    return json.dumps(report_dict(Classifier(rules).classify_path(name)), sort_keys=True)  # type: ignore[arg-type]


def test_the_logs_are_there() -> None:
    assert len(LOGS) > 100, LOGS


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_batch_gives_each_log_its_report_alone(rules: tuple[object, ...], jobs: int) -> None:
    names = LOGS + LOGS[::-1]  # each log again after every other one
    one = Classifier(rules)  # type: ignore[arg-type]
    batched = [json.dumps(report_dict(r), sort_keys=True) for r, _ in batch.classify_many(one, names, jobs=jobs)]
    alone = {name: _alone(rules, name) for name in LOGS}
    assert len(batched) == len(names)
    for name, got in zip(names, batched, strict=True):
        assert got == alone[name], name
    assert any('"unrecognized": [{' in r for r in batched)  # look-alike causes were computed, and compared


def _contexts(classifier: Classifier, text: str) -> list[Context]:
    """The contexts the rules are screened against, for every kind of answer the literal scan gives."""
    lines = classifier.scanner.select(chunks_from(text)).lines
    index = LineIndex(lines)
    blob = index.haystack(True, False)[0]
    located = classifier.literal_index.locate(blob, index.line_starts())  # every occurrence (of ASCII-folded ones)
    answers = [
        located,
        with_folded(located, classifier.lowered_index, index) if located is not None else None,  # and folded ones
        classifier.literal_index.presence(blob),  # which literals occur (None for non-ASCII text)
        None,  # no scan: each literal searched for
    ]
    return [Context(lines, [], [], {}, [], None, LineIndex(lines), presence=p) for p in answers]


@pytest.mark.parametrize("extra", ["", "Überprüfung fehlgeschlagen: ERROR\n"])  # ASCII, and not
def test_the_rule_screen_rules_out_what_each_rule_would(rules: tuple[object, ...], extra: str) -> None:
    classifier = Classifier(rules)  # type: ignore[arg-type]
    screened = 0
    for name in LOGS:
        text = Path(name).read_text(encoding="utf-8", errors="replace") + extra
        for ctx in _contexts(classifier, text):
            expected = [r.id for r in classifier.screen.order if not ctx.impossible(r.required)]
            assert [r.id for r in classifier.screen.candidates(ctx)] == expected, (name, type(ctx.presence))
            screened += len(classifier.screen.order) - len(expected)
    assert screened > len(LOGS) * len(rules) // 2  # most rules are ruled out on most logs


@pytest.mark.parametrize("extra", ["", "Überprüfung fehlgeschlagen: ERROR\n"])
def test_the_literal_screen_drops_what_the_scan_rules_out(rules: tuple[object, ...], extra: str) -> None:
    classifier = Classifier(rules)  # type: ignore[arg-type]
    exact, folded_lits = index_literals(classifier.rules)
    asked = {False: [*sorted(set(exact)), "not looked for", "Überprüfung"],
             True: [*sorted(set(folded_lits)), "not looked for", "überprüfung"]}
    dropped = 0
    for name in LOGS[::3]:
        text = Path(name).read_text(encoding="utf-8", errors="replace") + extra
        for ctx in _contexts(classifier, text):
            if ctx.presence is None:
                continue
            screen = literal_screen(ctx.presence)
            for folded, lits in asked.items():
                kept = screen(lits, folded)
                assert kept == [a for a in lits if ctx.presence.known(a, folded) != []], (name, folded)
                dropped += len(lits) - len(kept)
    assert dropped > 0


@pytest.mark.parametrize("extra", ["", "Überprüfung fehlgeschlagen: ERROR\n", "İSTANBUL KELVIN \u212a\n"])
def test_the_scan_finds_each_literal_on_the_lines_a_search_finds_it_on(rules: tuple[object, ...], extra: str) -> None:
    """`with_folded` answers for the folded literals of a non-ASCII input: on exactly the rows `lines_with` finds
    by searching the lowercased lines (`str.lower` folds more than ASCII: the Kelvin sign is a `k`)."""
    classifier = Classifier(rules)  # type: ignore[arg-type]
    answered = 0
    for name in LOGS[::4]:
        text = Path(name).read_text(encoding="utf-8", errors="replace") + extra
        lines = classifier.scanner.select(chunks_from(text)).lines
        index = LineIndex(lines)
        located = classifier.literal_index.locate(index.haystack(True, False)[0], index.line_starts())
        assert located is not None
        presence = with_folded(located, classifier.lowered_index, index)
        search = LineIndex(lines)  # no scan: every answer searched for
        for folded, lits in zip((False, True), index_literals(classifier.rules), strict=True):
            for lit in sorted(set(lits)):
                rows = presence.known(lit, folded)
                if rows is not None:
                    assert rows == search.lines_with(lit, folded), (name, lit, folded)
                    answered += folded
    assert answered > 0
