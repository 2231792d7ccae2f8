"""Facts read from a log: versions, engine, GPUs, parallel sizes, model, env vars. Rules can require them.

Each extractor is a regex with one group, tried only on lines that contain one of its literals (so the scan stays
fast). The last value seen wins, except for GPU names, which accumulate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import regex

from logclassify.lazyre import LazyPattern, lazy
from logclassify.read.lineindex import LineIndex
from logclassify.read.logline import LogLine


@dataclass(slots=True, frozen=True)
class Fact:
    """One fact and the line it was read from (its evidence)."""

    name: str
    value: str
    line: int
    text: str


@dataclass(frozen=True)
class _Extractor:
    name: str
    literals: tuple[str, ...]
    pattern: LazyPattern
    value: str | None = None  # a fixed value instead of the captured group
    also: tuple[str, ...] = ()  # one of these must be on the line too (checked before the regex, not a marker)


def _x(
    name: str, literals: tuple[str, ...], pattern: str, value: str | None = None, flags: int = 0,
    also: tuple[str, ...] = (),
) -> _Extractor:
    return _Extractor(name, literals, lazy(pattern, flags), value, also)


_GPU_BRANDS = ("NVIDIA", "Tesla", "Quadro", "AMD", "Radeon")


_VERSION = r"v?(\d+\.\d+(?:\.\d+)?(?:[.+-]?(?:post|dev|rc|a|b)\d*)*(?:\+[\w.]+)?)"

EXTRACTORS: tuple[_Extractor, ...] = (
    _x("vllm_version", ("vLLM API server version",), rf"vLLM API server version {_VERSION}"),
    _x("vllm_version", ("LLM engine (v",), rf"LLM engine \({_VERSION}\)"),
    _x("vllm_version", ("vLLM Version:",), rf"vLLM Version:\s*{_VERSION}"),
    _x("vllm_version", ("vllm==", "vllm-"), rf"\bvllm(?:==|-){_VERSION}(?=[\s/,;'\"]|\.dist|-py|$)"),
    _x("vllm_version", ("vllm ",), rf"^\s*vllm\s{{2,}}{_VERSION}\s*$"),
    _x("vllm_version", ("vLLM version",), rf"vLLM version:?\s*{_VERSION}", flags=regex.IGNORECASE),
    _x("vllm_version", ("vllm/vllm-openai:v",), rf"vllm/vllm-openai:{_VERSION}"),
    _x("engine", ("V1 LLM engine", "V1 engine", "EngineCore"), r"V1 LLM engine|V1 engine|EngineCore", value="V1"),
    _x("engine", ("VLLM_USE_V1=1",), r"VLLM_USE_V1=1", value="V1"),
    _x("engine", ("VLLM_USE_V1=0",), r"VLLM_USE_V1=0", value="V0"),
    _x("engine", ("Initializing an LLM engine",), r"Initializing an LLM engine", value="V0"),
    _x("torch_version", ("PyTorch version:",), rf"PyTorch version:\s*{_VERSION}"),
    _x("torch_version", ("torch==",), rf"\btorch=={_VERSION}"),
    _x("torch_version", ("torch ",), rf"^\s*torch\s{{2,}}{_VERSION}\s*$"),
    _x("cuda_version", ("CUDA used to build PyTorch:",), r"CUDA used to build PyTorch:\s*(\d+\.\d+)"),
    _x("cuda_version", ("CUDA Version:",), r"CUDA Version:\s*(\d+\.\d+)"),
    _x("cuda_version", ("+cu",), r"\btorch[=\s-]+\d+\.\d+\.\d+\+cu(\d{3,})\b"),
    _x("nccl_version", ("NCCL version",), r"NCCL version (\d+\.\d+\.\d+)"),
    _x("nccl_version", ("nccl==",), r"nccl==(\d+\.\d+\.\d+)"),
    # keyed on the vendor, not on "GPU ": serving logs print "GPU KV cache usage" every few seconds
    _x("gpu_names", _GPU_BRANDS, r"\bGPU \d+: ((?:NVIDIA|Tesla|Quadro|AMD|Radeon)[^(\n]*?)\s*(?:\(UUID|$)",
       also=("GPU ",)),
    _x("gpu_names", ("NVIDIA ",), r"^\|\s+\d+\s+(NVIDIA [\w -]+?)\s{2,}"),
    _x("gpu_names", ("Your ",), r"Your ((?:NVIDIA |Tesla |Quadro )?[\w -]+?) GPU (?:has|does not have) compute capability"),
    _x("tensor_parallel_size", ("tensor_parallel_size",), r"tensor_parallel_size[=:]\s*(\d+)"),
    _x("tensor_parallel_size", ("--tensor-parallel-size", "-tp "), r"(?:--tensor-parallel-size[= ]|\s-tp )(\d+)"),
    _x("pipeline_parallel_size", ("pipeline_parallel_size",), r"pipeline_parallel_size[=:]\s*(\d+)"),
    _x("pipeline_parallel_size", ("--pipeline-parallel-size", "-pp "), r"(?:--pipeline-parallel-size[= ]|\s-pp )(\d+)"),
    _x("model", ("model=",), r"\bmodel='([^']+)'"),
    _x("model", ("vllm serve ",), r"vllm serve ([\w./-]+)"),
    _x("model", ("--model ",), r"--model[= ]([\w./-]+)"),
    _x("max_model_len", ("max_seq_len=",), r"max_seq_len=(\d+)"),
    _x("max_model_len", ("max_model_len=",), r"\bmax_model_len=(\d+)"),
    _x("max_model_len", ("--max-model-len",), r"--max-model-len[= ](\d+)"),
)

# Environment variables that matter for diagnosis, seen set in the log (env dumps, commands, docker -e).
_ENV_LITERALS = ("VLLM_", "NCCL_", "CUDA_", "GLOO_", "TORCH_", "HF_", "HOST_IP", "PYTORCH_")
_ENV = lazy(
    r"(?<![\w-])(?P<name>(?:VLLM|NCCL|CUDA|GLOO|TORCH|HF|PYTORCH)_[A-Z0-9_]+|HOST_IP)"
    r"(?:=|: ?|\s*=\s*)(?P<quote>['\"]?)(?P<value>[^\s,;'\")\]}]+)(?P=quote)"
)
# vLLM's own warnings that a debug switch is on are facts too.
_ENV_WARNINGS = (
    _x("env.VLLM_TRACE_FUNCTION", ("VLLM_TRACE_FUNCTION is enabled",), r"VLLM_TRACE_FUNCTION is enabled", value="1"),
    _x(
        "env.VLLM_TRACE_FUNCTION",
        ("Trace frame log is saved to",),
        r"Trace frame log is saved to",
        value="1",
    ),
)
# Sentences that mention a variable without it being set: hints, suggestions, deprecation notices.
_NOT_A_SETTING = lazy(
    r"consider passing|For debugging|you can set|you may set|please set|try setting|set the env(?:ironment)? var|"
    r"can be set by|Please use|instead to set|is deprecated|to turn on|environment variable [`'\"]?\w+[`'\"]? to",
    regex.IGNORECASE,
)


def guard_literals() -> tuple[str, ...]:
    """Literals extractors also need on a line (not markers: they do not keep lines by themselves)."""
    return tuple(dict.fromkeys(a for ex in EXTRACTORS for a in ex.also))


def literals() -> tuple[str, ...]:
    """Every literal a fact line contains: the prefilter keeps these lines."""
    lits: list[str] = list(_ENV_LITERALS)
    for ex in (*EXTRACTORS, *_ENV_WARNINGS):
        lits.extend(ex.literals)
    return tuple(dict.fromkeys(lits))


def extract_facts(lines: Iterable[LogLine], index: LineIndex | None = None) -> list[Fact]:
    """All facts found, in input order. Each extractor looks only at the lines that hold one of its literals."""
    lines = lines if isinstance(lines, Sequence) else list(lines)
    index = index if index is not None else LineIndex(lines)
    extractors = (*EXTRACTORS, *_ENV_WARNINGS)
    found: list[tuple[int, int, Fact]] = []  # (line index, extractor index, fact): sorted into input order
    for k, ex in enumerate(extractors):
        rows = index.lines_with_any(ex.literals)
        if ex.also and rows:
            rows = sorted(set(rows).intersection(index.lines_with_any(ex.also)))
        for i in rows:
            msg = lines[i].message
            if not any(lit in msg for lit in ex.literals) or (ex.also and not any(a in msg for a in ex.also)):
                continue
            m = ex.pattern.search(msg)
            if m is not None:
                value = ex.value if ex.value is not None else m.group(1).strip()
                found.append((i, k, Fact(ex.name, value, lines[i].number, msg.strip())))
    for i in index.lines_with_any(_ENV_LITERALS):
        msg = lines[i].message
        if any(lit in msg for lit in _ENV_LITERALS) and not _NOT_A_SETTING.search(msg):
            for m in _ENV.finditer(msg):
                value = m["value"].rstrip(".:")
                if value:
                    found.append((i, len(extractors), Fact(f"env.{m['name']}", value, lines[i].number, msg.strip())))
    found.sort(key=lambda f: (f[0], f[1]))  # stable: several env vars of one line keep their order
    return [f for _, _, f in found]


def index_facts(facts: Iterable[Fact]) -> dict[str, list[Fact]]:
    out: dict[str, list[Fact]] = {}
    for f in facts:
        out.setdefault(f.name, []).append(f)
    return out


def summarize_facts(facts: Iterable[Fact]) -> dict[str, Any]:
    """The facts as a JSON-ready dict: last value wins; GPU names accumulate; env vars nest under `env`."""
    out: dict[str, Any] = {}
    env: dict[str, str] = {}
    gpus: list[str] = []
    gpu_lines: set[str] = set()
    for f in facts:
        if f.name.startswith("env."):
            env[f.name[4:]] = f.value
        elif f.name.startswith("hang."):
            continue
        elif f.name == "gpu_names":
            gpus.append(f.value)
            gpu_lines.add(f.text)
        elif f.name in ("tensor_parallel_size", "pipeline_parallel_size", "max_model_len"):
            out[f.name] = int(f.value)
        elif f.name == "engine" and out.get("engine") == "V1":
            continue  # once any V1 marker is seen the engine is V1
        else:
            out[f.name] = f.value
    if gpus:
        out["gpu_names"] = sorted(set(gpus), key=gpus.index)
        out["gpu_count"] = len(gpu_lines)  # one line per GPU; a repeated paste of the same line counts once
    if env:
        out["env"] = env
    return out
