"""Values for limits a request, an adapter or the host ran into: the prompt against max_model_len, a LoRA rank against
max_lora_rank, multimodal items against --limit-mm-per-prompt, the swap space against the host's memory.

Each is read from the failing line itself (vLLM prints both sides of the comparison); the arithmetic:
- `prompt_over`: prompt tokens - the limit, when the prompt alone is longer; `max_tokens_fits`: the limit - the prompt
  tokens, when the prompt fits and the completion asked for does not; `len_needed`: prompt + completion tokens (at
  least prompt + 1 when the completion is not printed): the context the request needed.
- `lora_rank_fits`: the smallest of vLLM's accepted --max-lora-rank values (8, 16, 32, 64, 128, 256, 320, 512) that
  is at least the adapter's rank.
- `swap_fits`: vLLM pins swap_space GiB per GPU of the node (tensor_parallel_size of them) and warns above 40% of
  the host's memory: floor(0.4 x memory / tensor_parallel_size) GiB, only when the log gives the parallel size.
"""

from __future__ import annotations

import math

from logclassify.engine.valueinputs import Inputs, find, make_value
from logclassify.models import Value

# OpenAI server (serving_engine): prompt and completion, the prompt alone, or max_tokens against what is left
CONTEXT = (r"maximum context length is (?P<limit>\d+) tokens\. However, (?:you requested (?P<total>\d+) tokens "
           r"\((?P<prompt>\d+) in the messages, (?P<completion>\d+) in the completion\)|you requested (?P<p2>\d+) "
           r"tokens in the input|your (?:request has|messages resulted in) (?P<p3>\d+)(?: input)? tokens)")
MAX_TOKENS = (r"'max_tokens' or 'max_completion_tokens' is too large: (?P<completion>\d+)\. This model's maximum "
              r"context length is (?P<limit>\d+) tokens and your request has (?P<prompt>\d+) input tokens")
# the engine's own checks (V0 llm_engine, V1 processor, V0 scheduler)
PROMPT_LEN = (r"(?:(?:decoder|encoder) prompt \(length (?P<prompt>\d+)\)|Prompt length of (?P<p2>\d+)) is longer than "
              r"the maximum model length of (?P<limit>\d+)|Input prompt \((?P<p3>\d+) tokens\) is too long and exceeds "
              r"limit of (?P<l2>\d+)")


def prompt_length(inp: Inputs) -> dict[str, Value]:
    found = (find(inp, "maximum context length is", CONTEXT) or find(inp, "is too large:", MAX_TOKENS)
             or find(inp, "maximum model length of", PROMPT_LEN) or find(inp, "is too long and exceeds", PROMPT_LEN))
    if found is None or found[1].number not in inp.hit_lines:
        return {}
    m, line = found
    groups = m.groupdict()
    prompt = int(groups.get("prompt") or groups.get("p2") or groups.get("p3") or 0)
    limit = int(groups.get("limit") or groups.get("l2") or 0)
    completion = int(groups["completion"]) if groups.get("completion") else None
    if prompt <= 0 or limit <= 0:
        return {}
    n = line.number
    out = {
        "prompt_len": make_value("prompt_len", prompt, "the request's prompt, in tokens", n),
        "len_limit": make_value("len_limit", limit, "the most tokens a request may have (max_model_len, or the "
                                "scheduler's limit)", n),
    }
    if prompt >= limit:
        out["prompt_over"] = make_value("prompt_over", prompt - limit, f"{prompt} prompt tokens - {limit}", n)
    if completion is not None:
        out["completion_len"] = make_value("completion_len", completion, "the completion tokens asked for "
                                           "(max_tokens)", n)
        out["len_needed"] = make_value("len_needed", prompt + completion, f"{prompt} prompt + {completion} "
                                       "completion tokens", n)
        if prompt < limit < prompt + completion:
            out["max_tokens_fits"] = make_value("max_tokens_fits", limit - prompt, f"{limit} - {prompt} prompt "
                                                "tokens: the most completion tokens that fit", n)
    else:
        out["len_needed"] = make_value("len_needed", prompt + 1, f"{prompt} prompt tokens + 1 to generate: the "
                                       "least the request needs", n)
    return out


LORA_RANK = r"LoRA rank (?P<rank>\d+) is greater than max_lora_rank (?P<limit>\d+)"
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)  # what --max-lora-rank accepts (recent releases; older ones fewer)


def lora_rank(inp: Inputs) -> dict[str, Value]:
    found = find(inp, "is greater than max_lora_rank", LORA_RANK)
    if found is None:
        return {}
    m, line = found
    rank, n = int(m["rank"]), line.number
    out = {
        "lora_rank": make_value("lora_rank", rank, "the adapter's rank (r in its adapter_config.json)", n),
        "lora_rank_limit": make_value("lora_rank_limit", m["limit"], "the server's --max-lora-rank", n),
    }
    fits = [r for r in LORA_RANKS if r >= rank]
    if fits:
        out["lora_rank_fits"] = make_value("lora_rank_fits", fits[0], f"the smallest accepted --max-lora-rank "
                                           f"({', '.join(map(str, LORA_RANKS))}) that is at least {rank}", n)
    return out


MM_LIMIT = (r"You set [`'\"]?(?P<modality>\w+)=(?P<limit>\d+)[`'\"]? \(or defaulted to \d+\) in .?--limit-mm-per-prompt.?, "
            r"but (?:passed|found) (?P<passed>\d+)")
MM_AT_MOST = r"At most (?P<limit>\d+) (?P<modality>image|video|audio)\(s\) may be provided"


def mm_items(inp: Inputs) -> dict[str, Value]:
    found = find(inp, "--limit-mm-per-prompt", MM_LIMIT) or find(inp, "may be provided in one", MM_AT_MOST)
    if found is None:
        return {}
    m, line = found
    n = line.number
    out = {
        "mm_modality": make_value("mm_modality", m["modality"], "the kind of item over its limit", n),
        "mm_limit": make_value("mm_limit", m["limit"], "the items of that kind a prompt may have "
                               "(--limit-mm-per-prompt)", n),
    }
    if "passed" in m.groupdict():
        out["mm_passed"] = make_value("mm_passed", m["passed"], "the items of that kind the request carried", n)
    return out


SWAP = r"(?:Too|Possibly too) large swap space\. (?P<swap>[\d.]+) GiB out of the (?P<cpu>[\d.]+) GiB total CPU memory"
SWAP_WARN = 0.4  # vLLM warns above this share of the host's memory (and refuses above 0.7)


def swap_space(inp: Inputs) -> dict[str, Value]:
    found = find(inp, "large swap space", SWAP)
    if found is None:
        return {}
    m, line = found
    n = line.number
    swap, cpu = float(m["swap"]), float(m["cpu"])
    out = {
        "swap_total": make_value("swap_total", f"{m['swap']} GiB", "swap space for all GPUs of the node", n),
        "cpu_total": make_value("cpu_total", f"{m['cpu']} GiB", "the host memory vLLM sees", n),
    }
    tp = inp.facts.get("tensor_parallel_size")
    if tp and tp[-1].value.isdigit() and int(tp[-1].value) > 0 and cpu > 0 and swap > 0:
        gpus = int(tp[-1].value)
        fits = math.floor(SWAP_WARN * cpu / gpus)
        out["swap_fits"] = make_value("swap_fits", fits, f"0.4 x {cpu:g} GiB / {gpus} GPU(s) per node, rounded "
                                      "down: a --swap-space the check accepts without a warning", n, tp[-1].line)
    return out
