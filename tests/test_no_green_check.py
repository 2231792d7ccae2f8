"""Any sign of a failure gets an answer: a bare exception line, a traceback cut before its exception line.

And the look-alike causes shown for an unrecognised failure must share a distinctive word with it, so a Python
phrase such as "cannot import name" alone does not make two failures related.
"""

from __future__ import annotations

import pytest

from logclassify import default_classifier
from logclassify.engine.classifier import Classifier
from logclassify.engine.unknown import nearest_causes
from logclassify.read.normalize import normalize_line

HEADER = "INFO 05-01 10:00:00 llm_engine.py:100] Initializing an LLM engine (v0.6.3)\n"


# Without rules: these tests are about the failure-line shapes themselves, which must be failures even when no rule
# names their cause (several of these lines have their own rule now; their fixtures test that answer).
_NO_RULES = Classifier(rules=[])


def _unknown(text: str) -> list[str]:
    report = _NO_RULES.classify(text)
    assert not report.diagnoses, report.diagnoses
    return [u.error for u in report.unrecognized]


def test_a_bare_assertion_after_its_assert_statement_is_a_failure() -> None:
    errors = _unknown(HEADER + "    assert self.total_num_heads % tp_size == 0\nAssertionError\n")
    assert errors == ["AssertionError"]


def test_two_bare_assertions_are_told_apart_by_their_assert_statement() -> None:
    clf = default_classifier()
    one = clf.classify(HEADER + "    assert self.total_num_heads % tp_size == 0\nAssertionError\n").unrecognized
    two = clf.classify(HEADER + "    assert num_gpu_blocks > 0\nAssertionError\n").unrecognized
    assert one[0].fingerprint != two[0].fingerprint
    assert [e.line for e in one[0].evidence] == [2, 3]


@pytest.mark.parametrize(
    "line",
    [
        "ImportError: cannot import name 'LRUCache' from 'cachetools' (/usr/lib/python3/site-packages/cachetools/__init__.py)",
        "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: worker 3 exited",
    ],
)
def test_an_exception_line_pasted_without_its_traceback_is_a_failure(line: str) -> None:
    (error,) = _unknown(HEADER + line + "\n")
    assert error.split(":")[0] == line.split(":")[0]


def test_a_family_answer_keeps_the_failure_visible() -> None:
    """`python-module-missing` (role fallback) answers a missing package no rule knows; the failure stays listed as
    unrecognised, with its fingerprint, so mining still groups it."""
    report = default_classifier().classify(HEADER + "ModuleNotFoundError: No module named 'my_site_plugin'\n")
    assert [d.id for d in report.diagnoses] == ["python-module-missing"]
    assert [u.error.split(":")[0] for u in report.unrecognized] == ["ModuleNotFoundError"]
    assert report.unrecognized[0].related == []


def test_a_traceback_cut_before_its_exception_names_its_last_frame() -> None:
    text = HEADER + (
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.10/runpy.py", line 196, in _run_module_as_main\n'
        "    return _run_code(code, main_globals, None,\n"
        '  File "/usr/local/lib/python3.10/dist-packages/vllm/worker/worker.py", line 120, in load_model\n'
        "    self.model_runner.load_model()\n"
    )
    report = default_classifier().classify(text)
    (u,) = report.unrecognized
    assert "stops inside a traceback" in u.error and "load_model" in u.error and "worker/worker.py:120" in u.error
    assert u.line == 5


def test_prose_and_info_lines_naming_errors_are_not_failures() -> None:
    text = HEADER + (
        "INFO 05-01 10:00:01 api_server.py:10] Retrying after ConnectionError: peer closed\n"
        "The ValueError raised here is handled by the caller.\n"
        "WARNING 05-01 10:00:02 utils.py:5] ImportError: flash_attn not found, using xformers\n"
    )
    assert default_classifier().classify(text).unrecognized == []


def test_python_phrasing_alone_suggests_no_related_cause() -> None:
    rules = default_classifier().rules
    error = "ImportError: cannot import name 'LRUCache' from 'cachetools' (/usr/lib/python3/site-packages/cachetools/__init__.py)"
    assert nearest_causes(error, rules) == []
    assert nearest_causes("Error in preprocessing prompt inputs", rules) == []
    # an exception class name is Python's phrasing too: ModuleNotFoundError alone relates no two failures
    assert nearest_causes("ModuleNotFoundError: No module named 'qwen_vl_utils'", rules) == []


def test_a_guessed_note_does_not_hide_the_runtime_error_it_guesses_about() -> None:
    """nccl-cumem-mismatch.external-pynccl is a guess (confidence 0.45) about a RuntimeError: the note stays, and
    the RuntimeError stays listed as an unrecognised failure, so the paste never reads as healthy."""
    text = (
        '[rank0]:   File "/opt/venv/lib/python3.12/site-packages/vllm/distributed/device_communicators/'
        'pynccl_wrapper.py", line 256, in NCCL_CHECK\n'
        '[rank0]:     raise RuntimeError(f"NCCL error: {error_str}")\n'
        "[rank0]: RuntimeError: NCCL error: unhandled system error (run with NCCL_DEBUG=INFO for details)\n"
    )
    report = default_classifier().classify(text)
    assert [d.id for d in report.diagnoses] == ["nccl-cumem-mismatch.external-pynccl"]
    assert [(u.error.split(":")[0], u.line) for u in report.unrecognized] == [("RuntimeError", 3)]


@pytest.mark.parametrize(
    "stamp",
    ["12月 05 10:00:01", "12월 05 10:00:01", "déc. 05 10:00:01", "Dez 05 10:00:01", "дек 05 10:00:01"],
)
def test_a_journald_prefix_with_a_localised_month_is_peeled(stamp: str) -> None:
    """`journalctl -o short` writes the month in the locale's abbreviation; the prefix still comes off, so a rule
    anchored at the start of a message (here CUDA OOM's exception line) sees the message."""
    line = f"{stamp} gpu-node-1 vllm[2041]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
    (rec,) = normalize_line(1, line)
    assert rec.message.startswith("torch.OutOfMemoryError: CUDA out of memory.") and rec.timestamp == stamp


@pytest.mark.parametrize(
    ("text", "error"),
    [
        # instructlab/instructlab#3466: a launcher that hides vLLM's own output
        ("vLLM failed to start.  Retry with --enable-serving-output to learn more about the failure.\n"
         "Using unknown model family: meta-llama specified by user.\n",
         "vLLM failed to start.  Retry with --enable-serving-output to learn more about the failure."),
        # ray-project/ray#54739: a module-qualified exception in a table cell of another tool's log viewer
        ("U | 2025-07-18 11:29:37.824 | worker |   | ray.exceptions.ActorDiedError: The actor died because of an error "
         "raised in its creation task, ray::_EngineBackgroundProcess.__init__() (pid=5555)\n",
         "ray.exceptions.ActorDiedError: The actor died because of an error raised in its creation task, "
         "ray::_EngineBackgroundProcess.__init__() (pid=5555)"),
        # vllm-project/vllm#7070: pydantic v1's error list, "<message> (type=value_error)"
        ("1. Please use Flashinfer backend for models with logits_soft_cap (i.e., Gemma-2). Otherwise, the output might "
         "be wrong. Set Flashinfer backend by export VLLM_ATTENTION_BACKEND=FLASHINFER. (type=value_error)\n",
         "1. Please use Flashinfer backend for models with logits_soft_cap (i.e., Gemma-2). Otherwise, the output might "
         "be wrong. Set Flashinfer backend by export VLLM_ATTENTION_BACKEND=FLASHINFER. (type=value_error)"),
        # vllm-project/vllm#2020: IPython's traceback header, the paste cut before the exception line
        ("RayTaskError(KeyError)                    Traceback (most recent call last)\nCell In[2], line 1\n"
         '----> 1 llm = LLM(model="mistralai/Mixtral-8x7B-v0.1", tensor_parallel_size=2)\n',
         "RayTaskError(KeyError)"),
        # odysseus-dev/odysseus#191: frames without `File "`, the paste stops at the raise statement
        ('transformers/integrations/hub_kernels.py", line 89, in <module>\n    "cuda": LayerRepository(\n'
         'kernels/layer/layer.py", line 76, in __init__\n'
         '    raise ValueError("Either a revision or a version must be specified.")\n',
         "ValueError: Either a revision or a version must be specified."),
    ],
)
def test_failure_line_shapes_without_a_log_level_are_failures(text: str, error: str) -> None:
    assert _unknown(text) == [error]


def test_a_user_interrupt_in_ipython_is_no_failure() -> None:
    text = HEADER + "KeyboardInterrupt                         Traceback (most recent call last)\nCell In[3], line 1\n"
    assert default_classifier().classify(text).unrecognized == []


def test_a_raise_statement_with_its_exception_line_below_reports_the_exception_line() -> None:
    text = HEADER + (
        'kernels/layer/layer.py", line 76, in __init__\n'
        '    raise ValueError("Either a revision or a version must be specified.")\n'
        "ValueError: Either a revision or a version must be specified.\n"
    )
    (u,) = _NO_RULES.classify(text).unrecognized
    assert u.line == 4


def test_ray_actor_died_points_at_the_error_of_the_actors_constructor() -> None:
    """ActorDiedError only says that the actor's constructor raised; the error it raised is the failure."""
    text = HEADER + (
        "Traceback (most recent call last):\n"
        '  File "/app/serve.py", line 10, in <module>\n'
        "    ray.get(handle.ready.remote())\n"
        "ray.exceptions.ActorDiedError: The actor died because of an error raised in its creation task, "
        "ray::_EngineBackgroundProcess.__init__() (pid=5555, ip=10.0.0.1)\n"
        '  File "/usr/local/lib/python3.11/site-packages/vllm/config.py", line 300, in _get_and_verify_dtype\n'
        '    if config_dtype.startswith("float"):\n'
        "AttributeError: 'torch.dtype' object has no attribute 'startswith'\n"
    )
    (u,) = default_classifier().classify(text).unrecognized
    assert u.error == "AttributeError: 'torch.dtype' object has no attribute 'startswith'"


def test_an_error_quoted_in_backticks_on_its_own_line_of_an_issue_body_is_read() -> None:
    """huggingface/transformers#26458: the error is inline code in the prose, not in a fenced block."""
    body = (
        "Mistral AI claims its supports VLLM.\n"
        "`python -u -m vllm.entrypoints.openai.api_server --host 0.0.0.0 --model mistralai/Mistral-7B-v0.1`\n\n"
        "But getting error:\n"
        "`ValueError: Model architectures ['MistralForCausalLM'] are not supported for now. Supported architectures: "
        "['LlamaForCausalLM', 'OPTForCausalLM']`\n\n```\npip list\n```\n"
    )
    report = default_classifier().classify(body, input_format="markdown")
    assert [d.id for d in report.diagnoses][:1] == ["model-arch-unsupported"]


def test_an_exception_quoted_after_a_label_in_the_prose_of_an_issue_body_is_read() -> None:
    """vllm-project/vllm#7622: the error is a sentence of the body, after a label (报错信息, "error message")."""
    body = (
        "部署指令：\n"
        "```\nvllm serve /models/Qwen2-7B-Instruct --enable-lora --lora-modules bi-lora=/saves/lora/checkpoint-1500/\n```\n"
        "报错信息：RuntimeError: Loading lora /saves/lora/checkpoint-1500/ failed\n"
        "如果 访问base模型是没问题的\n"
        "The server itself works; see the Error section below for details.\n"
    )
    report = default_classifier().classify(body, input_format="markdown")
    assert [u.error for u in report.unrecognized] == ["RuntimeError: Loading lora /saves/lora/checkpoint-1500/ failed"]
    assert report.unrecognized[0].line == 5


def test_a_launcher_saying_the_server_failed_to_start_yields_to_the_error_it_announces() -> None:
    """"vLLM failed to start" (InstructLab) only announces a failure; the error line, when pasted, is the answer."""
    text = (
        "ERROR 03-02 10:00:01 [core.py:10] RuntimeError: Engine core proc EngineCore_0 died unexpectedly\n"
        "vLLM failed to start.  Retry with --enable-serving-output to learn more about the failure.\n"
    )
    assert _unknown(text) == ["RuntimeError: Engine core proc EngineCore_0 died unexpectedly"]
    text = (
        "vLLM failed to start.  Retry with --enable-serving-output to learn more about the failure.\n"
        "ERROR 03-02 10:00:01 [utils.py:10] Could not open the model folder /models/x\n"
    )
    assert _unknown(text) == ["Could not open the model folder /models/x"]


def test_a_rank_prefix_cut_before_a_traceback_header_is_not_an_ipython_header() -> None:
    """IPython's header names an exception type before `Traceback`; a pasted torch rank prefix ("rank0]: ") does not:
    the traceback after it is what the answer quotes."""
    text = HEADER + (
        "rank0]: Traceback (most recent call last):\n"
        '[rank0]:   File "/usr/local/lib/python3.10/dist-packages/vllm/engine/async_llm_engine.py", line 360, in __init__\n'
        "[rank0]:     self.engine = self._init_engine(*args, **kwargs)\n"
    )
    (u,) = default_classifier().classify(text).unrecognized
    assert u.error.startswith("the log stops inside a traceback"), u.error
