"""Answers in the user's own numbers: placeholders checked at load, values derived from the log with their lines,
a generic step when an input is missing, the user's command read back and corrected (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import logclassify
from logclassify import RuleError, load_rules
from logclassify.models import Command, Report
from logclassify.parse.cmdline import apply, render
from logclassify.parse.command import read_line
from logclassify.render.markdown import render_markdown
from logclassify.render.text import render_text

HEAD = "title: A test rule\nseverity: error\ncause: Something failed in a test.\n"
KV_V1 = (
    "(EngineCore_0 pid=1) ERROR 08-20 10:01:00 [core.py:700] ValueError: To serve at least one request with the "
    "models's max seq len (40960), (5.62 GiB KV cache is needed, which is larger than the available KV cache memory "
    "(3.10 GiB). Based on the available memory, the estimated maximum model length is 22576. Try increasing "
    "`gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine."
)
ARGS = ("INFO 08-20 10:00:00 [utils.py:326] non-default args: {'model_tag': 'Qwen/Qwen3-8B', 'model': "
        "'Qwen/Qwen3-8B', 'api_key': 'sk-abc123', 'max_model_len': 40960}")


def problems(d: Path) -> list[str]:
    with pytest.raises(RuleError) as err:
        load_rules(d, builtin=False)
    return err.value.problems


def write_rule(d: Path, body: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    path = d / "test-rule.yaml"
    path.write_text(f"id: test-rule\n{HEAD}{body}")
    return path


# -- placeholders are checked at load -----------------------------------------------------------------------------


def test_an_unknown_capture_names_file_line_and_field(tmp_path: Path) -> None:
    path = write_rule(tmp_path, "fix:\n  - Use {max_lenn} tokens.\nmatch:\n  regex: 'len (?P<max_len>\\d+) too big'\n")
    (p,) = problems(tmp_path)
    assert p.startswith(f"{path}:6: rule test-rule: fix[0]: {{max_lenn}} is no capture")
    assert "did you mean `max_len`" in p and p.endswith("[unknown-placeholder]")


def test_unknown_value_and_fact_names_are_errors(tmp_path: Path) -> None:
    write_rule(tmp_path, "fix:\n  - text: 'Run with {values.max_len_fit} and {facts.tensor_paralel_size}'\n"
               "    else: Lower the length.\nmatch:\n  contains: boom here\n")
    found = problems(tmp_path)
    assert any(":6: rule test-rule: fix[0].text: no derived value 'max_len_fit'" in p and "`max_len_fits`" in p
               for p in found)
    assert any("no fact 'tensor_paralel_size'" in p for p in found)


def test_a_value_outside_a_conditional_step_is_an_error(tmp_path: Path) -> None:
    write_rule(tmp_path, "fix:\n  - Run with --max-model-len {values.max_len_fits}.\nmatch:\n  contains: boom here\n")
    (p,) = problems(tmp_path)
    assert ":6: rule test-rule: fix[0]: {values.max_len_fits} may be missing" in p and "`else:`" in p


def test_command_changes_and_conditions_are_checked_too(tmp_path: Path) -> None:
    write_rule(tmp_path, "fix:\n  - text: Lower it.\n    set: {max_model_len: '{values.nope}'}\n"
               "    when: {values.oom_phse: [profile]}\nmatch:\n  contains: boom here\n")
    found = problems(tmp_path)
    assert any("fix[0].set.max_model_len: no derived value 'nope'" in p for p in found)
    assert any(":8: rule test-rule: fix[0].when.values.oom_phse: no derived value 'oom_phse'" in p for p in found)


def test_braces_that_are_no_placeholder_are_text(tmp_path: Path) -> None:
    write_rule(tmp_path, "fix:\n  - 'Pass --hf-overrides ''{\"rope_scaling\": {\"type\": \"yarn\"}}'''\n"
               "match:\n  contains: boom here\n")
    assert [r.id for r in load_rules(tmp_path, builtin=False)] == ["test-rule"]


# -- values in the answer, or the generic step --------------------------------------------------------------------


def kv(report: Report) -> logclassify.Diagnosis:
    (d,) = [d for d in report.diagnoses if d.id == "kv-cache-insufficient"]
    return d


def test_kv_cache_values_and_the_corrected_command() -> None:
    d = kv(logclassify.classify(ARGS + "\n" + KV_V1 + "\n"))
    values = {v.name: (v.value, v.lines) for v in d.values}
    assert values["max_len_fits"] == ("22576", [2]) and values["wanted_len"] == ("40960", [2])
    assert d.fix[0].startswith("Lower the context length to what fits: `--max-model-len 22576`")
    (cmd,) = d.commands
    assert cmd.step == 1 and cmd.command == "vllm serve Qwen/Qwen3-8B --api-key '<redacted>' --max-model-len 22576"
    assert [(c.action, c.name, c.old, c.value) for c in cmd.changes] == [("set", "max_model_len", 40960, 22576)]


def test_without_the_inputs_the_generic_step_and_no_command() -> None:
    cut = KV_V1.split(" Based on")[0]  # an older vLLM: no estimate
    d = kv(logclassify.classify(ARGS + "\n" + cut + "\n"))
    assert d.fix[0].startswith("Lower the context length to what you need, e.g. `--max-model-len 8192`")
    assert d.commands == [] and "max_len_fits" not in {v.name for v in d.values}


def test_utilization_for_the_wanted_length_needs_the_total_and_the_current_fraction() -> None:
    budget = ("INFO 08-20 10:00:50 [worker.py:1] the current vLLM instance can use total_gpu_memory (23.58GiB) x "
              "gpu_memory_utilization (0.90) = 21.22GiB")
    d = kv(logclassify.classify("\n".join([ARGS, budget, KV_V1]) + "\n"))
    values = {v.name: v for v in d.values}
    # 0.90 + (5.62 - 3.10) / 23.58 = 1.0069: above 0.98, so not offered
    assert "util_for_len" not in values and d.fix[1].startswith("Give vLLM a larger share of the GPU, e.g.")
    big = budget.replace("23.58GiB", "79.15GiB")
    d = kv(logclassify.classify("\n".join([ARGS, big, KV_V1]) + "\n"))
    values = {v.name: v for v in d.values}
    assert values["util_for_len"].value == "0.94" and values["util_for_len"].lines == [2, 3]  # 0.9 + 2.52/79.15
    assert "`--gpu-memory-utilization 0.94`" in d.fix[1]
    assert [c.command for c in d.commands][1].endswith("--max-model-len 40960 --gpu-memory-utilization 0.94")


def test_redaction_covers_values_filled_into_the_text() -> None:
    line = ("[W socket.cpp:1] The client socket has timed out after 600s while trying to connect to (10.1.2.3, "
            "29500).\nWARNING 01-01 00:00:00 utils.py:1] Failed to get the IP address, using 0.0.0.0 by default.")
    report = logclassify.classify(line + "\n", redact_hosts=True)
    assert "10.1.2.3" not in report.model_dump_json()


# -- the user's command -------------------------------------------------------------------------------------------


def test_non_default_args_are_the_command_and_secrets_never_kept() -> None:
    found = read_line(ARGS.split("] ", 1)[1], 3)
    assert found is not None and found.source == "non-default args" and found.complete
    assert found.args["api_key"] == "<redacted>" and found.args["max_model_len"] == 40960


def test_a_namespace_drops_vllm_defaults() -> None:
    line = ("args: Namespace(host=None, port=8000, model='meta-llama/Llama-2-7b-chat-hf', tensor_parallel_size=2, "
            "gpu_memory_utilization=0.9, enforce_eager=True, allowed_origins=['*'], hf_token='hf_abc', "
            "dtype=torch.float16)")
    found = read_line(line, 1)
    assert found is not None
    assert found.args == {"model": "meta-llama/Llama-2-7b-chat-hf", "tensor_parallel_size": 2, "enforce_eager": True,
                          "hf_token": "<redacted>", "dtype": "torch.float16"}


def test_an_engine_config_line_is_a_partial_command() -> None:
    line = ("Initializing an LLM engine (v0.5.4) with config: model='m/x', speculative_config=None, tokenizer='m/x', "
            "dtype=torch.bfloat16, max_seq_len=4096, tensor_parallel_size=2, enforce_eager=False, seed=0)")
    found = read_line(line, 7)
    assert found is not None and not found.complete
    # dtype and max_seq_len are resolved from the model's config when not given: not taken as the user's
    assert found.args == {"model": "m/x", "tensor_parallel_size": 2}


def test_a_line_cut_inside_its_arguments_is_no_command() -> None:
    assert read_line("non-default args: {'model': 'x', 'max_model_len'", 1) is None


def test_a_typed_command_keeps_its_settings_and_continuation_lines() -> None:
    # as pasted in issues: settings on a line of their own, then the command continued with backslashes
    log = ("HF_TOKEN=hf_abcdef CUDA_VISIBLE_DEVICES=1,5 \\\n"
           "vllm serve /data/models/m \\\n  --max-model-len 65536 \\\n  --port 10808\n" + KV_V1 + "\n")
    report = logclassify.classify(log)
    assert report.command is not None and report.command.complete and report.command.line == 2
    assert report.command.args == {"model": "/data/models/m", "max_model_len": 65536, "port": 10808}
    assert report.command.program == "HF_TOKEN=<redacted> CUDA_VISIBLE_DEVICES=1,5 vllm serve"
    (d,) = report.diagnoses
    assert [c.command for c in d.commands] == [
        "HF_TOKEN=<redacted> CUDA_VISIBLE_DEVICES=1,5 vllm serve /data/models/m --max-model-len 22576 --port 10808"]


@pytest.mark.parametrize("line", [
    "`bash CUDA_VISIBLE_DEVICES=0,1 vllm serve ./m --pipeline-parallel-size 2`",  # a fence's tag written inline
    "`CUDA_VISIBLE_DEVICES=0,1 vllm serve ./m --pipeline-parallel-size 2`",
])
def test_a_command_pasted_as_inline_code_is_read(line: str) -> None:
    found = read_line(line, 1)
    assert found is not None and found.complete
    assert found.args == {"model": "./m", "pipeline_parallel_size": 2}
    assert found.program == "CUDA_VISIBLE_DEVICES=0,1 vllm serve"


def test_one_dash_aliases_are_read_and_unknown_ones_are_no_command() -> None:
    found = read_line("vllm serve /m --enable-chunked-prefill -tp 2 -pp=2 -q awq --max-model-len 15000", 1)
    assert found is not None and found.args == {"model": "/m", "enable_chunked_prefill": True,
                                                "tensor_parallel_size": 2, "pipeline_parallel_size": 2,
                                                "quantization": "awq", "max_model_len": 15000}
    assert read_line("vllm serve /m -x 2", 1) is None  # a one-dash flag whose long name is not known


def test_prose_naming_a_command_is_no_command() -> None:
    assert read_line("I ran `vllm serve ./m --pipeline-parallel-size 2` and it failed", 1) is None
    assert read_line("bash: vllm serve: command not found", 1) is None


def test_set_add_remove_and_the_offline_form() -> None:
    args = {"model": "m/x", "max_model_len": 32768, "swap_space": 16}
    new, changes = apply(args, [("set", "max_model_len", 8192), ("add", "enforce_eager", True),
                                ("remove", "swap_space", None), ("set", "model", "m/x")])
    assert [c.action for c in changes] == ["set", "add", "remove"]
    serve = Command(kind="serve", source="non-default args", line=1, text="")
    assert render(serve, new) == "vllm serve m/x --max-model-len 8192 --enforce-eager"
    offline = Command(kind="offline", source="non-default args", line=1, text="")
    assert render(offline, new) == "LLM(model='m/x', max_model_len=8192, enforce_eager=True)"


# -- every output shows them --------------------------------------------------------------------------------------


def test_text_markdown_and_json_show_the_values_and_command() -> None:
    report = logclassify.classify(ARGS + "\n" + KV_V1 + "\n")
    text = render_text(report)
    assert "22576 the longest max_model_len" in text and "--max-model-len 22576" in text
    assert "(set --max-model-len 40960 -> 22576)" in text
    md = render_markdown(report)
    assert "```sh\n   vllm serve Qwen/Qwen3-8B --api-key '<redacted>' --max-model-len 22576\n" in md
    data = json.loads(report.model_dump_json())
    assert data["command"]["args"]["max_model_len"] == 40960
    assert data["diagnoses"][0]["commands"][0]["command"].endswith("--max-model-len 22576")
    assert Report.model_validate(data) == report


# -- fixtures pin the values and commands -------------------------------------------------------------------------


def test_a_fixture_pins_values_and_a_wrong_one_fails(tmp_path: Path) -> None:
    from logclassify.engine.fixtures import check_fixture

    log = tmp_path / "kv.log"
    log.write_text(ARGS + "\n" + KV_V1 + "\n")
    expect = tmp_path / "kv.expect.yaml"
    pinned = ("expect:\n  - id: kv-cache-insufficient\n    evidence:\n"
              "      - {line: 2, text: '(EngineCore_0 pid=1) ERROR 08-20 10:01:00'}\n"
              "    values:\n      - {name: max_len_fits, value: '22576', lines: [2]}\n"
              "      - {name: wanted_len, value: '40960', lines: [2]}\n    commands:\n"
              "      - {step: 1, command: 'vllm serve Qwen/Qwen3-8B --api-key ''<redacted>'' --max-model-len 22576'}\n")
    expect.write_text(pinned)
    clf = logclassify.Classifier()
    assert check_fixture(clf, expect, log).ok
    expect.write_text(pinned.replace("'22576', lines", "'22577', lines"))
    result = check_fixture(clf, expect, log)
    assert not result.ok and "- kv-cache-insufficient value max_len_fits = 22577 (lines [2])" in result.diff
    # pinned without `values`: the generic answer is expected, so a value found is a difference
    expect.write_text(pinned.split("    values:")[0])
    assert any(d.startswith("+ kv-cache-insufficient value max_len_fits = 22576") for d in
               check_fixture(clf, expect, log).diff)


def test_oom_phase_picks_the_step_and_adds_a_flag() -> None:
    log = "\n".join([
        ARGS,
        "INFO 08-20 10:02:00 [gpu_model_runner.py:2000] Capturing CUDA graphs (mixed prefill-decode, PIECEWISE)",
        "(EngineCore_0 pid=1) ERROR 08-20 10:02:05 [core.py:700] torch.OutOfMemoryError: CUDA out of memory. Tried to "
        "allocate 224.00 MiB. GPU 0 has a total capacity of 23.64 GiB of which 98.81 MiB is free.",
    ]) + "\n"
    (d,) = [d for d in logclassify.classify(log).diagnoses if d.id == "cuda-oom"]
    values = {v.name: v.value for v in d.values}
    assert values["oom_phase"] == "cuda_graphs" and values["oom_short"] == "125.19 MiB"
    assert d.fix[0].startswith("GPU 0 had 98.81 MiB free of 23.64 GiB when 224.00 MiB more was asked")
    step = next(i for i, f in enumerate(d.fix, 1) if f.startswith("It ran out while capturing CUDA graphs"))
    (cmd,) = d.commands
    assert cmd.step == step and cmd.command.endswith("--max-model-len 40960 --enforce-eager")
    assert [(c.action, c.name) for c in cmd.changes] == [("add", "enforce_eager")]
    md = render_markdown(logclassify.classify(log))
    assert "# added --enforce-eager" in md


def test_markdown_gives_offline_commands_as_python() -> None:
    log = ("INFO 01-11 15:51:02 llm_engine.py:70] Initializing an LLM engine with config: model='m/x', "
           "tokenizer='m/x', dtype=torch.float16, max_seq_len=4096, tensor_parallel_size=1, seed=0)\n"
           "ValueError: The model's max seq len (4096) is larger than the maximum number of tokens that can be "
           "stored in KV cache (3664). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when "
           "initializing the engine.\n")
    md = render_markdown(logclassify.classify(log))
    # rebuilt from the engine config line, which shows only some arguments: said after the change
    assert ("```python\n   LLM(model='m/x', max_model_len=3664)\n   # added max_model_len=3664; the log shows only "
            "part of your command: keep the arguments it leaves out\n") in md


def test_a_capture_fills_a_step_and_sets_an_argument() -> None:
    log = ARGS + "\nValueError: max_num_batched_tokens (2048) is smaller than max_model_len (40960). This effectively " \
        "limits the maximum sequence length to max_num_batched_tokens and makes vLLM reject longer sequences.\n"
    (d,) = [d for d in logclassify.classify(log).diagnoses if d.id == "batched-tokens-below-max-model-len"]
    assert "`--max-num-batched-tokens 40960` (it is 2048)" in d.fix[1]
    (cmd,) = d.commands
    assert cmd.step == 2 and cmd.command.endswith("--max-model-len 40960 --max-num-batched-tokens 40960")


def _oom_traceback(*functions: str, budget: bool = False) -> str:
    lines = ["INFO 03-27 10:29:01 [worker.py:267] the current vLLM instance can use total_gpu_memory (44.53GiB) x "
             "gpu_memory_utilization (0.98) = 43.64GiB"] if budget else []
    lines.append("ERROR 03-27 10:29:13 [worker_base.py:620] Traceback (most recent call last):")
    for i, fn in enumerate(functions):
        lines += [f'ERROR 03-27 10:29:13 [worker_base.py:620]   File "/vllm/worker/x.py", line {10 + i}, in {fn}',
                  "ERROR 03-27 10:29:13 [worker_base.py:620]     step()"]
    lines.append("ERROR 03-27 10:29:13 [worker_base.py:620] torch.OutOfMemoryError: CUDA out of memory. Tried to "
                 "allocate 2.00 MiB. GPU 6 has a total capacity of 44.53 GiB of which 448.00 KiB is free.")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("functions", "phase", "step"), [
    (("initialize_cache", "_init_cache_engine", "__init__", "_allocate_kv_cache"), "kv_cache",
     "It ran out while allocating the KV cache"),
    # V1: capture and profiling both run `_dummy_run`; the innermost known frame decides
    (("compile_or_warm_up_model", "capture_model", "_dummy_run", "forward"), "cuda_graphs",
     "It ran out while capturing CUDA graphs"),
    (("determine_available_memory", "profile_run", "_dummy_sampler_run", "forward"), "sampler",
     "It ran out warming up the sampler"),
    (("determine_num_available_blocks", "profile_run", "execute_model"), "profile", "It ran out in the profiling run"),
    # V0's initialize_cache allocates the KV cache, then captures the graphs: the inner frame decides
    (("execute_method", "initialize_cache", "_warm_up_model", "capture_model"), "cuda_graphs",
     "It ran out while capturing CUDA graphs"),
    # the engine's request loop runs only after start-up: serving, even where an inner frame has a start-up name
    (("run_busy_loop", "_process_engine_step", "execute_model", "load_model"), "serving",
     "It ran out while serving requests"),
])
def test_oom_phase_from_the_failing_traceback(functions: tuple[str, ...], phase: str, step: str) -> None:
    log = _oom_traceback(*functions, budget=True)
    (d,) = [d for d in logclassify.classify(log).diagnoses if d.id == "cuda-oom"]
    values = {v.name: v for v in d.values}
    assert values["oom_phase"].value == phase
    known = {"_allocate_kv_cache", "capture_model", "_dummy_sampler_run", "profile_run"}
    innermost = "run_busy_loop" if phase == "serving" else [f for f in functions if f in known][-1]
    text = log.splitlines()
    frame_line = next(i for i, t in enumerate(text, 1) if t.endswith(f"in {innermost}"))
    assert values["oom_phase"].lines == [frame_line, len(text)]  # the frame, and the exception line
    assert any(f.startswith(step) for f in d.fix)
    if phase in ("kv_cache", "sampler", "cuda_graphs", "serving"):
        assert values["util_now"].value == "0.98" and values["util_now"].lines == [1]
        assert any(f.startswith("This run gave vLLM 0.98 of the GPU's memory") for f in d.fix)
    else:
        assert "util_now" not in values


def test_the_default_fraction_is_assumed_only_where_a_namespace_printed_it() -> None:
    oom = _oom_traceback("initialize_cache", "_init_cache_engine", "_allocate_kv_cache")
    namespace = "INFO 03-27 10:29:00 api_server.py:1] args: Namespace(model='m/x', gpu_memory_utilization=0.9, port=8000)\n"
    (d,) = [d for d in logclassify.classify(namespace + oom).diagnoses if d.id == "cuda-oom"]
    assert {v.name: v.value for v in d.values}["util_now"] == "0.9"
    # newer releases changed the default: an unset flag in non-default args says nothing about the value
    (d,) = [d for d in logclassify.classify(ARGS + "\n" + oom).diagnoses if d.id == "cuda-oom"]
    assert "util_now" not in {v.name for v in d.values}
    assert not any(f.startswith("This run gave vLLM") for f in d.fix)


def test_initialize_cache_alone_names_no_step() -> None:
    # V0's wrapper names the method, but initialize_cache both allocates the KV cache and captures CUDA graphs
    log = ("ERROR 03-27 10:29:13 [worker_base.py:620] Error executing method 'initialize_cache'. This might cause "
           "deadlock in distributed execution.\n" + _oom_traceback("execute_method", "initialize_cache"))
    (d,) = [d for d in logclassify.classify(log).diagnoses if d.id == "cuda-oom"]
    assert "oom_phase" not in {v.name for v in d.values}


def test_oom_without_phase_inputs_gets_the_generic_steps() -> None:
    log = ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 MiB. GPU 6 has a total capacity of "
           "44.53 GiB of which 448.00 KiB is free.\n")
    (d,) = logclassify.classify(log).diagnoses
    names = {v.name for v in d.values}
    assert "oom_phase" not in names and "util_now" not in names and "oom_short" in names
    assert any(f.startswith("Skip CUDA-graph capture and its extra memory with `--enforce-eager` if") for f in d.fix)
    assert not any(f.startswith(("It ran out", "This run gave vLLM")) for f in d.fix) and not d.commands


def test_oom_with_more_free_than_asked_says_so_instead_of_a_shortfall() -> None:
    log = ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 84.00 MiB. GPU 0 has a total capacity of "
           "31.35 GiB of which 93.06 MiB is free.\n")
    (d,) = logclassify.classify(log).diagnoses
    values = {v.name: v.value for v in d.values}
    assert "oom_short" not in values and values["oom_fragmented"] == "84.00 MiB asked, 93.06 MiB free"
    assert any("had more free than the failed allocation asked (84.00 MiB asked, 93.06 MiB free, of 31.35 GiB)" in f
               for f in d.fix)


def _values_of(log: str, rule: str) -> tuple[dict[str, str], list[str]]:
    (d,) = [d for d in logclassify.classify(log).diagnoses if d.id == rule]
    return {v.name: v.value for v in d.values}, d.fix


def test_request_limits_say_which_side_to_change() -> None:
    values, fix = _values_of("WARNING 11-19 10:00:00 scheduler.py:648] Input prompt (35247 tokens) is too long and "
                             "exceeds limit of 1000\n", "request-prompt-too-long")
    assert values["prompt_over"] == "34247" and values["len_needed"] == "35248" and "max_tokens_fits" not in values
    assert fix[0].startswith("The prompt alone is 35247 tokens, 34247 more than the 1000")
    # the wording cut before the prompt's size: nothing derived, the generic steps
    values, fix = _values_of("openai.BadRequestError: 'max_tokens' or 'max_completion_tokens' is too large: 4096\n",
                             "request-prompt-too-long")
    assert values == {} and fix[0].startswith("Shorten the input on the client")


def test_lora_rank_and_swap_space_values() -> None:
    values, fix = _values_of("ValueError: LoRA rank 100 is greater than max_lora_rank 16.\n", "lora-rank-too-large")
    assert values == {"lora_rank": "100", "lora_rank_limit": "16", "lora_rank_fits": "128"}
    assert "`--max-lora-rank 128`" in fix[0]
    values, fix = _values_of("ValueError: LoRA rank 1024 is greater than max_lora_rank 512.\n", "lora-rank-too-large")
    assert values == {} and fix[0].startswith("Read the adapter's rank")  # above every accepted value: generic
    log = ("INFO 02-20 18:36:00 llm_engine.py:234] Initializing a V0 LLM engine (v0.6.3) with config: model='m', "
           "tensor_parallel_size=4, pipeline_parallel_size=1\n"
           "ValueError: Too large swap space. 16.00 GiB out of the 31.00 GiB total CPU memory is allocated for the "
           "swap space.\n")
    values, fix = _values_of(log, "cpu-swap-space-too-large")
    assert values["swap_fits"] == "3"  # floor(0.4 x 31 / 4)
    assert "`--swap-space 3`" in fix[0]


def test_a_text_step_without_else_is_left_out_when_a_value_is_missing(tmp_path: Path) -> None:
    write_rule(tmp_path, "fix:\n  - text: 'Run with --max-model-len {values.max_len_fits}.'\n  - Plain step.\n"
               "match:\n  contains: boom here now\n")
    clf = logclassify.Classifier(load_rules(tmp_path, builtin=False))
    (d,) = clf.classify("boom here now\n").diagnoses
    assert d.fix == ["Plain step."] and d.values == []


# -- more command shapes: docker run, nohup python -m, GPUStack's logged command, LLM(...) in a traceback -------------


def test_docker_run_keeps_its_options_and_reads_the_arguments_after_the_image() -> None:
    line = ('docker run --runtime nvidia --gpus all -v ~/.cache/huggingface:/root/.cache/huggingface '
            '--env "HUGGING_FACE_HUB_TOKEN=hf_abcdef" -p 8000:8000 --ipc=host vllm/vllm-openai:latest '
            '--model m/x --max-model-len 131072 &>> server.log')
    found = read_line(line, 1)
    assert found is not None and found.source == "command line" and found.complete
    assert found.args == {"model": "m/x", "max_model_len": 131072}  # the redirection is the shell's
    assert found.program == ("docker run --runtime nvidia --gpus all -v ~/.cache/huggingface:/root/.cache/huggingface "
                             "--env HUGGING_FACE_HUB_TOKEN=<redacted> -p 8000:8000 --ipc=host vllm/vllm-openai:latest")
    # an image whose entrypoint is `vllm serve`, given the model first: the model stays first
    found = read_line("docker run -e HF_TOKEN=$HF_TOKEN vllm/vllm-openai:v0.9.1 Qwen/Qwen3-8B -tp 2", 1)
    assert found is not None and found.args["model"] == "Qwen/Qwen3-8B" and found.args["tensor_parallel_size"] == 2
    command = Command(kind="serve", source="command line", line=1, args=found.args, text="", program=found.program)
    assert render(command, found.args) == ("docker run -e HF_TOKEN=$HF_TOKEN vllm/vllm-openai:v0.9.1 Qwen/Qwen3-8B "
                                           "--tensor-parallel-size 2")


@pytest.mark.parametrize("line", [
    "docker run --rm -it ubuntu:22.04 bash",  # no vLLM image
    "docker run --entrypoint bash vllm/vllm-openai:latest -c 'vllm serve m'",  # the server replaced
    "docker run -v",  # cut
])
def test_docker_run_of_something_else_is_no_command(line: str) -> None:
    assert read_line(line, 1) is None


def test_python_m_after_nohup_a_python_path_and_before_a_redirection() -> None:
    found = read_line("CUDA_VISIBLE_DEVICES=0 nohup /usr/bin/python3.10 -u -m vllm.entrypoints.openai.api_server "
                      "--model m/x --max-model-len 4096 > vllm.log 2>&1 &", 1)
    assert found is not None and found.args == {"model": "m/x", "max_model_len": 4096}
    assert found.program == "CUDA_VISIBLE_DEVICES=0 nohup /usr/bin/python3.10 -u -m vllm.entrypoints.openai.api_server"


def test_gpustack_logged_commands_are_read() -> None:
    old = read_line("gpustack.worker.backends.vllm - DEBUG - Run vllm with arguments: serve /m/gemma --max-model-len "
                    "8192 --tensor-parallel-size 3 --port 40059", 4)
    new = read_line("gpustack.worker.backends.vllm - INFO - With image: gpustack/runner:cuda12.9-vllm0.11.2, "
                    "arguments: [vllm serve /m/gpt --max-model-len 8192 --tensor-parallel-size 2]", 5)
    assert old is not None and old.program == "vllm serve" and old.line == 4
    assert old.args == {"model": "/m/gemma", "max_model_len": 8192, "tensor_parallel_size": 3, "port": 40059}
    assert new is not None and new.args == {"model": "/m/gpt", "max_model_len": 8192, "tensor_parallel_size": 2}
    # the list cut before its end is no command
    assert read_line("gpustack - INFO - With image: x, arguments: [vllm serve /m/gpt --max-model-len", 5) is None


def test_an_llm_call_on_a_traceback_source_line_is_the_offline_command() -> None:
    log = ("Traceback (most recent call last):\n"
           '  File "run.py", line 8, in <module>\n'
           "    llm = LLM(model=args.model, tensor_parallel_size=2, max_model_len=4096)\n"
           '  File "/x/vllm/entrypoints/llm.py", line 105, in __init__\n'
           "ValueError: The model's max seq len (4096) is larger than the maximum number of tokens that can be "
           "stored in KV cache (3664). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when "
           "initializing the engine.\n")
    report = logclassify.classify(log)
    assert report.command is not None and report.command.kind == "offline" and report.command.source == "code"
    assert report.command.line == 3
    (d,) = report.diagnoses
    # a name the user wrote (args.model) is shown as written, not quoted as a string
    assert [c.command for c in d.commands] == ["LLM(model=args.model, tensor_parallel_size=2, max_model_len=3664)"]
    assert read_line("    llm = LLM(", 1) is None  # continued on the next line: not read
    partial = read_line("    llm = LLM(**engine_args)", 1)
    assert partial is None  # no model named


def test_secret_names_not_flags_and_lora_modules_as_their_flag() -> None:
    found = read_line("non-default args: {'model': 'x', 'enable_prompt_tokens_details': True, "
                      "'max_num_batched_tokens': 8192, 'api_key': ['sk-1'], 'lora_modules': ["
                      "LoRAModulePath(name='a', path='/p', base_model_name=None), "
                      "LoRAModulePath(name='b', path='/q', base_model_name='x')]}", 1)
    assert found is not None
    assert found.args == {"model": "x", "enable_prompt_tokens_details": True, "max_num_batched_tokens": 8192,
                          "api_key": "<redacted>",
                          "lora_modules": ["a=/p", {"name": "b", "path": "/q", "base_model_name": "x"}]}


def test_gpustack_command_list_keeps_json_values_whole() -> None:
    # later GPUStack logs `command: [...]`, the words joined with spaces, JSON values unquoted
    found = read_line('gpustack.worker.backends.vllm - INFO - With image: x/vllm:latest, command: [vllm serve /m '
                      '--speculative-config {"method": "mtp", "num_speculative_tokens": 3} --max-model-len=262144 '
                      '--gpu-memory-utilization=0.82]', 2)
    assert found is not None
    assert found.args == {"model": "/m", "speculative_config": '{"method": "mtp", "num_speculative_tokens": 3}',
                          "max_model_len": 262144, "gpu_memory_utilization": 0.82}
    # cut inside a JSON value: no command
    assert read_line('gpustack - INFO - With image: x, command: [vllm serve /m --speculative-config {"method": '
                     '"mtp",]', 2) is None


def test_a_prompt_with_venv_and_host_and_a_shell_variable_kept() -> None:
    # as pasted in vllm PR #7716: `(venv) (base) user@host:~/vllm$ vllm serve $MODEL --tensor-parallel-size 3`
    found = read_line("(venv) (base) rshaw@beaker:~/vllm$ vllm serve $MODEL --tensor-parallel-size 3", 1)
    assert found is not None and found.args == {"model": "$MODEL", "tensor_parallel_size": 3}
    command = Command(kind="serve", source="command line", line=1, args=found.args, text="", program=found.program)
    # the variable stays unquoted, for the shell to expand
    assert render(command, {**found.args, "tensor_parallel_size": 2}) == "vllm serve $MODEL --tensor-parallel-size 2"
    assert read_line("user@host: vllm serve x", 1) is None


def test_a_command_rebuilt_from_part_of_the_arguments_says_so() -> None:
    # the engine config line shows only some of the arguments: the corrected command is marked as partial
    log = ("INFO 01-11 15:51:02 llm_engine.py:70] Initializing an LLM engine with config: model='/m/x', "
           "tokenizer='/m/x', dtype=torch.float16, max_seq_len=4096, tensor_parallel_size=1, seed=0)\n"
           "ValueError: The model's max seq len (4096) is larger than the maximum number of tokens that can be "
           "stored in KV cache (3664). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when "
           "initializing the engine.\n")
    report = logclassify.classify(log)
    assert report.command is not None and not report.command.complete
    assert "keep the arguments it leaves out" in render_text(report)
    assert "keep the arguments it leaves out" in render_markdown(report)
    # a complete command carries no such note
    full = logclassify.classify(ARGS + "\n" + KV_V1 + "\n")
    assert full.command is not None and full.command.complete
    assert "leaves out" not in render_text(full) and "leaves out" not in render_markdown(full)
