"""The command the user ran, read back from the arguments vLLM logs at start-up, or from the command line typed.

Shapes, best first: `non-default args: {'model': 'x', 'max_model_len': 8192}` (exactly what the user set),
`args: Namespace(host=None, port=8000, ...)` (every argument, defaults included: those equal to vLLM's default are
left out); then a command line: typed at the start of a line (an issue's paste) as `vllm serve MODEL --flag v`,
`python -m vllm.entrypoints.openai.api_server --model M ...` (after `nohup`, a python path or version, and before
`> out.log 2>&1 &`, which are no arguments), `docker run ... vllm/vllm-openai:TAG [MODEL] --flag v` (the docker
options and the image kept as typed), or as GPUStack logs the one it runs (`Run vllm with arguments: serve M ...`,
`With image: I, arguments: [vllm serve M ...]`); an offline script's `llm = LLM(model=..., name=value)` call on one
line (a traceback's source line, a pasted script); and last the engine's `with config: model='x', ...,
tensor_parallel_size=4, ...` line (a part of the arguments only, those it shows as given rather than resolved: the
command rebuilt from it is marked incomplete). Values are read as Python literals; one that is not a literal
(`PosixPath(...)`, `torch.bfloat16`) is kept as its text, and vLLM's `LoRAModulePath(name=, path=)` as the
`--lora-modules` value that gives it. Secret-named arguments (`api_key`, `hf_token`) are never kept: their value
becomes `<redacted>` whatever the report's redaction setting (a flag or a number under such a name is no secret:
`return_tokens_as_token_ids=True` stays).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import regex

from logclassify.lazyre import lazy
from logclassify.models import Command
from logclassify.parse.cmdline import Code, quote, render, typed
from logclassify.read.lineindex import LineIndex
from logclassify.read.logline import LogLine
from logclassify.secret_patterns import is_secret_name

NON_DEFAULT = "non-default args: {"
NAMESPACE = "args: Namespace("
ENGINE_CONFIG = "with config: "
TYPED = ("vllm serve ", "vllm.entrypoints.openai.api_server", "docker run ", "podman run ")
# GPUStack's worker logs the vLLM command it runs: 0.6 `Run vllm with arguments: serve MODEL ...`, 2.0
# `With image: IMAGE, arguments: [vllm serve MODEL ...]`, later `With image: IMAGE, command: [vllm serve MODEL ...]`
GPUSTACK = ("Run vllm with arguments: ", ", arguments: [vllm serve ", ", command: [vllm serve ")
OFFLINE_CALL = "LLM("
LITERALS = (NON_DEFAULT, NAMESPACE, ENGINE_CONFIG, *TYPED, *GPUSTACK, OFFLINE_CALL)
SERVER_MARKERS = ("vLLM API server version", "api_server.py", "vllm serve", "Starting vLLM API server", "model_tag")
REDACTED = "<redacted>"

# vLLM's defaults for the arguments a Namespace prints (stable across the V0 releases that print one; a key not
# listed here is kept when it is set to anything but None, False, '' or an empty list).
DEFAULTS: dict[str, Any] = {
    "subparser": "serve", "config": "", "host": None, "port": 8000, "uvicorn_log_level": "info",
    "allow_credentials": False, "allowed_origins": ["*"], "allowed_methods": ["*"], "allowed_headers": ["*"],
    "response_role": "assistant", "ssl_cert_reqs": 0, "root_path": None, "middleware": [], "model": "facebook/opt-125m",
    "tokenizer_mode": "auto", "load_format": "auto", "config_format": "auto", "dtype": "auto",
    "kv_cache_dtype": "auto", "seed": 0, "block_size": 16, "swap_space": 4, "cpu_offload_gb": 0,
    "gpu_memory_utilization": 0.9, "max_num_seqs": 256, "max_logprobs": 20, "tensor_parallel_size": 1,
    "pipeline_parallel_size": 1, "data_parallel_size": 1, "max_parallel_loading_workers": None,
    "max_seq_len_to_capture": 8192, "tokenizer_pool_size": 0, "tokenizer_pool_type": "ray", "max_lora_rank": 16,
    "max_loras": 1, "lora_dtype": "auto", "max_cpu_loras": None, "device": "auto", "num_scheduler_steps": 1,
    "scheduler_delay_factor": 0.0, "qlora_adapter_name_or_path": None, "otlp_traces_endpoint": None,
    "chat_template_content_format": "auto", "guided_decoding_backend": "outlines", "preemption_mode": None,
    "scheduling_policy": "fcfs", "worker_cls": "auto", "generation_config": None, "override_generation_config": None,
    "task": "auto", "hf_overrides": None, "max_prompt_adapters": 1, "max_prompt_adapter_token": 0,
    "long_lora_scaling_factors": None, "lora_extra_vocab_size": 256, "fully_sharded_loras": False,
    "num_lookahead_slots": 0, "multi_step_stream_outputs": True, "disable_log_stats": False,
    "disable_log_requests": False, "max_log_len": None, "model_loader_extra_config": None,
    "ignore_patterns": [], "mm_processor_kwargs": None, "limit_mm_per_prompt": None,
    "enable_chunked_prefill": None, "speculative_model": None, "num_speculative_tokens": None,
    "ngram_prompt_lookup_max": None, "ngram_prompt_lookup_min": None, "spec_decoding_acceptance_method":
    "rejection_sampler", "typical_acceptance_sampler_posterior_threshold": None,
    "typical_acceptance_sampler_posterior_alpha": None, "disable_logprobs_during_spec_decoding": None,
    "override_neuron_config": None, "override_pooler_config": None, "compilation_config": None,
    "kv_transfer_config": None, "calculate_kv_scales": False, "logits_processor_pattern": None,
    "tool_call_parser": None, "tool_parser_plugin": "", "reasoning_parser": None, "return_tokens_as_token_ids": False,
    "disable_frontend_multiprocessing": False, "enable_request_id_headers": False, "enable_auto_tool_choice": False,
    "ray_workers_use_nsight": False, "code_revision": None, "tokenizer_revision": None, "revision": None,
    "download_dir": None, "distributed_executor_backend": None, "quantization": None, "rope_scaling": None,
    "rope_theta": None, "max_model_len": None, "max_num_batched_tokens": None, "served_model_name": None,
}
# What the engine config line calls an argument, when it differs from the argument's name.
CONFIG_NAMES: dict[str, str] = {}
# Engine-config keys that show what the user passed. The line also prints resolved settings (dtype, max_seq_len,
# quantization are filled in from the model's config when not given): those are left out.
CONFIG_ARGS = frozenset({
    "model", "tokenizer", "trust_remote_code", "download_dir", "tensor_parallel_size", "pipeline_parallel_size",
    "enforce_eager", "kv_cache_dtype", "served_model_name", "revision", "tokenizer_mode",
})
CONFIG_DEFAULTS: dict[str, Any] = {
    "tensor_parallel_size": 1, "pipeline_parallel_size": 1, "kv_cache_dtype": "auto", "enforce_eager": False,
    "trust_remote_code": False, "tokenizer_mode": "auto",
}


@dataclass(frozen=True)
class LoggedArgs:
    """The arguments of one logged line, before they become a `Command`."""

    source: str
    line: int
    args: dict[str, Any]
    complete: bool
    program: str = "vllm serve"


def _outside_quotes(text: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """(index, character, bracket depth after it) for every character from `start` that is not inside a quoted
    string; the one walk both splitting and bracket matching need."""
    depth = 0
    quote = ""
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        else:
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            yield i, ch, depth
        i += 1


def split_top(text: str, sep: str = ",") -> Iterator[str]:
    """`text` cut at `sep` outside brackets and quotes."""
    start = 0
    for i, ch, depth in _outside_quotes(text):
        if ch == sep and depth == 0:
            yield text[start:i]
            start = i + 1
    yield text[start:]


def _closing(text: str, start: int) -> int | None:
    """The index of the bracket that closes the one at `start`, or None when the line is cut before it."""
    for i, ch, depth in _outside_quotes(text, start):
        if ch in ")]}" and depth == 0:
            return i
    return None


_CONSTANTS: dict[str, Any] = {"None": None, "True": True, "False": False}
_PLAIN_INT = lazy(r"0|[1-9][0-9]{0,17}")
_NAME = lazy(r"[A-Za-z_][A-Za-z0-9_.]*")  # a name or dotted name: no literal, its text
_PLAIN_STR = lazy(r"'[^'\\]*'")  # quoted, no escapes (printable, checked apart)


def literal(text: str) -> Any:
    """A logged value: the Python literal it spells, or its text when it is none (`torch.bfloat16`).
    The common shapes (None, True, 8192, auto, torch.bfloat16, 'org/model') are read without `ast`, to the same
    value: a vLLM config line holds dozens of them, and parsing each cost more than the rest of a small log."""
    text = text.strip()
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if _PLAIN_INT.fullmatch(text):
        return int(text)
    if _NAME.fullmatch(text):
        return text
    if _PLAIN_STR.fullmatch(text) and text.isprintable():
        return text[1:-1]
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return text


def _pairs(body: str, sep: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in split_top(body):
        key, found, value = part.partition(sep)
        key = key.strip().strip("'\"")
        if not found or not key.isidentifier():
            continue
        value = value.strip()
        while value.endswith(")") and value.count(")") > value.count("("):  # the end of the enclosing call
            value = value[:-1]
        out[key] = _lora_modules(value) if value.lstrip("[").startswith("LoRAModulePath(") else literal(value)
    return out


def _lora_modules(text: str) -> list[Any] | str:
    """vLLM's printed `[LoRAModulePath(name='a', path='/p', base_model_name=None), ...]` as the `--lora-modules`
    values that give it: `a=/p`, or the JSON form `{"name": ..., "path": ..., "base_model_name": ...}` when a base
    model is named; the text as printed when an item is cut or holds something else."""
    out: list[Any] = []
    at = text.find("LoRAModulePath(")
    while at >= 0:
        open_at = at + len("LoRAModulePath")
        close = _closing(text, open_at)
        if close is None:
            return text
        item = _pairs(text[open_at + 1 : close], "=")
        name, path, base = item.get("name"), item.get("path"), item.get("base_model_name")
        if not isinstance(name, str) or not isinstance(path, str) or set(item) - {"name", "path", "base_model_name"}:
            return text
        out.append(f"{name}={path}" if base is None else {"name": name, "path": path, "base_model_name": base})
        at = text.find("LoRAModulePath(", close)
    return out


def is_secret(name: str) -> bool:
    return is_secret_name(name)


def _secret_value(value: Any) -> bool:
    """A value that may be a key or token: text, or a list holding text (`'api_key': ['sk-...']`); a flag, a number
    or an empty value is none."""
    if isinstance(value, str):
        return value != ""
    return isinstance(value, (list, tuple)) and any(isinstance(v, str) and v for v in value)


def _clean(args: dict[str, Any]) -> dict[str, Any]:
    return {k: (REDACTED if is_secret(k) and _secret_value(v) else v) for k, v in args.items()}


_PROMPT = lazy(
    r"^\s*`*(?:(?:bash|sh|shell|console|zsh)\s+)?(?:\([\w.-]+\)\s*)*(?:[\w.-]+@[\w.-]+:[^\s$#]*)?"
    r"(?:[$#>+]\s*)?(?P<env>(?:[A-Za-z_]\w*=\S*\s+)*)"
    r"(?P<pre>(?:(?:nohup|exec|time|sudo(?:\s+-E)?)\s+)*)"
    r"(?P<cmd>vllm serve\s|(?:\S*/)?python(?:3(?:\.\d+)?)?(?:\s+-[uBOE]+)*\s+-m\s+vllm\.entrypoints\.openai\.api_server\b"
    r"|(?:docker|podman)\s+run\s)"
)
_ENV_ONLY = lazy(r"^\s*`*(?:[A-Za-z_]\w*=\S*\s+)+\\\s*$")  # `CUDA_VISIBLE_DEVICES=0 \` before the command line
# where the shell's own syntax starts: `> out.log`, `2>&1`, `&>> log`, `| tee`, `&`, `;`, `&&` end the arguments
# (a `<redacted>` or `<TOKEN>` placeholder pasted for a value is no input redirection)
_SHELL_END = lazy(r"^(?:\d?>|&>|<(?![^<>\s]*>$)|\||&|;)")
MAX_CONTINUATION = 64  # lines of one typed command continued with `\`
# vLLM's one-dash aliases of engine arguments: `-tp 2` is `--tensor-parallel-size 2`
SHORT_FLAGS = {"tp": "tensor_parallel_size", "pp": "pipeline_parallel_size", "dp": "data_parallel_size",
               "dpl": "data_parallel_size_local", "q": "quantization"}
# `docker run` / `podman run` options that take the next word as their value (the others are bare flags)
DOCKER_VALUED = frozenset({
    "-v", "--volume", "-e", "--env", "--env-file", "-p", "--publish", "--name", "--gpus", "--runtime", "--shm-size",
    "--ipc", "--network", "--net", "-u", "--user", "-w", "--workdir", "--mount", "--device", "--ulimit", "--cpus",
    "-m", "--memory", "--restart", "-l", "--label", "--cap-add", "--security-opt", "--platform", "--log-opt",
    "--hostname", "-h", "--add-host", "--pid", "--group-add", "--tmpfs", "--entrypoint", "--pull", "--cpuset-cpus",
    "--memory-swap", "--log-driver", "--dns", "--expose", "--uts", "--cgroupns",
})
_VLLM_IMAGE = lazy(r"(?:[\w.:-]+/)*[\w.-]*vllm[\w.-]*(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?", regex.IGNORECASE)
_VARIABLE = lazy(r"\$\{?\w+\}?")
_SHELL_WORD = lazy(r"[\w@%+=:,./~${}-]+")  # as typed: a `~/` path or a `$VARIABLE` the shell expands, not quoted


def _arguments(words: list[str]) -> list[str]:
    """The words up to where the shell's own syntax starts (a redirection, a pipe, `&`)."""
    for i, word in enumerate(words):
        if _SHELL_END.match(word):
            return words[:i]
    return words


def _docker(words: list[str]) -> tuple[list[str], str, list[str]] | None:
    """`docker run`'s options (each as typed, secret-named settings redacted), the vLLM image, and the words after
    it (the image's entrypoint is vLLM's server: they are its arguments); None when no vLLM image is run or an
    `--entrypoint` replaces the server."""
    options: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("-"):
            if not _VLLM_IMAGE.fullmatch(word):
                return None
            return options, word, words[i + 1 :]
        name, eq, _ = word.partition("=")
        if name == "--entrypoint":
            return None
        if eq or name not in DOCKER_VALUED:
            options.append(_docker_word(word))
            i += 1
            continue
        if i + 1 >= len(words):
            return None
        options.append(f"{word} {_docker_word(words[i + 1])}")
        i += 2
    return None


def _docker_word(word: str) -> str:
    """One docker option word as the corrected command repeats it: `NAME=secret` settings redacted (a `$VARIABLE`
    kept: it names no secret), shell variables left unquoted."""
    head, eq, value = word.partition("=")
    name = head.rpartition("=")[2].lstrip("-")
    if eq and is_secret_name(name) and value and not _VARIABLE.fullmatch(value):
        return f"{head}={REDACTED}"
    return word if _SHELL_WORD.fullmatch(word) else quote(word)


def read_typed(message: str, number: int) -> LoggedArgs | None:
    """A command line as typed (`vllm serve MODEL --flag v`, `python -m vllm.entrypoints.openai.api_server --model
    M ...`, `docker run OPTIONS vllm/vllm-openai:TAG [MODEL] --flag v`), at the start of a line (after a `$` prompt,
    maybe with `(venv) user@host:~/dir` before it,
    `NAME=value` settings and `nohup` / `sudo`, which the corrected command keeps, secret-named settings redacted);
    None for prose that mentions one. A command pasted as inline code (between backticks, maybe after the language
    tag of a fence written inline: `` `bash vllm serve ...` ``) is read too. What follows a redirection or `&` is
    the shell's, not vLLM's."""
    m = _PROMPT.match(message)
    if m is None:
        return None
    import shlex

    rest = message[m.end("cmd"):].rstrip()
    if message.lstrip().startswith("`"):
        rest = rest.rstrip("`").rstrip()
    complete = not rest.endswith("\\")
    try:
        words = _arguments(shlex.split(rest.rstrip("\\")))
        env = [_env_word(w) for w in shlex.split(m["env"])]
        pre = shlex.split(m["pre"])
    except ValueError:
        return None
    cmd = " ".join(m["cmd"].split())
    args: dict[str, Any] = {}
    if cmd.startswith(("docker", "podman")):
        found = _docker(words)
        if found is None:
            return None
        options, image, words = found
        program = " ".join([*env, *pre, cmd, *options, image])
        if words and not words[0].startswith("-"):  # the model first: the image runs `vllm serve`
            args["model_tag"] = words[0]
            args["model"] = words.pop(0)
    elif cmd.startswith("vllm"):
        if not words or words[0].startswith("-"):
            return None
        args["model"] = words.pop(0)
        program = " ".join([*env, *pre, "vllm serve"])
    else:
        program = " ".join([*env, *pre, cmd])
    parsed = _flags(words)
    if parsed is None:
        return None
    args.update(parsed)
    if "model" not in args:
        return None
    return LoggedArgs("command line", number, _clean(args), complete, program)


def _flags(words: list[str]) -> dict[str, Any] | None:
    """`--name value`, `--name=value`, bare `--flag` (True) and `--no-flag` (False) words as arguments; None when a
    word is none of these (not a command line after all)."""
    args: dict[str, Any] = {}
    i = 0
    while i < len(words):
        word = words[i]
        alias, eq_sign, rest_value = word[1:].partition("=")
        if word.startswith("-") and alias in SHORT_FLAGS:
            word = "--" + SHORT_FLAGS[alias] + eq_sign + rest_value
        if not word.startswith("--") or len(word) < 3:
            return None  # not a command line after all (or a one-dash flag whose long name is not known)
        name, eq, value = word[2:].partition("=")
        name = name.replace("-", "_")
        if eq:
            args[name] = typed(value)
        elif i + 1 < len(words) and not _is_flag(words[i + 1]):
            args[name] = typed(words[i + 1])
            i += 1
        elif name.startswith("no_"):
            args[name[3:]] = False
        else:
            args[name] = True
        i += 1
    return args


def read_gpustack(message: str, number: int) -> LoggedArgs | None:
    """The vLLM command GPUStack's worker logs before it starts it: `Run vllm with arguments: serve MODEL --flag v`
    (0.6) or `With image: IMAGE, arguments: [vllm serve MODEL --flag v]` (2.x; `command: [` later; the list closed
    on the same line). GPUStack joins the words with spaces, unquoted: a JSON value (`{"method": "mtp", ...}`) is
    one word again from its `{` to the matching `}`."""
    at = message.find(GPUSTACK[0])
    if at >= 0:
        line = "vllm " + message[at + len(GPUSTACK[0]) :].strip()
    else:
        found_at = [(message.find(g), g) for g in GPUSTACK[1:] if g in message]
        if not found_at:
            return None
        at, marker = found_at[0]
        close = message.rfind("]")
        if close < at:
            return None  # the list is cut before its end
        line = message[at + marker.index("[") + 1 : close]
    words = _json_words(line.split())
    if words is None or words[:2] != ["vllm", "serve"]:
        return None
    return read_typed(" ".join(quote(w) if i > 1 else w for i, w in enumerate(words)), number)


def _json_words(tokens: list[str]) -> list[str] | None:
    """Whitespace-split words with a `{...}` / `[...]` value split at its spaces joined back; None when one is
    not closed (a line cut inside it)."""
    out: list[str] = []
    depth = 0
    for token in tokens:
        if depth > 0:
            out[-1] += " " + token
        else:
            out.append(token)
        depth = max(depth + token.count("{") + token.count("[") - token.count("}") - token.count("]"), 0)
    return out if depth == 0 else None


_CALL = lazy(r"^\s*(?:[A-Za-z_][\w.]*(?:\[[^\]]*\])?\s*=\s*)?(?:vllm\.)?LLM\(")


def read_offline(message: str, number: int) -> LoggedArgs | None:
    """An offline script's `llm = LLM(model="m", tensor_parallel_size=2)` on one line (a traceback's source line,
    a pasted script): each keyword as written, a value that is no literal (`args.model`) kept as code; `**kwargs`
    makes it incomplete. None for a call continued on the next line, or one that names no model."""
    m = _CALL.match(message)
    if m is None:
        return None
    close = _closing(message, m.end() - 1)
    if close is None or message[close + 1 :].strip() not in ("", ")"):
        return None
    args: dict[str, Any] = {}
    complete = True
    for i, part in enumerate(split_top(message[m.end() : close])):
        part = part.strip()
        if not part:
            continue
        if part.startswith("*"):
            complete = False
            continue
        key, eq, value = part.partition("=")
        if not eq or not key.strip().isidentifier():
            if i > 0 or eq:
                return None
            key, value = "model", part
        args[key.strip()] = _python_value(value.strip())
    if "model" not in args:
        return None
    return LoggedArgs("code", number, _clean(args), complete, program="LLM")


def _python_value(text: str) -> Any:
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return Code(text)


def _is_flag(word: str) -> bool:
    return word.startswith("--") or (word.startswith("-") and word[1:].partition("=")[0] in SHORT_FLAGS)


def _env_word(word: str) -> str:
    """A `NAME=value` setting typed before the command, as the corrected command repeats it."""
    name, _, value = word.partition("=")
    return f"{name}={REDACTED if is_secret(name) and value else quote(value)}"


def continued(lines: Sequence[LogLine], i: int) -> str:
    """The typed command on line `i` with the lines it continues onto (each ending with `\\`), and the
    `NAME=value \\` lines before it: one line, as the shell reads it. Only lines next to each other in the input."""
    parts = [lines[i].message]
    j = i
    while (parts[-1].rstrip().endswith("\\") and j + 1 < len(lines) and len(parts) < MAX_CONTINUATION
           and lines[j + 1].number == lines[j].number + 1):
        j += 1
        parts[-1] = parts[-1].rstrip()[:-1]
        parts.append(lines[j].message.strip())
    k = i
    while k > 0 and lines[k - 1].number == lines[k].number - 1 and _ENV_ONLY.match(lines[k - 1].message):
        k -= 1
        parts.insert(0, lines[k].message.strip().lstrip("`")[:-1].rstrip())
    return " ".join(p.rstrip() for p in parts)


def read_line(message: str, number: int) -> LoggedArgs | None:
    """The arguments on one logged line (any of the shapes), or None when it holds none or is cut."""
    if any(t in message for t in TYPED):
        typed_command = read_typed(message, number)
        if typed_command is not None:
            return typed_command
    if any(g in message for g in GPUSTACK):
        return read_gpustack(message, number)
    if OFFLINE_CALL in message and NON_DEFAULT not in message and ENGINE_CONFIG not in message:
        return read_offline(message, number)
    for marker, source in ((NON_DEFAULT, "non-default args"), (NAMESPACE, "Namespace")):
        at = message.find(marker)
        if at >= 0:
            open_at = at + len(marker) - 1
            close = _closing(message, open_at)
            if close is None:
                return None
            body = message[open_at + 1 : close]
            args = _pairs(body, ":" if source == "non-default args" else "=")
            if source == "Namespace":
                args = {k: v for k, v in args.items() if not _default(k, v, DEFAULTS)}
            return LoggedArgs(source, number, _clean(args), complete=True)
    at = message.find(ENGINE_CONFIG)
    if at >= 0 and "LLM engine" in message[:at]:
        raw = _pairs(message[at + len(ENGINE_CONFIG) :], "=")
        args = {}
        for key, value in raw.items():
            name = CONFIG_NAMES.get(key, key)
            if name in CONFIG_ARGS and not _default(name, value, CONFIG_DEFAULTS):
                args[name] = value
        if args.get("tokenizer") == args.get("model"):
            args.pop("tokenizer", None)
        if args.get("served_model_name") == args.get("model"):
            args.pop("served_model_name", None)
        return LoggedArgs("engine config", number, _clean(args), complete=False) if "model" in args else None
    return None


def _default(name: str, value: Any, defaults: dict[str, Any]) -> bool:
    if name in defaults:
        return bool(value == defaults[name])
    return value in (None, False, "", []) or value == {}


def find_command(lines: Sequence[LogLine], index: LineIndex) -> Command | None:
    """The user's command: the last complete logged arguments (non-default args, then a Namespace), else the last
    command line (typed or GPUStack's) or `LLM(...)` call, else the last engine config line; None when the log shows
    none of them."""
    best: LoggedArgs | None = None
    rank = {"non-default args": 3, "Namespace": 3, "command line": 2, "code": 2, "engine config": 1}
    for i in index.lines_with_any(LITERALS):
        message = lines[i].message
        if any(t in message for t in TYPED) and _PROMPT.match(message):
            message = continued(lines, i)
        found = read_line(message, lines[i].number)
        if found is not None and (best is None or rank[found.source] >= rank[best.source]):
            best = found
    if best is None:
        return None
    serve = best.source != "code" and (best.source in ("Namespace", "command line") or "model_tag" in best.args or bool(
        index.lines_with_any(SERVER_MARKERS)))
    args = dict(best.args)
    command = Command(kind="serve" if serve else "offline", source=best.source, line=best.line, args=args,
                      text="", complete=best.complete, program=best.program)
    command.text = render(command, args)
    return command
