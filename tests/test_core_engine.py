"""Rule loading and validation, the matcher's conditions, ranking, and the public Python API."""

from __future__ import annotations

import json
import textwrap
import threading
from pathlib import Path

import pytest

import logclassify
from logclassify import Classifier, RuleError, load_rules
from logclassify.engine.literals import required_literals
from logclassify.engine.schema import rule_json_schema
from logclassify.render.markdown import render_markdown

BASE = """\
title: {title}
severity: {severity}
cause: Something specific went wrong here.
fix: [Do the thing.]
"""


def write_rule(d: Path, rid: str, match: str, *, severity: str = "error", extra: str = "",
               title: str = "A test rule") -> Path:
    p = d / f"{rid}.yaml"
    p.write_text(f"id: {rid}\n" + BASE.format(title=title, severity=severity) + extra + "match:\n"
                 + textwrap.indent(textwrap.dedent(match), "  "))
    return p


def only(tmp_path: Path) -> Classifier:
    return Classifier(load_rules(tmp_path, builtin=False))


# -- validation ------------------------------------------------------------------------------------------------


def test_bad_regex_is_reported_with_file_rule_field_and_position(tmp_path: Path) -> None:
    write_rule(tmp_path, "cuda-oom", "regex: 'CUDA (out of memory'\n")
    with pytest.raises(RuleError) as err:
        load_rules(tmp_path, builtin=False)
    (problem,) = err.value.problems
    assert "cuda-oom.yaml" in problem and "rule cuda-oom" in problem
    assert "match.regex" in problem and "position 5" in problem and "^" in problem


def test_unknown_field_missing_field_and_bad_id(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("id: Not_An_Id\ntitle: t\nseverity: loud\ncause: c\nfix: []\nmatch: {regex: a}\n")
    write_rule(tmp_path, "port-in-use", "contains: 'Address already in use'\n", extra="colour: red\n")
    with pytest.raises(RuleError) as err:
        load_rules(tmp_path, builtin=False)
    text = "\n".join(err.value.problems)
    assert "x.yaml:1: rule Not_An_Id: id:" in text  # file:line: rule: field
    assert "severity:" in text and "fix:" in text
    assert "port-in-use.yaml:6: rule port-in-use: colour: unknown field `colour`" in text


def test_nested_condition_error_names_the_path(tmp_path: Path) -> None:
    write_rule(tmp_path, "tp-not-divisible", """\
    all:
      - contains: 'must be divisible'
      - none:
          - frame: {}
    """)
    with pytest.raises(RuleError) as err:
        load_rules(tmp_path, builtin=False)
    assert "match.all[1].none[0].frame" in err.value.problems[0]


def test_duplicate_ids_and_invalid_yaml(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_rule(tmp_path / "a", "port-in-use", "contains: 'Address already in use'\n")
    write_rule(tmp_path / "b", "port-in-use", "contains: 'Address already in use'\n")
    (tmp_path / "bad.yaml").write_text("id: x\n  title: [unclosed\n")
    with pytest.raises(RuleError) as err:
        load_rules(tmp_path, builtin=False)
    text = "\n".join(err.value.problems)
    assert "duplicate id, already defined in" in text
    assert "bad.yaml:2:" in text and "invalid YAML" in text


def test_builtin_rules_are_valid_and_schema_is_json() -> None:
    rules = load_rules()
    assert len(rules) >= 30
    schema = rule_json_schema()
    assert schema["title"] == "logclassify rule" and "match" in schema["properties"]
    json.dumps(schema)


# -- literals --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"NCCL error: unhandled system error", {"NCCL error: unhandled system error"}),
        (r"Model architectures \[.*\] are not supported", {"Model architectures ["}),
        (r"(CUDA out of memory|OutOfMemoryError)", {"CUDA out of memory", "OutOfMemoryError"}),
        (r"(?i)failed to INFER", {"failed to infer"}),
        (r"a.*b", None),
        (r"(ab|c)d", None),
    ],
)
def test_required_literals(pattern: str, expected: set[str] | None) -> None:
    got = required_literals(pattern)
    assert (set(got) if got is not None else None) == expected


# -- conditions ------------------------------------------------------------------------------------------------


def test_regex_captures_and_evidence_line_numbers(tmp_path: Path) -> None:
    write_rule(tmp_path, "model-arch-unsupported",
               r"regex: 'Model architectures \[(?P<arch>[^\]]+)\] are not supported'" + "\n",
               title="Unsupported {arch}")
    log = "INFO start\nINFO more\nValueError: Model architectures ['FooForCausalLM'] are not supported for now.\n"
    report = only(tmp_path).classify(log)
    (d,) = report.diagnoses
    assert d.captures == {"arch": "'FooForCausalLM'"}
    assert d.title == "Unsupported 'FooForCausalLM'"
    assert [e.line for e in d.evidence] == [3]


def test_within_requires_proximity(tmp_path: Path) -> None:
    write_rule(tmp_path, "shm-too-small", """\
    all:
      - contains: 'NCCL WARN Error while creating shared memory segment'
      - contains: 'unhandled system error'
    within: 5
    """)
    near = "x NCCL WARN Error while creating shared memory segment\n" + "filler\n" * 3 + "unhandled system error\n"
    far = "x NCCL WARN Error while creating shared memory segment\n" + "filler\n" * 30 + "unhandled system error\n"
    c = only(tmp_path)
    assert [d.id for d in c.classify(near).diagnoses] == ["shm-too-small"]
    assert c.classify(far).diagnoses == []


def test_none_excludes(tmp_path: Path) -> None:
    write_rule(tmp_path, "debug-env-left-on", """\
    all:
      - contains: 'CUDA_LAUNCH_BLOCKING=1'
      - none:
          - contains: 'consider passing'
    """)
    c = only(tmp_path)
    assert c.classify("For debugging consider passing CUDA_LAUNCH_BLOCKING=1.\n").diagnoses == []
    assert c.classify("export CUDA_LAUNCH_BLOCKING=1\n").diagnoses[0].id == "debug-env-left-on"


def test_fact_versions_compare_as_pep440(tmp_path: Path) -> None:
    write_rule(tmp_path, "zmq-hang-known-bug", """\
    all:
      - fact: {name: vllm_version, version: '>=0.5.2,<0.5.4'}
      - contains: 'Waiting for'
    """)
    c = only(tmp_path)

    def ids(version: str) -> list[str]:
        log = f"INFO 07-01 10:00:00 [api_server.py:1] vLLM API server version {version}\nWaiting for output\n"
        return [d.id for d in c.classify(log).diagnoses]

    assert ids("0.5.3.post1") == ["zmq-hang-known-bug"]
    assert ids("0.5.2") == ["zmq-hang-known-bug"]
    assert ids("0.5.10") == []  # as strings "0.5.10" < "0.5.4"; as versions it is newer
    assert ids("0.5.1") == []


def test_exception_and_frame_conditions(tmp_path: Path) -> None:
    write_rule(tmp_path, "nccl-system-error-init", """\
    all:
      - exception: {type: 'RuntimeError|DistBackendError', message: 'unhandled system error'}
      - frame: {function: ncclCommInitRank}
    """)
    log = textwrap.dedent('''\
        Traceback (most recent call last):
          File "/x/vllm/distributed/device_communicators/pynccl_wrapper.py", line 277, in ncclCommInitRank
            self.NCCL_CHECK(self._funcs["ncclCommInitRank"](ctypes.byref(comm),
        RuntimeError: NCCL error: unhandled system error (run with NCCL_DEBUG=INFO for details)
        ''')
    (d,) = only(tmp_path).classify(log).diagnoses
    assert [e.line for e in d.evidence] == [2, 4]


def test_confirm_missing_gives_an_info_note(tmp_path: Path) -> None:
    write_rule(tmp_path, "model-load-hang", "contains: 'Starting to load model'\n", severity="warning",
               extra="confirm:\n  contains: 'KeyboardInterrupt'\n")
    c = only(tmp_path)
    (note,) = c.classify("Starting to load model x\n").diagnoses
    assert note.severity.value == "info" and note.confidence <= 0.6
    (alarm,) = c.classify("Starting to load model x\nKeyboardInterrupt\n").diagnoses
    assert alarm.severity.value == "warning"


# -- ranking ---------------------------------------------------------------------------------------------------


def test_variant_folds_parent_and_consequences_fold_under_cause(tmp_path: Path) -> None:
    write_rule(tmp_path, "nccl-system-error-init", "contains: 'unhandled system error'\n")
    write_rule(tmp_path, "nccl-system-error-init.shm", "contains: 'Error while creating shared memory'\n")
    write_rule(tmp_path, "nccl-timeout", "contains: 'Watchdog caught collective operation timeout'\n",
               extra="role: consequence\n", severity="error")
    write_rule(tmp_path, "cuda-oom", "contains: 'CUDA out of memory'\n", extra="folds: [kv-cache-insufficient]\n")
    write_rule(tmp_path, "kv-cache-insufficient", "contains: 'No available memory for the cache blocks'\n")
    log = ("line\nError while creating shared memory\nunhandled system error\n"
           "Watchdog caught collective operation timeout\n")
    r = only(tmp_path).classify(log)
    assert [d.id for d in r.diagnoses] == ["nccl-system-error-init.shm"]
    assert {c.id for c in r.diagnoses[0].consequences} == {"nccl-system-error-init", "nccl-timeout"}
    assert all(c.confidence <= 0.5 for c in r.diagnoses[0].consequences)
    r = only(tmp_path).classify("No available memory for the cache blocks\nCUDA out of memory\n")
    assert [d.id for d in r.diagnoses] == ["cuda-oom"]
    # a consequence alone stays a diagnosis
    r = only(tmp_path).classify("Watchdog caught collective operation timeout\n")
    assert [d.id for d in r.diagnoses] == ["nccl-timeout"]


def test_earliest_failure_first(tmp_path: Path) -> None:
    write_rule(tmp_path, "port-in-use", "contains: 'Address already in use'\n")
    write_rule(tmp_path, "cuda-oom", "contains: 'CUDA out of memory'\n")
    r = only(tmp_path).classify("CUDA out of memory\nx\nAddress already in use\n")
    assert [d.id for d in r.diagnoses] == ["cuda-oom", "port-in-use"]


# -- public API ------------------------------------------------------------------------------------------------

DEVICE_LOG = (
    "INFO 06-10 21:32:17 [__init__.py:1] No platform detected, vLLM is running on UnspecifiedPlatform\n"
    "Traceback (most recent call last):\n"
    '  File "/x/vllm/config.py", line 1550, in __init__\n'
    '    raise RuntimeError("Failed to infer device type")\n'
    "RuntimeError: Failed to infer device type\n"
)


def test_json_contract() -> None:
    report = logclassify.classify(DEVICE_LOG, source="server.log")
    data = json.loads(report.model_dump_json())
    assert data["source"] == "server.log"
    d = data["diagnoses"][0]
    for key, kind in {"id": str, "title": str, "severity": str, "confidence": float, "evidence": list,
                      "captures": dict, "cause": str, "fix": list, "docs": list}.items():
        assert isinstance(d[key], kind), key
    assert d["probe"] is None or isinstance(d["probe"], str)
    assert set(d["evidence"][0]) >= {"line", "text"}
    assert isinstance(data["facts"], dict)
    assert d["id"].startswith("device-infer-failed")


def test_classify_accepts_str_bytes_and_lines() -> None:
    a = logclassify.classify(DEVICE_LOG)
    b = logclassify.classify(DEVICE_LOG.encode())
    c = logclassify.classify(DEVICE_LOG.splitlines())
    assert [d.id for d in a.diagnoses] == [d.id for d in b.diagnoses] == [d.id for d in c.diagnoses]
    assert a.diagnoses[0].evidence == c.diagnoses[0].evidence


def test_classifier_is_thread_safe() -> None:
    clf = Classifier()
    expected = [d.model_dump() for d in clf.classify(DEVICE_LOG).diagnoses]
    errors: list[str] = []

    def work() -> None:
        for _ in range(20):
            got = [d.model_dump() for d in clf.classify(DEVICE_LOG).diagnoses]
            if got != expected:
                errors.append("mismatch")

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_extra_rule_folder_on_top_of_builtin(tmp_path: Path) -> None:
    write_rule(tmp_path, "other.custom-thing", "contains: 'my very own failure'\n")
    clf = Classifier(load_rules(tmp_path))
    ids = {r.id for r in clf.rules}
    assert "other.custom-thing" in ids and "device-infer-failed" in {i.split(".")[0] for i in ids}
    assert clf.classify("my very own failure\n").diagnoses[0].id == "other.custom-thing"


def test_invalid_utf8_nul_and_crlf_never_crash() -> None:
    data = b"\xff\xfe garbage \x00\r\nRuntimeError: Failed to infer device type\r\n\x80\x81"
    report = logclassify.classify(data)
    assert report.diagnoses and report.diagnoses[0].id.startswith("device-infer-failed")


def test_markdown_issue_body_reads_only_code_blocks() -> None:
    body = ("I get `RuntimeError: Failed to infer device type` sometimes, not sure.\n\n"
            "```\nINFO all good\n```\n")
    assert logclassify.classify(body).alarms == []
    body2 = "Here is my log\n```text\n" + DEVICE_LOG + "```\n"
    r = logclassify.classify(body2)
    assert r.alarms and r.alarms[0].evidence[-1].line == 7


def test_mixed_case_sensitivity_in_an_any_group_still_finds_the_rule(tmp_path: Path) -> None:
    write_rule(tmp_path, "quantization-unsupported", """\
    any:
      - regex: '(?i)quantization method .* is not supported'
      - exception: {type: 'QuantizationUnsupportedError'}
    """)
    r = only(tmp_path).classify("QuantizationUnsupportedError: no\n")
    assert [d.id for d in r.diagnoses] == ["quantization-unsupported"]


def test_scope_line_sees_the_prefixes(tmp_path: Path) -> None:
    write_rule(tmp_path, "nccl-system-error-init", """\
    all:
      - contains: 'unhandled system error'
      - regex: 'RayWorkerWrapper'
        scope: line
    """)
    c = only(tmp_path)
    line = "(RayWorkerWrapper pid=1, ip=10.0.0.7) ERROR 06-25 15:28:30 worker_base.py:148] RuntimeError: unhandled system error\n"
    assert [d.id for d in c.classify(line).diagnoses] == ["nccl-system-error-init"]
    assert c.classify("RuntimeError: unhandled system error\n").diagnoses == []


@pytest.mark.parametrize("one_pass", [True, False])
def test_conditions_on_text_no_line_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_pass: bool) -> None:
    """The parser names a faulthandler crash `FatalPythonError`, which no line spells, and a multi-line exception
    message spans lines: literal pruning (with or without the one-pass index) must not rule such conditions out."""
    import logclassify.select.literal_index as literal_index

    if not one_pass:
        monkeypatch.setattr(literal_index.LiteralIndex, "locate", lambda self, text, starts: None)
        monkeypatch.setattr(literal_index.LiteralIndex, "present", lambda self, text: None)
    write_rule(tmp_path, "crash", "any:\n  - exception: {type: FatalPythonError}\n  - regex: 'never here at all'\n")
    write_rule(tmp_path, "two-lines", "exception: {type: ValueError, message: 'first part\\nsecond part'}\n")
    log = (
        "INFO 06-10 21:32:17 [core.py:1] starting\n"
        "Fatal Python error: Segmentation fault\n\n"
        "Current thread 0x00007f (most recent call first):\n"
        '  File "/x/triton/compiler.py", line 114 in ttgir_to_llir\n\n'
        "Traceback (most recent call last):\n"
        '  File "a.py", line 1, in <module>\n'
        "ValueError: first part\n"
        "  second part\n"
    )
    assert {d.id for d in only(tmp_path).classify(log).diagnoses} == {"crash", "two-lines"}


# -- family answers (role: fallback) and the raising frame -------------------------------------------------------

_VLLM_BUG = (
    "Traceback (most recent call last):\n"
    '  File "/app/serve.py", line 3, in <module>\n'
    "    llm.generate(p)\n"
    '  File "/usr/lib/python3.12/site-packages/vllm/model_executor/models/qwen2.py", line 412, in forward\n'
    "    layer = self.layers[idx]\n"
    "IndexError: list index out of range\n"
)
_USER_BUG = (
    "Traceback (most recent call last):\n"
    '  File "/usr/lib/python3.12/site-packages/vllm/entrypoints/llm.py", line 90, in generate\n'
    "    self._run()\n"
    '  File "/app/serve.py", line 3, in handler\n'
    "    x = results[5]\n"
    "IndexError: list index out of range\n"
)


def _fallback_pack(tmp_path: Path) -> Classifier:
    write_rule(tmp_path, "vllm-bug", "exception: {type: IndexError, raised_in: '(?:^|/)vllm/'}\n",
               severity="info", extra="role: fallback\n")
    write_rule(tmp_path, "cuda-oom", "contains: 'CUDA out of memory'\n")
    return only(tmp_path)


def test_raised_in_matches_the_raising_frame_and_captures_it(tmp_path: Path) -> None:
    c = _fallback_pack(tmp_path)
    r = c.classify(_VLLM_BUG)
    (d,) = r.diagnoses
    assert d.id == "vllm-bug"
    assert d.captures["raised_file"] == "vllm/model_executor/models/qwen2.py"
    assert d.captures["raised_line"] == "412" and d.captures["raised_function"] == "forward"
    assert d.captures["raised_type"] == "IndexError"
    # vLLM is on the stack but the user's frame raised: not a vLLM bug
    assert c.classify(_USER_BUG).diagnoses == []


# A model file of vLLM calls into torch, which raises: the innermost vLLM frame is the model's, the raising one torch's
_MODEL_CALLS_TORCH = (
    "Traceback (most recent call last):\n"
    '  File "/usr/lib/python3.12/site-packages/vllm/v1/worker/gpu_model_runner.py", line 1500, in execute_model\n'
    "    out = self.model(x)\n"
    '  File "/usr/lib/python3.12/site-packages/vllm/model_executor/models/qwen2_vl.py", line 880, in forward\n'
    "    emb = self.visual(pixels)\n"
    '  File "/usr/lib/python3.12/site-packages/torch/nn/modules/module.py", line 1739, in _call_impl\n'
    "    return forward_call(*args, **kwargs)\n"
    "RuntimeError: shape '[4, -1]' is invalid for input of size 10\n"
)
_RUNNER_CALLS_TORCH = _MODEL_CALLS_TORCH.replace("models/qwen2_vl.py", "layers/rotary_embedding.py")
_INNERMOST = """\
exception:
  type: RuntimeError
  raised_in: '(?:^|/)torch/'
  innermost:
    among: '(?:^|/)vllm/'
    file: 'vllm/model_executor/models/(?P<model_file>\\w+)\\.py$'
"""


def test_innermost_names_the_deepest_frame_of_one_code_base(tmp_path: Path) -> None:
    write_rule(tmp_path, "model-bug", _INNERMOST)
    c = only(tmp_path)
    (d,) = c.classify(_MODEL_CALLS_TORCH).diagnoses
    assert d.captures["model_file"] == "qwen2_vl"
    assert d.captures["innermost_file"] == "vllm/model_executor/models/qwen2_vl.py"
    assert d.captures["innermost_line"] == "880" and d.captures["innermost_function"] == "forward"
    assert d.captures["raised_file"] == "torch/nn/modules/module.py"  # raised_in still holds on the torch frame
    assert any(e.line == 4 for e in d.evidence)  # the model file's `File` line is evidence
    # the deepest vLLM frame is a layer, not a model file: no match, though a model file... is not on the stack
    assert c.classify(_RUNNER_CALLS_TORCH).diagnoses == []
    # an outer frame of a model file does not count: only the innermost vLLM frame is checked
    outer_model = _RUNNER_CALLS_TORCH.replace(
        "v1/worker/gpu_model_runner.py", "model_executor/models/llama.py")
    assert c.classify(outer_model).diagnoses == []
    # no vLLM frame at all
    assert c.classify(_MODEL_CALLS_TORCH.replace("/vllm/", "/myapp/")).diagnoses == []


def test_innermost_function_and_the_capture_check(tmp_path: Path) -> None:
    write_rule(tmp_path, "in-forward", """\
exception:
  type: RuntimeError
  innermost: {among: '(?:^|/)vllm/', function: 'forward|load_weights'}
""", title="Raised below {innermost_function} of {innermost_file}")
    c = only(tmp_path)
    (d,) = c.classify(_MODEL_CALLS_TORCH).diagnoses
    assert d.title == "Raised below forward of vllm/model_executor/models/qwen2_vl.py"
    assert c.classify(_MODEL_CALLS_TORCH.replace("in forward", "in encode")).diagnoses == []
    # `innermost` needs `file` or `function`; a capture it does not give is an unknown placeholder
    bad = tmp_path / "bad"
    bad.mkdir()
    write_rule(bad, "no-test", "exception: {type: RuntimeError, innermost: {among: 'vllm/'}}\n")
    with pytest.raises(RuleError, match="innermost needs `file` or `function`"):
        load_rules(bad, builtin=False)
    worse = tmp_path / "worse"
    worse.mkdir()
    write_rule(worse, "no-cap", "exception: {type: RuntimeError, innermost: {among: 'vllm/', function: f}}\n",
               title="In {model_file}")
    with pytest.raises(RuleError, match="model_file"):
        load_rules(worse, builtin=False)


def test_fallback_keeps_the_fingerprint_and_yields_to_a_specific_cause(tmp_path: Path) -> None:
    c = _fallback_pack(tmp_path)
    r = c.classify(_VLLM_BUG)
    assert [d.id for d in r.diagnoses] == ["vllm-bug"]
    assert r.unrecognized and "IndexError" in r.unrecognized[0].error  # mine can still group it
    r = c.classify(_VLLM_BUG + "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB\n")
    assert [d.id for d in r.diagnoses] == ["cuda-oom"]


def test_unrecognised_failure_names_the_family_answer_that_answered_it(tmp_path: Path) -> None:
    """Renderers read `generic_answer` instead of guessing from "an alarm beside an unrecognised failure"."""
    c = _fallback_pack(tmp_path)
    (u,) = c.classify(_VLLM_BUG).unrecognized
    assert u.generic_answer == "vllm-bug"
    assert "#### No specific rule" in render_markdown(c.classify(_VLLM_BUG))
    (u,) = c.classify("INFO start\n" + _USER_BUG).unrecognized
    assert u.generic_answer is None


def test_a_fallback_note_beside_a_specific_note_on_the_same_request_is_dropped(tmp_path: Path) -> None:
    write_rule(tmp_path, "rejected-4xx", "contains: '400 Bad Request'\n", severity="info", extra="role: fallback\n")
    write_rule(tmp_path, "bad-role-order", "contains: 'Unexpected role'\n", severity="info")
    c = only(tmp_path)
    request = ("ERROR 03-04 14:55:30 [serving.py:315] ValueError: Unexpected role 'user' after role 'tool'\n"
               'INFO: 10.0.0.8:52596 - "POST /v1/chat/completions HTTP/1.1" 400 Bad Request\n')
    assert [d.id for d in c.classify(request).diagnoses] == ["bad-role-order"]
    # another rejected request, far from the explained one: the generic note stays for it
    later = "".join(f"INFO 03-04 14:56:{i:02d} [metrics.py:1] Avg prompt throughput: 1 tokens/s\n" for i in range(20))
    other = 'INFO: 10.0.0.9:52600 - "POST /v1/chat/completions HTTP/1.1" 400 Bad Request\n'
    assert {d.id for d in c.classify(other + later + request).diagnoses} == {"bad-role-order", "rejected-4xx"}
