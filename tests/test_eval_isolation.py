"""The held-out random samples (eval/random2, eval/random5, eval/random6) are never used to write rules: no rule, fixture or
catalogue page may cite a thread that one of their cases was drawn from (issue 15 §1, eval/README.md). eval/random,
the first sample, eval/random3 and eval/random4 moved to the rule side on 2026-12-06 (development sets whose misses
and false alarms are a work list).

A rule writer who finds such a thread on their own picks another report for the fixture, or the case is moved to
the rule side in eval/random/cases.jsonl and a fresh one drawn; either way this test names the file and the thread.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_REF = re.compile(
    r"github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+)/(?:issues|pull)/(?P<num>\d+)"
    r"|(?:(?P<owner2>[\w.-]+)/)?(?P<repo2>[\w.-]+)#(?P<num2>\d+)"
)


HELD_OUT_SETS = ("random2", "random5", "random6")  # the fresh samples still held out (eval/README.md)
RULE_SIDE_SETS = ("random", "random3", "random4")  # development sets since 2026-12-06: their threads may be fixture sources
SAMPLES = (*RULE_SIDE_SETS, *HELD_OUT_SETS)


def _held_out_threads(set_name: str = "random") -> dict[tuple[str, str], str]:
    """(repo, number) -> the case file drawn from that thread, for cases still on the held-out side."""
    out = {}
    for line in (ROOT / "eval" / set_name / "cases.jsonl").read_text().splitlines():
        case = json.loads(line)
        if case.get("moved_to_rule_side"):
            continue
        owner_repo, _, num = case["source"].split()[0].partition("#")
        out[(owner_repo.split("/")[-1].lower(), num)] = f"{set_name}/{case['file']}"
    return out


def _cited(text: str) -> set[tuple[str, str]]:
    refs = set()
    for m in _REF.finditer(text):
        repo, num = (m["repo"], m["num"]) if m["num"] else (m["repo2"], m["num2"])
        refs.add((repo.lower(), num))
    return refs


def _rule_side_files() -> list[Path]:
    files = [p for p in (ROOT / "rules").rglob("*") if p.suffix in (".yaml", ".yml", ".md")]
    files += [p for p in (ROOT / "fixtures").rglob("*") if p.is_file()]
    return files


def test_the_reference_parser_reads_every_citation_shape() -> None:
    text = ("see https://github.com/vllm-project/vllm/issues/7714, vllm-project/vllm#12581, vllm#15336 "
            "and LlamaFactory#5268")
    assert _cited(text) == {("vllm", "7714"), ("vllm", "12581"), ("vllm", "15336"), ("llamafactory", "5268")}


def test_no_rule_fixture_or_catalogue_cites_a_held_out_thread() -> None:
    assert len(_held_out_threads("random2")) >= 30  # the fresh sample, labelled before scoring
    # the fourth sample (another new query family), labelled before scoring: 37 cases from q0-q15, then 51 more from
    # q16-q63 of the same family, also labelled (and aliased) before any scoring of them (eval/README.md)
    assert len(_held_out_threads("random4")) >= 88
    assert len(_held_out_threads("random5")) >= 78  # the fifth sample (a feature-in-use query family), labelled before scoring
    # the sixth sample (a deployment-setting + model-family query family), labelled before scoring
    assert len(_held_out_threads("random6")) >= 57
    held_out = {ref: case for name in HELD_OUT_SETS for ref, case in _held_out_threads(name).items()}
    leaks = []
    for path in _rule_side_files():
        for ref in _cited(path.read_text(errors="replace")) & held_out.keys():
            leaks.append(f"{path.relative_to(ROOT)} cites {ref[0]}#{ref[1]}, the thread of eval case {held_out[ref]}")
    assert not leaks, "\n".join(sorted(leaks))


def test_the_fresh_sample_shares_no_thread_with_the_first() -> None:
    """eval/random2 was drawn after eval/random had been looked at: none of its threads may be one of eval/random's."""
    both = _held_out_threads("random").keys() & _held_out_threads("random2").keys()
    assert not both, sorted(both)


def test_the_third_sample_shares_no_thread_with_the_earlier_ones() -> None:
    """eval/random3 was drawn after eval/random and eval/random2 had been looked at: none of its threads may be theirs."""
    earlier = _held_out_threads("random").keys() | _held_out_threads("random2").keys()
    both = _held_out_threads("random3").keys() & earlier
    assert not both, sorted(both)


def test_the_fourth_sample_shares_no_thread_with_the_earlier_ones() -> None:
    """eval/random4 was drawn after eval/random, random2 and random3 had been looked at: none of its threads may be theirs."""
    earlier = (_held_out_threads("random").keys() | _held_out_threads("random2").keys()
               | _held_out_threads("random3").keys())
    both = _held_out_threads("random4").keys() & earlier
    assert not both, sorted(both)


def test_the_fifth_sample_shares_no_thread_with_the_earlier_ones() -> None:
    """eval/random5 was drawn after eval/random, random2, random3 and random4 had been looked at (and while random4 was
    being extended): none of its threads may be theirs."""
    earlier = (_held_out_threads("random").keys() | _held_out_threads("random2").keys()
               | _held_out_threads("random3").keys() | _held_out_threads("random4").keys())
    both = _held_out_threads("random5").keys() & earlier
    assert not both, sorted(both)


def _drawn_threads(set_name: str) -> set[tuple[str, str]]:
    """(repo, number) of every thread a sample ever drew: its cases (moved or not) and every draws.jsonl source."""
    root = ROOT / "eval" / set_name
    lines = (root / "cases.jsonl").read_text().splitlines()
    if (root / "draws.jsonl").exists():
        lines += (root / "draws.jsonl").read_text().splitlines()
    out = set()
    for line in lines:
        owner_repo, _, num = json.loads(line)["source"].split()[0].partition("#")
        out.add((owner_repo.split("/")[-1].lower(), num))
    return out


def test_the_sixth_sample_shares_no_thread_with_the_earlier_ones() -> None:
    """eval/random6 was drawn after eval/random ... random5 had been looked at (random4 scored and moved to the rule
    side): none of its cases may be a thread those samples drew, as a case or as a skipped or repeat draw."""
    earlier: set[tuple[str, str]] = set()
    for name in ("random", "random2", "random3", "random4", "random5"):
        earlier |= _drawn_threads(name)
    both = _held_out_threads("random6").keys() & earlier
    assert not both, sorted(both)


def test_the_fifth_sample_lists_every_draw_and_takes_each_thread_once() -> None:
    """Every case of eval/random5 is a 'case' draw in its draws.jsonl (same file, same thread), and no thread is a case
    twice: the draw record is the evidence that nothing was picked for its cause."""
    root = ROOT / "eval" / "random5"
    draws = [json.loads(line) for line in (root / "draws.jsonl").read_text().splitlines()]
    assert {d["status"] for d in draws} <= {"case", "repeat", "skipped"}
    assert all(d.get("why") for d in draws if d["status"] == "skipped")
    taken = [(d["source"], d["note"]) for d in draws if d["status"] == "case"]
    cases = [(c["source"], c["file"]) for c in map(json.loads, (root / "cases.jsonl").read_text().splitlines())]
    assert sorted(taken) == sorted(cases)
    sources = [s for s, _ in cases]
    assert len(sources) == len(set(sources))


def test_the_sixth_sample_lists_every_draw_and_takes_each_thread_once() -> None:
    """Every case of eval/random6 is a 'case' draw of its draws.jsonl (same file, same thread), no thread is a case
    twice, a repeat draw is of a thread taken earlier, and no thread drawn there is a case of an earlier sample."""
    root = ROOT / "eval" / "random6"
    draws = [json.loads(line) for line in (root / "draws.jsonl").read_text().splitlines()]
    assert {d["status"] for d in draws} <= {"case", "repeat", "skipped"}
    assert all(d.get("why") for d in draws if d["status"] == "skipped")
    taken = [(d["source"], d["note"]) for d in draws if d["status"] == "case"]
    cases = [(c["source"], c["file"]) for c in map(json.loads, (root / "cases.jsonl").read_text().splitlines())]
    assert sorted(taken) == sorted(cases)
    sources = [s for s, _ in cases]
    assert len(sources) == len(set(sources))
    seen: set[str] = set()
    for d in draws:
        if d["status"] == "case":
            seen.add(d["source"])
        elif d["status"] == "repeat":
            assert d["source"] in seen, d
    assert all(d["q"].startswith("w") for d in draws)  # queries of random6_queries() (eval/sample_queries.py --random6)


def test_every_held_out_case_file_is_listed_and_every_listed_file_exists() -> None:
    """A case file without its cases.jsonl line (or the reverse) would be scored wrongly or not at all."""
    for name in SAMPLES:
        root = ROOT / "eval" / name
        listed = {json.loads(line)["file"] for line in (root / "cases.jsonl").read_text().splitlines()}
        present = {p.name for p in root.glob("[0-9][0-9][0-9]-*")}
        assert listed == present, (name, sorted(listed ^ present))
