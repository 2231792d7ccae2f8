"""Unrecognised failures: salient error, a fingerprint that groups duplicates across machines, nearest known causes.

Real logs come from tests/data/corpus, a copy of ../shared/corpus (the `beyond-other-*` cases are failures outside
the rule set) and from the fixtures (other reports of the same failure). "Machine variants" change what differs
between two machines hitting the same failure: timestamps, pids, paths, Python version, host names, IPs, ports, GPU
index, sizes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import regex

from logclassify import Classifier, classify, default_classifier
from logclassify.engine.classifier import failure_triggers
from logclassify.engine.unknown import FAILURE_LINE_PATTERNS, mask, nearest_causes, signatures
from logclassify.render.markdown import render_markdown
from tests.conftest import CORPUS, corpus_log, must_exist

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

NO_RULES = Classifier([])  # nothing is explained, so every failure is reported as unrecognised


def corpus(name: str) -> str:
    return corpus_log(name)


def fingerprint_of(text: str, classifier: Classifier = NO_RULES) -> str:
    report = classifier.classify(text, input_format="log")
    assert len(report.unrecognized) == 1, report.unrecognized
    return report.unrecognized[0].fingerprint


def machine_variant(text: str) -> str:
    """The same log as another machine would print it."""
    out = regex.sub(r"\b20\d\d-\d\d-\d\d \d\d:\d\d:\d\d", "2025-03-02 08:11:09", text)
    out = regex.sub(r"\b\d\d-\d\d \d\d:\d\d:\d\d\b", "03-02 08:11:09", out)
    out = regex.sub(r"pid=\d+", "pid=4242", out)
    out = regex.sub(r"(?<=ERROR )\d{3,}", "777", out)
    out = regex.sub(r"/(?:opt/conda|home/user/[\w-]+/aienv|usr/local)/lib/python3\.\d+", "/srv/venvs/prod/lib/python3.12", out)
    out = regex.sub(r'line \d+, in', "line 9999, in", out)
    out = regex.sub(r"\b(?:\d{1,3}\.){3}\d{1,3}\b", "192.168.77.5", out)
    out = out.replace("EngineCore_DP0", "EngineCore_DP3").replace("GPU 0", "GPU 5").replace("cuda:0", "cuda:5")
    return out


# -- the same failure, different machines ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["beyond-other-3.log", "beyond-other-5.log", "beyond-other-8.log"])
def test_machine_variants_of_a_real_failure_share_the_fingerprint(name: str) -> None:
    original = corpus(name)
    variant = machine_variant(original)
    assert variant != original
    assert fingerprint_of(variant) == fingerprint_of(original)
    # with the real rules both variants get the same answer: the same causes, or (where the failure is still
    # unknown) the same fingerprint as without rules. beyond-other-3 and -8 have rules now (a client's negative
    # max_tokens, a LoRA rank above max_lora_rank); beyond-other-5 is still unknown.
    real = default_classifier()
    got_variant, got_original = real.classify(variant, input_format="log"), real.classify(original, input_format="log")
    assert [d.id for d in got_variant.diagnoses] == [d.id for d in got_original.diagnoses]
    assert [u.fingerprint for u in got_variant.unrecognized] == [u.fingerprint for u in got_original.unrecognized]
    assert got_original.diagnoses or got_original.unrecognized
    if got_original.unrecognized:
        assert got_original.unrecognized[0].fingerprint == fingerprint_of(original)


def test_numbers_in_the_message_do_not_split_a_failure() -> None:
    lora = corpus("beyond-other-8.log")
    other_sizes = lora.replace("LoRA rank 32", "LoRA rank 64").replace("max_lora_rank 16", "max_lora_rank 8")
    assert fingerprint_of(other_sizes) == fingerprint_of(lora)
    tokens = corpus("beyond-other-3.log").replace("got -344", "got -12")
    assert fingerprint_of(tokens) == fingerprint_of(corpus("beyond-other-3.log"))


@pytest.mark.parametrize(
    ("corpus_log", "fixture_log"),
    [
        # NCCL "unhandled system error" in vLLM's PyNcclCommunicator: NeMo-RL #564 and NeMo-RL #595
        ("seed-nccl-cumem-mismatch-1.log", "distributed/cumem-bare-pynccl-rank-prefix.log"),
        # the spawn bootstrapping RuntimeError: vLLM #5637 (V0, 0.5) and TRL PR 3310 (V1, newer CPython)
        ("seed-multiproc-bootstrap-error-1.log", "process/multiproc-bootstrap-v1-new-cpython.log"),
    ],
)
def test_two_real_reports_of_one_failure_share_the_fingerprint(corpus_log: str, fixture_log: str) -> None:
    other = must_exist(FIXTURES / fixture_log)
    assert fingerprint_of(corpus(corpus_log)) == fingerprint_of(other.read_text(encoding="utf-8"))


def test_the_vllm_wrapper_around_a_worker_error_is_peeled() -> None:
    v0 = corpus("beyond-other-5.log")  # "RuntimeError: Error in model execution: CUDA error: ..."
    bare = "RuntimeError: CUDA error: an illegal memory access was encountered\n"
    assert fingerprint_of(v0) == fingerprint_of(bare)


# -- different failures ------------------------------------------------------------------------------------


def test_different_failures_get_different_fingerprints() -> None:
    seen: dict[str, tuple[str, str]] = {}
    for line in must_exist(CORPUS / "cases.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        report = NO_RULES.classify(corpus_log(case["file"]), input_format="log")
        if not report.unrecognized:
            continue
        label = "+".join(sorted(case["labels"]))
        if label == "other":
            label = case["file"]  # each "other" case is its own failure
        fp = report.unrecognized[0].fingerprint
        if fp in seen:
            assert seen[fp][0] == label, f"{case['file']} and {seen[fp][1]} share {fp}"
        seen[fp] = (label, case["file"])
    assert len(seen) >= 25


def test_a_different_message_of_the_same_type_is_a_different_failure() -> None:
    lora = corpus("beyond-other-8.log")
    other = lora.replace("LoRA rank 32 is greater than max_lora_rank 16.", "Loaded adapter has no target modules.")
    assert fingerprint_of(other) != fingerprint_of(lora)


def test_a_bare_assertion_is_told_apart_by_its_frames() -> None:
    def tb(func: str) -> str:
        return (f'Traceback (most recent call last):\n  File "/x/vllm/a.py", line 3, in main\n    run()\n'
                f'  File "/x/vllm/b.py", line 7, in {func}\n    assert ok\nAssertionError\n')

    assert fingerprint_of(tb("check_blocks")) != fingerprint_of(tb("check_shapes"))
    assert fingerprint_of(tb("check_blocks")) == fingerprint_of(tb("check_blocks").replace("/x/", "/y/"))


# -- what counts as a failure ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["seed-none-1.log", "seed-none-3.log", "seed-none-5.log", "seed-none-9.log"])
def test_healthy_real_logs_have_no_unrecognized_entry(name: str) -> None:
    assert default_classifier().classify(corpus(name)).unrecognized == []
    assert NO_RULES.classify(corpus(name)).unrecognized == []


def test_healthy_fixtures_have_no_unrecognized_entry() -> None:
    logs = sorted((FIXTURES / "healthy").glob("*.log"))
    assert logs, f"no healthy fixtures in {FIXTURES / 'healthy'}"
    for log in logs:
        assert classify(log.read_text(encoding="utf-8")).unrecognized == [], log.name


def test_a_note_that_explains_the_error_line_leaves_nothing_unrecognised() -> None:
    """A healthy server (answering 200s) logs a client's rejected request: the note says so, nothing else."""
    log = FIXTURES / "multimodal" / "mm-limit-exceeded-v063-server-log-note.log"
    report = default_classifier().classify(log.read_text(encoding="utf-8"), input_format="log")
    assert [(d.id, d.severity.value) for d in report.diagnoses] == [("request-mm-limit-exceeded", "info")]
    assert report.unrecognized == []
    # without that rule the same error line is an unrecognised failure
    without = Classifier([r for r in default_classifier().rules if r.id != "request-mm-limit-exceeded"])
    assert len(without.classify(log.read_text(encoding="utf-8"), input_format="log").unrecognized) == 1


def test_warnings_are_not_failures() -> None:
    log = (
        "WARNING 06-10 21:32:17 [config.py:1] Error: this is only a warning about RuntimeError: x\n"
        "/usr/lib/python3.12/runpy.py:128: RuntimeWarning: 'vllm.x' found in sys.modules\n"
        "INFO 06-10 21:32:18 [api_server.py:1] Application startup complete.\n"
    )
    assert NO_RULES.classify(log).unrecognized == []


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("Killed", "Killed"),
        ("ERROR 06-10 21:32:17 [engine.py:1] Engine loop has died", "Engine loop has died"),
        ("Worker VllmWorkerProcess pid 1159 died, exit code: -6", "died, exit code: -6"),
        ("Segmentation fault (core dumped)", "Segmentation fault"),
        # C and C++ runtimes (reports paste these without any Python traceback)
        ("python3: /src/csrc/attention.cu:120: void f(): Assertion `n > 0' failed.", "Assertion `n > 0' failed"),
        ("double free or corruption (!prev)", "double free or corruption"),
        ("free(): invalid pointer", "free(): invalid pointer"),
        ("malloc(): corrupted top size", "malloc(): corrupted top size"),
        ("*** stack smashing detected ***: terminated", "stack smashing detected"),
        ("terminate called after throwing an instance of 'c10::Error'", "terminate called after throwing"),
        ("An error occurred while loading the adapter", "An error occurred"),
    ],
)
def test_kills_exits_and_error_lines_are_failures(line: str, error: str) -> None:
    (u,) = NO_RULES.classify(f"INFO 06-10 21:32:16 [a.py:1] starting\n{line}\n").unrecognized
    assert error in u.error and u.line == 2 and u.evidence[0].line == 2


def test_the_salient_error_names_the_exception_inside_an_error_line() -> None:
    (u,) = default_classifier().classify(corpus("beyond-other-5.log")).unrecognized
    assert u.error.startswith("RuntimeError: Error in model execution: CUDA error: an illegal memory access")
    assert u.line == 8 and "^M" not in u.error


# -- nearest known causes ----------------------------------------------------------------------------------


def test_signatures_come_from_the_rule_itself() -> None:
    rule = next(r for r in default_classifier().rules if r.id == "cuda-no-kernel-image")
    sigs = signatures(rule)
    assert sigs[0] == rule.rule.title
    assert any("no kernel image is available" in s for s in sigs)
    assert not any("(?" in s or "\\" in s for s in sigs)  # plain text, not regex syntax


@pytest.mark.parametrize(
    ("log", "family"),
    [
        ("seed-multiproc-bootstrap-error-1.log", "multiproc-bootstrap-error"),
        ("beyond-port-in-use-1.log", "port-in-use"),
        ("beyond-cuda-no-kernel-image-1.log", "cuda-no-kernel-image"),
        ("beyond-gpu-mem-utilization-too-high-2.log", "gpu-mem-utilization-too-high"),
    ],
)
def test_without_its_rule_a_known_failure_is_suggested_its_cause(log: str, family: str) -> None:
    rules = default_classifier().rules
    without = Classifier([r for r in rules if r.id.split(".")[0] != family])
    (u,) = without.classify(corpus(log)).unrecognized
    related = nearest_causes(u.error, rules)
    assert family in [r.id.split(".")[0] for r in related]
    assert 1 <= len(related) <= 3 and all(0.0 < r.score <= 1.0 for r in related)
    assert [r.score for r in related] == sorted((r.score for r in related), reverse=True)


def test_suggestions_follow_a_rule_list_changed_in_place() -> None:
    """The words and signatures of a rule pack are derived once per sequence of rules, not once per log: a list
    that loses a cause in place must not keep suggesting it."""
    rules = list(default_classifier().rules)
    without = Classifier([r for r in rules if r.id.split(".")[0] != "port-in-use"])
    (u,) = without.classify(corpus("beyond-port-in-use-1.log")).unrecognized
    assert "port-in-use" in [r.id.split(".")[0] for r in nearest_causes(u.error, rules)]
    rules[:] = [r for r in rules if r.id.split(".")[0] != "port-in-use"]
    assert "port-in-use" not in [r.id.split(".")[0] for r in nearest_causes(u.error, rules)]


def test_suggestions_are_marked_as_suggestions() -> None:
    report = default_classifier().classify(corpus("beyond-other-5.log"))
    (u,) = report.unrecognized
    assert u.related, "an illegal memory access resembles known CUDA failures"
    assert report.diagnoses == []  # a suggestion is never a diagnosis
    md = render_markdown(report)
    assert "Unrecognised failure" in md and u.fingerprint in md and "not diagnoses" in md


def test_mask_removes_what_varies() -> None:
    text = ("2024-06-10 21:32:17,123 pid=4121 rank 3 failed at /opt/x/y.py on 10.0.0.2:29500 node-7.corp:8000 "
            "with torch.Size([4, 4096]) ptr 0x7f3a2b1c and 3.5 GiB on cuda:1 for meta-llama/Llama-3-8B")
    masked = mask(text)
    for gone in ("2024", "4121", "/opt", "10.0.0.2", "node-7", "4096", "0x7f3a", "3.5", "cuda:1", "meta-llama"):
        assert gone not in masked, (gone, masked)
    assert "failed at" in masked and "GiB" in masked


_BIG_FILLER = "".join(f"INFO 06-10 21:32:16 [metrics.py:1] Avg prompt throughput: {i} tokens/s\n" for i in range(60000))


@pytest.mark.parametrize("failure", [
    "double free or corruption (out)", "killed", "gcc: fatal error: no input files", "nvcc: error: bad option",
    "AssertionError",
    "worker terminated by signal SIGKILL", "requests.exceptions.HTTPError: 500 Server Error: Internal",
])
def test_a_failure_line_deep_in_a_big_log_is_found(failure: str) -> None:
    """The one-pass scan keeps every line the finder calls a failure: its triggers come from the finder's patterns
    (lower-case `killed`, `gcc: fatal error:` and a bare exception name were lost while the literals were a hand-kept
    copy)."""
    (u,) = NO_RULES.classify(_BIG_FILLER + failure + "\n" + _BIG_FILLER).unrecognized
    assert u.line == 60001


def test_every_failure_pattern_gives_the_scan_a_literal() -> None:
    triggers = failure_triggers()
    for source in FAILURE_LINE_PATTERNS:
        (trig,) = [t for t in triggers if t.regex == source]
        assert trig.ignore_case and all(len(lit) >= 3 for lit in trig.literals)


def test_a_traceback_header_alone_suggests_no_cause() -> None:
    """"Traceback (most recent call last)" is Python's phrasing, in every failure: it made an NCCL rule whose
    signature quotes it the "related" cause of a wrapper line with nothing else to read."""
    assert nearest_causes("EngineCore hit an exception: Traceback (most recent call last):",
                          default_classifier().rules) == []


def _nearest_by_every_comparison(error: str, rules: list[Any]) -> list[tuple[str, float]]:
    """`nearest_causes` as it was first written: both scores of every signature of every cause that shares a
    distinctive word, from scratch."""
    from rapidfuzz import fuzz, utils

    from logclassify.engine import unknown

    query = regex.sub(r"<\w+>", " ", mask(error))
    families = unknown._family_words(rules)
    frequency: dict[str, int] = {}
    for words in families.values():
        for w in words:
            frequency[w] = frequency.get(w, 0) + 1
    rare = max(2, int(unknown.DISTINCTIVE_SHARE * len(families)))
    distinctive = {w for w in unknown._words(query) if frequency.get(w, 0) <= rare}
    best: dict[str, tuple[float, str]] = {}
    for rule in rules:
        family = rule.id.split(".", 1)[0]
        if rule.rule.role != "cause" or not distinctive & families[family]:
            continue
        for sig in signatures(rule):
            score = fuzz.token_sort_ratio(query, sig, processor=utils.default_process) * 0.5 + fuzz.partial_ratio(
                query, sig, processor=utils.default_process) * 0.5
            if score > best.get(family, (0.0, ""))[0]:
                best[family] = (score, rule.id)
    ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
    return [(rid, round(score / 100, 2)) for _, (score, rid) in ranked[:3] if score / 100 >= unknown.MIN_SCORE]


def test_suggestions_equal_those_of_every_comparison() -> None:
    """The rule pack's table and the cut-off comparisons give the suggestions comparing everything gives, for the
    failures of the corpus and the fixtures as no rule knows them, and with the errors' own cause left out."""
    rules = list(default_classifier().rules)
    errors = []
    for path in sorted(CORPUS.glob("*.log")) + sorted(FIXTURES.rglob("*.log"))[::5]:
        errors += [u.error for u in NO_RULES.classify(path.read_text(encoding="utf-8", errors="replace")).unrecognized]
    assert len(errors) > 50
    suggested = 0
    for error in errors:
        want = _nearest_by_every_comparison(error, rules)
        assert [(s.id, s.score) for s in nearest_causes(error, rules)] == want, error
        suggested += bool(want)
        if want:  # without the best one's family: the next ones, compared anew
            family = want[0][0].split(".")[0]
            fewer = [r for r in rules if r.id.split(".")[0] != family]
            assert [(s.id, s.score) for s in nearest_causes(error, fewer)] == _nearest_by_every_comparison(error, fewer)
    assert suggested > 10
