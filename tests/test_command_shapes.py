"""The user's command read back from real logs in each shape (issue 14): `docker run` of a vLLM image, `python -m
vllm.entrypoints.openai.api_server` typed with a python flag and a shell pipe, GPUStack's logged command, and an
offline `LLM(...)` call on a traceback's source line. Each case is a fixture log from a public thread (its
expect.yaml names the thread) or a line quoted from one (the thread named here): the test pins which line the
command comes from and its arguments, so a reader change that loses or misreads one fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

import logclassify
from logclassify.models import Command
from logclassify.parse.command import read_line

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def command_of(name: str) -> Command:
    report = logclassify.classify_file(FIXTURES / f"{name}.log")
    assert report.command is not None, name
    return report.command


def test_docker_run_on_one_line() -> None:
    # vllm#12847: the container started with the model and TP after the image
    c = command_of("platform/device-infer-failed-no-platform-docker")
    assert (c.source, c.line, c.kind, c.complete) == ("command line", 1, "serve", True)
    assert c.args == {"model": "/mnt/model/", "tensor_parallel_size": 2}
    assert c.program.startswith("docker run --rm --runtime=nvidia --gpus all -p 8000:8000")
    assert c.program.endswith("-e CUDA_VISIBLE_DEVICES=0,1 vllm/vllm-openai:latest")


def test_docker_run_continued_over_lines() -> None:
    # vllm#9865: `docker run -d ... \` over 15 lines, `--flag=value` and `--flag value` mixed
    c = command_of("engine4/nvml-invalid-index-docker-ray-v0")
    assert (c.source, c.line, c.complete) == ("command line", 1, True)
    assert c.args == {"model": "deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "disable_log_stats": True,
                      "gpu_memory_utilization": 1, "port": 8020, "max_model_len": 70528, "tensor_parallel_size": 2}
    assert c.program.endswith("--ipc=host vllm/vllm-openai:latest")


def test_docker_run_secret_setting_redacted_and_quoted_value_kept() -> None:
    # vllm#10556: a CPU image built locally (vllm-cpu-env), a token in --env, a `|` inside a quoted value
    c = command_of("backends/cpu-numa-bind-not-permitted-v064-docker-tp2")
    assert "--env HUGGING_FACE_HUB_TOKEN=<redacted>" in c.program
    assert "--env 'VLLM_CPU_OMP_THREADS_BIND=0-63|64-127' vllm-cpu-env" in c.program
    assert c.args["tensor_parallel_size"] == 2


def test_python_m_api_server_with_a_python_flag_and_a_pipe() -> None:
    # vllm#3044: `python -u -m vllm.entrypoints.openai.api_server \` ... `--max-model-len 1024 | tee ~/x.log`
    c = command_of("lora/lora-model-unsupported-v03-gemma-api-server")
    assert (c.source, c.line, c.program) == ("command line", 1, "python -u -m vllm.entrypoints.openai.api_server")
    assert c.args == {"host": "0.0.0.0", "model": "google/gemma-7b", "enable_lora": True,
                      "lora_modules": "quote=/artifacts", "max_model_len": 1024}
    # vllm#3329: after a `$ ` prompt, python3 -u
    c = command_of("model/model-weights-not-found-v03-load-format-safetensors")
    assert c.program == "python3 -u -m vllm.entrypoints.openai.api_server"
    assert c.args["load_format"] == "safe-tensors" and c.args["tensor_parallel_size"] == 2


def test_llm_call_on_a_traceback_source_line() -> None:
    # vllm#2418: the traceback's `llm = LLM(model='...')` beats the engine config line above it (complete, offline)
    c = command_of("memory/kv-cache-insufficient-v0-offline-engine-config")
    assert (c.source, c.line, c.kind, c.complete) == ("code", 5, "offline", True)
    assert c.text == "LLM(model='/home/***/***/models/alpaca-2')"
    # vllm#4859: quoted with `> `, a variable for the model kept as written
    c = command_of("hub/hf-hub-unreachable-no-connection-local-entry")
    assert c.source == "code" and c.line == 3
    assert c.text == "LLM(model=model_local_path, enable_lora=True, max_lora_rank=64, dtype='float16')"


def test_gpustack_logged_command() -> None:
    # gpustack#2259 (GPUStack 0.6, vLLM 0.8.5.post1): the DEBUG line the worker logs before starting vLLM
    line = ("2025-06-19T11:30:14+08:00 - gpustack.worker.backends.vllm - DEBUG - Run vllm with arguments: serve "
            "/root/workspace/d19ndanhri0c73dr6i5g/cache/model_scope/LLM-Research/gemma-3-27b-it --max-model-len 8192 "
            "--tensor-parallel-size 3 --host 0.0.0.0 --port 40059 --served-model-name gemma-3-27b-it")
    found = read_line(line, 8)
    assert found is not None and found.program == "vllm serve" and found.line == 8
    assert found.args == {"model": "/root/workspace/d19ndanhri0c73dr6i5g/cache/model_scope/LLM-Research/gemma-3-27b-it",
                          "max_model_len": 8192, "tensor_parallel_size": 3, "host": "0.0.0.0", "port": 40059,
                          "served_model_name": "gemma-3-27b-it"}


def test_gpustack_list_cut_in_the_paste_is_no_command() -> None:
    # gpustack#3835 (GPUStack 2.0.1): the list as pasted stops after `--served-model-name`, before its `]`
    line = ("gpustack.worker.backends.vllm - INFO - With image: gpustack/runner:cuda12.9-vllm0.11.2, arguments: "
            "[vllm serve /var/lib/gpustack/cache/huggingface/openai/gpt-oss-120b --max-model-len 8192 "
            "--tensor-parallel-size 2 --pipeline-parallel-size 2 --distributed-executor-backend ray "
            "--max-model-len=32768 --tool-call-parser=openai --enable-auto-tool-choice --async-scheduling "
            "--host 192.168.8.141 --port 40044 --served-model-name")
    assert read_line(line, 1) is None


@pytest.mark.parametrize(("name", "arg", "value"), [
    ("model3/mistral-format-mismatch-params-json-new-wording", "tokenizer_mode", "mistral"),  # typed
    ("platform/cuda-no-gpu-visible-v0-ray-data-tp2", "tokenizer", "/root/.cache/tokenizer"),  # engine config
])
def test_token_in_a_name_is_no_secret_by_itself(name: str, arg: str, value: str) -> None:
    assert command_of(name).args[arg] == value


def test_docker_run_quoted_in_a_report_gives_the_corrected_fraction() -> None:
    # apocas/dockerode#811 (the same report as vllm#20305): the `docker run` quoted with `> ` over 13 lines
    c = command_of("memory/gpu-mem-utilization-too-high-docker-run-corrected")
    assert (c.source, c.line, c.complete) == ("command line", 3, True)
    assert c.args["gpu_memory_utilization"] == 0.95 and c.args["tensor_parallel_size"] == 2
    assert "-e HF_TOKEN=<redacted>" in c.program and c.program.endswith("vllm/vllm-openai:v0.9.1")
