"""Facts read from a log: versions, engine, GPUs, parallel sizes, model, env vars (and what is not a setting)."""

from __future__ import annotations

from pathlib import Path

from logclassify import Classifier, load_rules
from logclassify.parse.facts import extract_facts, summarize_facts
from logclassify.read.normalize import normalize_line


def facts(text: str) -> dict[str, object]:
    lines = [rec for i, raw in enumerate(text.split("\n"), 1) for rec in normalize_line(i, raw)]
    return summarize_facts(extract_facts(lines))


def test_v0_engine_config_line() -> None:
    f = facts("INFO 09-18 10:00:00 llm_engine.py:223] Initializing an LLM engine (v0.6.1.post2) with config: "
              "model='meta-llama/Llama-3.2-3B-Instruct', tensor_parallel_size=2, pipeline_parallel_size=1, "
              "max_seq_len=131072, seed=0")
    assert f == {"vllm_version": "0.6.1.post2", "engine": "V0", "model": "meta-llama/Llama-3.2-3B-Instruct",
                 "tensor_parallel_size": 2, "pipeline_parallel_size": 1, "max_model_len": 131072}


def test_v1_and_api_server_version() -> None:
    f = facts("INFO 04-17 23:05:01 [api_server.py:1] vLLM API server version 0.8.4\n"
              "(EngineCore_0 pid=7) INFO 04-17 23:05:05 [core.py:58] Initializing a V1 LLM engine (v0.8.4) with config")
    assert f["vllm_version"] == "0.8.4" and f["engine"] == "V1"


def test_collect_env_versions_and_gpus() -> None:
    f = facts("PyTorch version: 2.6.0+cu124\nCUDA used to build PyTorch: 12.4\nGPU 0: NVIDIA H100 80GB HBM3\n"
              "GPU 1: NVIDIA H100 80GB HBM3\nvLLM Version: 0.8.3\n"
              "host:1:1 [0] NCCL INFO NCCL version 2.21.5+cuda12.4")
    assert f["torch_version"] == "2.6.0+cu124" and f["cuda_version"] == "12.4"
    assert f["gpu_names"] == ["NVIDIA H100 80GB HBM3"] and f["gpu_count"] == 2
    assert f["vllm_version"] == "0.8.3" and f["nccl_version"] == "2.21.5"


def test_env_vars_set_but_not_hints() -> None:
    f = facts("export VLLM_TRACE_FUNCTION=1\ndocker run -e NCCL_CUMEM_ENABLE=0 -e VLLM_HOST_IP=10.0.0.2 img\n"
              "RuntimeError: CUDA error: an illegal memory access was encountered\n"
              "CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace "
              "below might be incorrect.\nFor debugging consider passing CUDA_LAUNCH_BLOCKING=1.")
    assert f["env"] == {"VLLM_TRACE_FUNCTION": "1", "NCCL_CUMEM_ENABLE": "0", "VLLM_HOST_IP": "10.0.0.2"}


def test_vllm_warning_that_tracing_is_on_is_a_fact() -> None:
    f = facts("WARNING 06-11 06:20:42 logger.py:125] VLLM_TRACE_FUNCTION is enabled. It will record every function")
    assert f["env"] == {"VLLM_TRACE_FUNCTION": "1"}


def test_env_var_named_in_an_error_message_is_not_a_setting() -> None:
    f = facts("ValueError: User-specified max_model_len (9000) is greater than the derived max_model_len. To allow "
              "overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. VLLM_ALLOW_LONG_MAX_MODEL_LEN "
              "must be used with extreme caution.")
    assert "env" not in f


def test_nccl_hint_to_run_with_nccl_debug_info_is_not_a_setting() -> None:
    f = facts("RuntimeError: NCCL error in: ProcessGroupNCCL.cpp:1970, unhandled system error (run with NCCL_DEBUG=INFO "
              "for details), NCCL version 2.20.5\nRun with NCCL_DEBUG=INFO for more details\n")
    assert "env" not in f and f["nccl_version"] == "2.20.5"
    assert facts("NCCL_DEBUG=INFO vllm serve m")["env"] == {"NCCL_DEBUG": "INFO"}  # a real setting still is one


def test_every_fact_the_vocabulary_declares_is_read_or_derived() -> None:
    """A fact a rule may name must come from somewhere: an extractor, collect_env, or code that derives it."""
    from logclassify.vocab import vocab

    data = vocab()["facts"]
    produced = {e["name"] for e in data["extractors"]} | {k["name"] for k in data["collect_env"]["keys"]}
    produced |= set(data["collect_env"]["packages"].values())
    for name, spec in data["facts"].items():
        assert spec["derived"] or name in produced or name == "env.*", name


def test_gpu_count_fires_in_a_rule(tmp_path: Path) -> None:
    """`gpu_count` is derived from the GPU lines; a rule can compare it like any fact (it once never fired)."""
    (tmp_path / "one-gpu.yaml").write_text(
        "id: one-gpu\ntitle: one GPU only\nseverity: warning\ncause: only one GPU is visible here\nfix: [add GPUs]\n"
        "match:\n  all:\n    - contains: tensor parallel\n    - fact: {name: gpu_count, version: '<2'}\n")
    clf = Classifier(load_rules(tmp_path, builtin=False))
    gpus = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)\n"
    one = clf.classify(gpus + "ValueError: tensor parallel size 2 needs 2 GPUs\n")
    assert [d.id for d in one.diagnoses] == ["one-gpu"] and one.facts["gpu_count"] == 1
    assert one.diagnoses[0].captures["gpu_count"] == "1"
    two = clf.classify(gpus + "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-2)\nValueError: tensor parallel size 4\n")
    assert two.diagnoses == [] and two.facts["gpu_count"] == 2


# One line (or two) that each documented fact is read from; a rule naming the fact must fire on them.
_FACT_LOGS = {
    "vllm_version": "INFO 04-17 23:05:01 [api_server.py:1] vLLM API server version 0.8.4",
    "engine": "Initializing a V1 LLM engine (v0.8.4) with config: model='m'",
    "torch_version": "PyTorch version: 2.6.0+cu124",
    "cuda_version": "CUDA used to build PyTorch: 12.4",
    "nccl_version": "NCCL version 2.21.5+cuda12.4",
    "gpu_names": "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)",
    "gpu_count": "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)\nGPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-2)",
    "tensor_parallel_size": "vllm serve m --tensor-parallel-size 4",
    "pipeline_parallel_size": "vllm serve m --pipeline-parallel-size 2",
    "model": "vllm serve meta-llama/Llama-3.1-8B",
    "max_model_len": "vllm serve m --max-model-len 8192",
    "env.NCCL_DEBUG": "NCCL_DEBUG=TRACE vllm serve m",
}


def test_every_fact_the_rules_readme_lists_fires_in_a_rule(tmp_path: Path) -> None:
    import re

    readme = (Path(__file__).resolve().parent.parent / "rules" / "README.md").read_text()
    section = readme.split("## Facts", 1)[1].split("Evidence that a startup", 1)[0]
    listed = {n for n in re.findall(r"`([a-z_]+(?:\.[A-Z_]+)?)`", section) if n not in ("facts", "env")}
    env = {n for n in listed if n.startswith("env.")}  # env.NAME and examples: one variable stands for them
    assert env and set(_FACT_LOGS) >= listed - env, listed - env - set(_FACT_LOGS)
    for name in _FACT_LOGS:
        rid = "fact-" + name.replace("_", "-").replace(".", "-").lower()
        (tmp_path / f"{rid}.yaml").write_text(
            f"id: {rid}\ntitle: has {name}\nseverity: info\ncause: the log says {name}.\nfix: [nothing]\n"
            f"match:\n  fact: {{name: {name}}}\n")
    clf = Classifier(load_rules(tmp_path, builtin=False))
    for name, log in _FACT_LOGS.items():
        rid = "fact-" + name.replace("_", "-").replace(".", "-").lower()
        got = {d.id for d in clf.classify(log + "\n").diagnoses}
        assert rid in got, (name, got)
