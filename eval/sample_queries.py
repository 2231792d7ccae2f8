#!/usr/bin/env python3
"""Print the seeded, topic-neutral queries that drew eval/random's vLLM reports (see eval/README.md).

Each query names a seeded random vLLM version, model, GPU and launch mode (the context every report states),
never a symptom or a cause, so what comes back is not chosen by the failure's cause.
"""
import random

VERSIONS = [f"0.4.{i}" for i in range(4)] + [f"0.5.{i}" for i in range(6)] + [f"0.6.{i}" for i in range(7)] \
    + [f"0.7.{i}" for i in range(4)] + [f"0.8.{i}" for i in range(6)] + [f"0.9.{i}" for i in range(3)] \
    + [f"0.10.{i}" for i in range(3)] + [f"0.11.{i}" for i in range(3)] + ["0.12.0", "0.13.0", "0.14.0", "0.15.0"]


MODELS = ["Qwen2.5-7B-Instruct", "Llama-3.1-8B-Instruct", "Mistral-7B", "DeepSeek-R1-Distill", "gemma-2-9b", "Qwen2-VL",
          "Llama-3-70B", "Qwen3-32B", "Phi-3", "GLM-4", "InternVL2", "Mixtral-8x7B", "Yi-34B", "DeepSeek-V3", "Qwen3-30B-A3B"]
GPUS = ["A100", "H100", "RTX 4090", "RTX 3090", "V100", "L40S", "A10", "T4", "MI300X", "H20", "L20", "A800", "8 GPUs", "2 GPUs"]
MODES = ["vllm serve", "LLM() offline inference", "docker vllm-openai", "kubernetes", "ray cluster", "GRPO rollout",
         "benchmark_serving", "openai client", "tensor-parallel-size 2", "lora"]


# Query wording changed twice while drawing, each time because too few returned chunks held the error line
# (the search returns one chunk of a thread): from query 2 on the words of a traceback were added, from query 4
# on a seeded Python exception class name as well. Exception classes are generic; they name no cause
# (torch.OutOfMemoryError, which does, is left out).
SUFFIX = ": Traceback (most recent call last) ... Error: ..."
EXCEPTIONS = ["RuntimeError", "ValueError", "AssertionError", "ImportError", "TypeError", "AttributeError", "KeyError",
              "OSError", "NotImplementedError", "ModuleNotFoundError", "IndexError"]


def queries(seed: int = 15, n: int = 80) -> list[str]:
    """n queries: a seeded version, model, GPU and launch mode each, in bug-report words."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        mode, model, gpu, version = rnd.choice(MODES), rnd.choice(MODELS), rnd.choice(GPUS), rnd.choice(VERSIONS)
        q = f"[Bug]: {mode} {model} on {gpu} with vllm {version} fails, error log"
        exc = random.Random(seed * 1000 + i).choice(EXCEPTIONS)
        out.append(q if i < 2 else q + SUFFIX if i < 4 else q + f": Traceback (most recent call last) ... {exc}: ...")
    return out


# eval/random2 (2026-12-05, the fresh sample of issue 15 §1): queries 49-72 of this same family, `queries(n=73)[49:]`,
# run in order after eval/random had used 0-48; the queries above are unchanged (print them with --from 49 --to 73).


STACKS = ["verl", "OpenRLHF", "LLaMA-Factory", "kserve", "Ray Serve", "TRL", "ms-swift", "Xinference", "lm-evaluation-harness",
          "llm-d", "production-stack", "Triton Inference Server vllm backend", "OpenCompass", "LightLLM"]


def stack_queries(seed: int = 15, n: int = 20) -> list[str]:
    """Queries for stacks that run vLLM: a seeded stack and version, no cause or symptom words."""
    rnd = random.Random(seed + 1)
    tail = "fails: Traceback (most recent call last) ... Error"
    return [f"[Bug] {rnd.choice(STACKS)} with vllm {rnd.choice(VERSIONS)} {tail}" for _ in range(n)]


def date_queries(seed: int = 15, n: int = 40) -> list[str]:
    """Queries shaped like the first line of a vLLM error: a seeded timestamp, no cause or symptom words.

    d0 was typed by hand ("ERROR 07-23 14:05:11 ..."); d1 on come from this list's items 1 on.
    """
    rnd = random.Random(seed + 2)
    return [f"ERROR {rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d} {rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:"
            f"{rnd.randint(0, 59):02d} Traceback (most recent call last): vllm" for _ in range(n)]


# Timestamps did not spread the results (the search ignores the numbers), so the d family stopped at d2; the m family
# spreads by model name instead, from a wider list, again with no cause or symptom words.
MODEL_FAMILY = ["Llama-2-7b", "Llama-3-8B", "Llama-3.1-70B", "Llama-3.2-Vision", "Llama-4-Scout", "Qwen-7B-Chat", "Qwen1.5-72B",
                "Qwen2-7B", "Qwen2.5-72B", "Qwen2.5-VL", "Qwen3-8B", "QwQ-32B", "Mistral-Small", "Mistral-Nemo", "Codestral",
                "Mixtral-8x22B", "gemma-7b", "gemma-3-27b", "Phi-4", "Phi-3.5-vision", "GLM-4-9B", "ChatGLM3", "internlm2",
                "InternVL2.5", "MiniCPM-V", "Baichuan2", "Yi-1.5", "DeepSeek-Coder", "DeepSeek-V2-Lite", "deepseek-r1",
                "Falcon", "StarCoder2", "CodeLlama", "OLMo", "Jamba", "Mamba", "granite", "command-r", "DBRX", "gpt-oss-20b",
                "Llava-1.5", "Pixtral", "whisper", "bge-m3 embedding", "e5-mistral embedding", "Qwen2-Audio", "Aria", "Molmo",
                "NVLM", "Kimi-K2", "MiniMax-M1", "Hunyuan", "ERNIE-4.5", "GLM-4.5", "Seed-OSS", "Nemotron"]


def model_queries(seed: int = 15, n: int = 60) -> list[str]:
    rnd = random.Random(seed + 3)
    return [f"[Bug]: {rnd.choice(MODEL_FAMILY)} with vllm {rnd.choice(VERSIONS)} error log" for _ in range(n)]


# eval/random3 (2026-12-06, issue 15 §1): a new seeded family, because queries 49-72 above mostly returned threads
# eval/random already held. Each query names a seeded stack that runs vLLM (or vLLM alone), a seeded vLLM version,
# a seeded generic failure word and a seeded generic exception class; no symptom that points at a cause (no "OOM",
# "hang", "NCCL", "timeout"...). Written and committed before any of them was run.
STACKS3 = ["verl", "OpenRLHF", "LLaMA-Factory", "kserve", "Ray Serve", "TRL", "Xinference", "GPUStack", "llm-d",
           "production-stack", "vllm-ascend", "ms-swift", "EasyR1", "lm-evaluation-harness", "LiteLLM proxy to vllm",
           "vllm", "vllm", "vllm", "vllm"]  # plain "vllm" 4 times: about one query in five names no other stack
FAILURE_WORDS = ["fails", "error", "crashes", "exception", "does not work", "broken", "failed to start", "errors out"]
EXCEPTIONS3 = [*EXCEPTIONS, "Exception", "RuntimeError", "ValueError"]  # the common classes weigh a little more


def random3_queries(seed: int = 16, n: int = 60) -> list[str]:
    """eval/random3's queries (r0, r1, ...): seeded stack + vLLM version + failure word + exception class."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        stack, version, word, exc = (rnd.choice(STACKS3), rnd.choice(VERSIONS), rnd.choice(FAILURE_WORDS),
                                     rnd.choice(EXCEPTIONS3))
        head = "vllm" if stack == "vllm" else f"{stack} with vllm"
        out.append(f"[Bug] {head} {version} {word}: Traceback (most recent call last) ... {exc}: ...")
    return out


# eval/random4 (2026-12-06, issue 15 §1): a fourth seeded family, so that the held-out total reaches 150. Each query
# names a seeded platform (GPU / accelerator), a seeded vLLM version, a seeded launch form ("vllm serve" or "LLM("),
# a seeded generic failure word and a seeded generic exception class, in traceback words; no symptom that points at a
# cause (no "OOM", "hang", "NCCL", "timeout", "driver"...). Written and committed before any of them was run.
PLATFORMS4 = ["A100", "H100", "RTX 4090", "RTX 3090", "L40S", "A10G", "V100", "T4", "H20", "MI300X", "MI250",
              "Ascend 910B", "CPU", "TPU", "Gaudi", "GH200", "B200", "Jetson"]
LAUNCH4 = ["vllm serve", "LLM(", "python -m vllm.entrypoints.openai.api_server", "vllm serve", "LLM("]


def random4_queries(seed: int = 17, n: int = 60) -> list[str]:
    """eval/random4's queries (q0, q1, ...): seeded platform + vLLM version + launch form + failure word + exception."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        plat, version, launch, word, exc = (rnd.choice(PLATFORMS4), rnd.choice(VERSIONS), rnd.choice(LAUNCH4),
                                            rnd.choice(FAILURE_WORDS), rnd.choice(EXCEPTIONS3))
        out.append(f"[Bug] {launch} on {plat} vllm {version} {word}: Traceback (most recent call last) ... {exc}: ...")
    return out


# eval/random5 (2026-12-06, issue 15 §1): a fifth seeded family, so that the held-out side (random2 + random4, 73
# cases) grows towards 150 with fresh reports. Each query names a seeded vLLM feature in use (the context a report
# states), a seeded vLLM version, a seeded generic failure word and a seeded generic exception class, in traceback
# words; no word names a cause or a cause-specific symptom (no "OOM", "hang", "NCCL", "timeout", "driver"...).
# VERSIONS holds nothing newer than 0.15.0, so none is added. Written and committed before any of them was run.
FEATURES5 = ["LoRA adapter", "image input", "video input", "tool calling", "structured output", "guided decoding",
             "speculative decoding", "prefix caching", "chunked prefill", "embeddings", "pooling", "pipeline parallel",
             "data parallel", "expert parallel", "quantized checkpoint", "long context", "streaming responses",
             "offline batch generate", "OpenAI chat completions", "reasoning model", "multi-node"]


def random5_queries(seed: int = 18, n: int = 80) -> list[str]:
    """eval/random5's queries (f0, f1, ...): seeded feature + vLLM version + failure word + exception class."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        feature, version, word, exc = (rnd.choice(FEATURES5), rnd.choice(VERSIONS), rnd.choice(FAILURE_WORDS),
                                       rnd.choice(EXCEPTIONS3))
        out.append(f"[Bug] vllm {version} {feature} {word}: Traceback (most recent call last) ... {exc}: ...")
    return out


# eval/random6 (2026-12-06, issue 15 §1): a sixth seeded family, drawn after eval/random4 moved to the rule side (held
# out: random2 + random5). Each query names a seeded deployment setting, a seeded model family, a seeded vLLM version,
# a seeded generic failure word and a seeded generic exception class, in traceback words; no word names a cause or a
# cause-specific symptom (no "OOM", "hang", "NCCL", "timeout", "driver"...). Written and committed before any ran.
SETTINGS6 = ["docker compose", "Kubernetes pod", "Helm chart", "Slurm job", "conda environment", "uv venv",
             "Windows WSL2", "Google Colab", "Jupyter notebook", "AWS EC2", "systemd service", "build from source",
             "nightly wheel", "CI pipeline", "multi-GPU workstation", "cloud VM"]
MODELS6 = ["Qwen", "Llama", "DeepSeek", "Mistral", "Gemma", "Phi", "GLM", "InternVL", "MiniCPM", "Baichuan", "Falcon",
           "Command-R", "OLMo", "Granite"]


def random6_queries(seed: int = 19, n: int = 80) -> list[str]:
    """eval/random6's queries (w0, w1, ...): seeded setting + model family + vLLM version + failure word + exception."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        setting, model, version, word, exc = (rnd.choice(SETTINGS6), rnd.choice(MODELS6), rnd.choice(VERSIONS),
                                              rnd.choice(FAILURE_WORDS), rnd.choice(EXCEPTIONS3))
        out.append(f"[Bug] {model} in {setting} vllm {version} {word}: Traceback (most recent call last) ... {exc}: ...")
    return out


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 5 and sys.argv[1] == "--from" and sys.argv[3] == "--to":  # e.g. --from 49 --to 73 (eval/random2)
        lo, hi = int(sys.argv[2]), int(sys.argv[4])
        for n, q in enumerate(queries(n=hi)[lo:], start=lo):
            print(n, q)
        sys.exit(0)
    if sys.argv[1:] == ["--random6"]:  # eval/random6's family
        for n, q in enumerate(random6_queries()):
            print(f"w{n}", q)
        sys.exit(0)
    if sys.argv[1:] == ["--random5"]:  # eval/random5's family
        for n, q in enumerate(random5_queries()):
            print(f"f{n}", q)
        sys.exit(0)
    if sys.argv[1:] == ["--random4"]:  # eval/random4's family
        for n, q in enumerate(random4_queries()):
            print(f"q{n}", q)
        sys.exit(0)
    if sys.argv[1:] == ["--random3"]:  # eval/random3's family
        for n, q in enumerate(random3_queries()):
            print(f"r{n}", q)
        sys.exit(0)
    for n, q in enumerate(model_queries()):
        print(f"m{n}", q)
    for n, q in enumerate(date_queries()):
        print(f"d{n}", q)
    for n, q in enumerate(queries()):
        print(n, q)
    for n, q in enumerate(stack_queries()):
        print(f"s{n}", q)
