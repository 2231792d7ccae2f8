"""Values a fix can name, read or computed from the log's own lines, each with the lines it comes from.

A rule names them in its text as `{values.NAME}`. Each is worked out only for a diagnosis whose text asks for it, so
a log no rule asks about costs nothing. A value whose inputs the log does not give is not derived (the rule then
shows its generic step): no default is assumed except the 0.9 --gpu-memory-utilization an `args: Namespace(...)`
line printed (the older releases that print one all default to 0.9; later ones changed the default, so an unset
flag in `non-default args` or a typed command says nothing about the value).

The arithmetic, per value (GiB as printed; all per GPU, as vLLM prints them):
- `max_len_fits`: vLLM's own figure, "the estimated maximum model length is N" (V1) or "the maximum number of tokens
  that can be stored in KV cache (N)" (V0). Never scaled by hand: the KV cache of sliding-window and hybrid models is
  not linear in the length.
- `util_for_len`: vLLM gives the KV cache `total x utilization - (weights + activations + other)`, so the cache
  grows by `total x d` when the utilization grows by d: `util + (needed - available) / total`, rounded up to the
  hundredth; not offered above 0.98. V0 prints no GiB needed, but stores every token alike, so the cache for the
  wanted length is at most `kv_cache_size x wanted / fits` (its profiling line gives kv_cache_size, total, util).
- `util_fits`: the start-up check needs `utilization x total <= free`: `free / total - 0.01` rounded down to the
  hundredth (free memory moves a little between runs); not offered below 0.3 (then other processes hold the GPU,
  and `free_share`, the free part in percent, says so instead).
- `tp_fits`: the largest power of two below the asked size that divides the head count (hidden and intermediate
  sizes are multiples of large powers of two; other divisors often fail on them); `pp_with_tp`: asked / tp_fits
  when that is whole, to keep using the same GPUs.
- `oom_short`: the size asked for minus the free memory the allocator reported.
"""

from __future__ import annotations

import re

from logclassify.engine.requestvalues import lora_rank, mm_items, prompt_length, swap_space
from logclassify.engine.valueinputs import Deriver, Inputs, find, make_value
from logclassify.models import Phase, Value
from logclassify.parse.quantities import SIZE, ceil2, floor2, human, integer, size_bytes

LITERALS = ("total_gpu_memory", "/dev/shm")  # lines derivers read that no rule keeps: kept by the scan as markers
MAX_UTILIZATION = 0.98  # a higher --gpu-memory-utilization leaves nothing for CUDA itself: not suggested
HEADROOM = 0.01  # free memory moves a little between runs: the suggested fraction stays this far below it
MIN_UTILIZATION = 0.3  # below this the weights alone rarely fit: the other processes are the problem, not the fraction
DEFAULT_UTILIZATION = 0.9  # vLLM's default --gpu-memory-utilization in the releases that log a Namespace


def _fmt(x: float) -> str:
    return f"{x:.2f}"


# -- the KV cache -----------------------------------------------------------------------------------------------


V1_KV = (r"max seq len \((?P<want>\d+)\), \(?(?P<need>[\d.]+) GiB KV cache is needed, which is larger than the "
         r"available KV cache memory \((?P<have>-?[\d.]+) GiB\)")
V1_ESTIMATE = r"the estimated maximum model length is (?P<fits>\d+)"
V0_KV = (r"max seq len \((?P<want>\d+)\) is larger than the maximum number of tokens that can be stored in KV "
         r"cache \((?P<fits>\d+)\)")
V0_BUDGET = r"total_gpu_memory \((?P<total>[\d.]+) ?GiB\) x gpu_memory_utilization \((?P<util>[\d.]+)\)"
FREE_CHECK = (r"Free memory on device(?: \S+)? \((?P<free>[\d.]+)/(?P<total>[\d.]+) GiB\) on startup is less than "
              r"desired GPU memory utilization \((?P<util>[\d.]+), (?P<asked>[\d.]+) GiB\)")


def kv_cache(inp: Inputs) -> dict[str, Value]:
    out: dict[str, Value] = {}
    v1 = find(inp, "KV cache is needed", V1_KV)
    if v1 is not None:
        m, line = v1
        out["wanted_len"] = make_value("wanted_len", m["want"], "the max_model_len vLLM tried to fit", line.number)
        out["kv_needed"] = make_value("kv_needed", f"{m['need']} GiB", "KV cache one sequence of that length needs",
                              line.number)
        out["kv_available"] = make_value("kv_available", f"{m['have']} GiB", "KV cache memory left after the profiling run",
                                 line.number)
        est = re.search(V1_ESTIMATE, line.message)
        if est is not None and int(est["fits"]) > 0:
            out["max_len_fits"] = make_value("max_len_fits", est["fits"], "the longest max_model_len the KV cache holds, "
                                     "as vLLM estimated it", line.number)
        util = _utilization_for(inp, float(m["need"]), float(m["have"]), line.number)
        if util is not None:
            out["util_for_len"] = util
        return out
    v0 = find(inp, "can be stored in KV cache", V0_KV)
    if v0 is not None:
        m, line = v0
        out["wanted_len"] = make_value("wanted_len", m["want"], "the max_model_len vLLM tried to fit", line.number)
        out["max_len_fits"] = make_value("max_len_fits", m["fits"], "the most tokens the KV cache holds, as vLLM computed "
                                 "it", line.number)
        util = _v0_utilization_for(inp, int(m["want"]), int(m["fits"]), line.number)
        if util is not None:
            out["util_for_len"] = util
    return out


V0_KV_SIZE = r"(?:kv_cache_size=|reserved for KV Cache is )(?P<kv>[\d.]+) ?GiB"
V0_PROFILE = r"total_gpu_memory=(?P<total>[\d.]+) ?GiB.*gpu_memory_utilization=(?P<util>[\d.]+)"


def _v0_utilization_for(inp: Inputs, want: int, fits: int, line: int) -> Value | None:
    """V0 stores every token alike (blocks of one size for all layers): the cache for `want` tokens is at most
    `kv x want / fits` (kv holds `fits` tokens and less than a block more); the rest as in V1."""
    size = find(inp, "KV Cache is", V0_KV_SIZE) or find(inp, "kv_cache_size=", V0_KV_SIZE)
    budget = find(inp, "total_gpu_memory=", V0_PROFILE) or find(inp, "total_gpu_memory", V0_BUDGET)
    if size is None or budget is None or fits <= 0 or want <= fits:
        return None
    kv = float(size[0]["kv"]) + 0.005  # printed to the hundredth: its largest value
    total, util = float(budget[0]["total"]), float(budget[0]["util"])
    need = kv * want / fits
    wanted = ceil2(util + (need - kv) / total)
    if total <= 0 or wanted > MAX_UTILIZATION or wanted <= util:
        return None
    about = (f"{util:g} + ({kv:g} GiB x {want} / {fits} tokens - {kv:g} GiB) / {total:g} GiB of GPU memory, rounded "
             "up: the utilization whose KV cache holds the wanted length")
    return make_value("util_for_len", _fmt(wanted), about, line, size[1].number, budget[1].number)


def _utilization_for(inp: Inputs, need: float, have: float, line: int) -> Value | None:
    """The --gpu-memory-utilization that gives the KV cache `need` GiB instead of `have`."""
    budget = find(inp, "total_gpu_memory", V0_BUDGET)
    total: float | None = None
    util: float | None = None
    lines = [line]
    if budget is not None:
        total, util = float(budget[0]["total"]), float(budget[0]["util"])
        lines.append(budget[1].number)
    else:
        free = find(inp, "on startup is less than", FREE_CHECK)
        if free is not None:
            total = float(free[0]["total"])
            lines.append(free[1].number)
        asked = current_utilization(inp)
        if asked is not None:
            util = asked[0]
            lines.extend(asked[1])
    if total is None or util is None or total <= 0:
        return None
    wanted = ceil2(util + (need - have) / total)
    if wanted > MAX_UTILIZATION or wanted <= util:
        return None
    about = (f"{util:g} + ({need:g} - {have:g} GiB of KV cache) / {total:g} GiB of GPU memory, rounded up: the "
             "utilization that leaves room for one sequence of the wanted length")
    return make_value("util_for_len", _fmt(wanted), about, *lines)


def current_utilization(inp: Inputs) -> tuple[float, list[int]] | None:
    """--gpu-memory-utilization of this run: as logged or typed, or 0.9 where a Namespace printed that default (newer
    releases changed the default: an unset flag elsewhere gives no value)."""
    command = inp.command()
    if command is None:
        return None
    value = command.args.get("gpu_memory_utilization")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), [command.line]
    if value is None and command.complete and command.source == "Namespace":
        return DEFAULT_UTILIZATION, [command.line]
    return None


def utilization(inp: Inputs) -> dict[str, Value]:
    """--gpu-memory-utilization of this run: V0's profiling line, else the logged command (or its default)."""
    budget = find(inp, "total_gpu_memory", V0_BUDGET) or find(inp, "total_gpu_memory=", V0_PROFILE)
    if budget is not None:
        return {"util_now": make_value("util_now", budget[0]["util"], "the --gpu-memory-utilization of this run (vLLM's "
                               "memory profile)", budget[1].number)}
    asked = current_utilization(inp)
    if asked is None:
        return {}
    return {"util_now": make_value("util_now", f"{asked[0]:g}", "the --gpu-memory-utilization of this run (the logged "
                           "arguments; 0.9 where a Namespace printed that default)", *asked[1])}


# -- GPU memory at start-up -------------------------------------------------------------------------------------


def free_memory(inp: Inputs) -> dict[str, Value]:
    found = find(inp, "on startup is less than", FREE_CHECK)
    if found is None:
        return {}
    m, line = found
    free, total = float(m["free"]), float(m["total"])
    out = {
        "free_gib": make_value("free_gib", f"{m['free']} GiB", "free GPU memory when vLLM started", line.number),
        "total_gib": make_value("total_gib", f"{m['total']} GiB", "the GPU's total memory", line.number),
        "util_asked": make_value("util_asked", m["util"], "the --gpu-memory-utilization asked for", line.number),
    }
    fits = floor2(free / total - HEADROOM) if total > 0 else 0.0
    if fits >= MIN_UTILIZATION:
        out["util_fits"] = make_value("util_fits", _fmt(fits), f"{m['free']} / {m['total']} GiB free, less 0.01 of "
                              "headroom, rounded down: a utilization the start-up check accepts", line.number)
    elif total > 0:
        share = 100 * free / total
        shown = f"{share:.1f}%" if share < 10 else f"{share:.0f}%"
        out["free_share"] = make_value("free_share", shown, f"{m['free']} / {m['total']} GiB free: below "
                               f"{MIN_UTILIZATION:g} of the GPU, too little for any useful fraction", line.number)
    return out


# -- context length ---------------------------------------------------------------------------------------------


DERIVED_LEN = (r"User-specified max_model_len \((?P<user>\d+)\) is greater than the derived max_model_len "
               r"\((?P<key>\w+)=(?P<derived>[\d.]+)")


def derived_length(inp: Inputs) -> dict[str, Value]:
    found = find(inp, "User-specified max_model_len", DERIVED_LEN)
    if found is None:
        return {}
    m, line = found
    derived = integer(m["derived"])
    if derived is None or derived <= 0:
        return {}
    return {
        "user_len": make_value("user_len", m["user"], "the max_model_len asked for", line.number),
        "model_len": make_value("model_len", derived, f"the model's own limit ({m['key']} in its config.json)", line.number),
    }


# -- parallel sizes ---------------------------------------------------------------------------------------------


HEADS = (r"Total number of (?P<what>attention heads|key[_ ]value heads|hidden layers) \((?P<n>\d+)\) must be "
         r"divisible by (?P<kind>tensor|pipeline) parallel size \((?P<size>\d+)\)")


def parallel_sizes(inp: Inputs) -> dict[str, Value]:
    found = find(inp, "must be divisible by", HEADS)
    if found is None:
        return {}
    m, line = found
    n, asked = int(m["n"]), int(m["size"])
    what = m["what"].replace("_", " ")
    if n <= 0 or asked <= 1:
        return {}
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    power = max(d for d in divisors if d & (d - 1) == 0 and d < asked) if asked > 1 else 1
    kind = m["kind"]
    size_name = "tp" if kind == "tensor" else "pp"
    out = {
        "heads": make_value("heads", n, f"the model's {what}", line.number),
        f"{size_name}_asked": make_value(f"{size_name}_asked", asked, f"the {kind} parallel size asked for", line.number),
        f"{size_name}_divisors": make_value(f"{size_name}_divisors", ", ".join(str(d) for d in divisors if d < asked),
                                    f"the sizes below {asked} that divide {n} {what}", line.number),
    }
    if kind == "tensor":
        out["tp_fits"] = make_value("tp_fits", power, f"the largest power of two below {asked} that divides {n} {what}",
                            line.number)
        if asked % power == 0:
            out["pp_with_tp"] = make_value("pp_with_tp", asked // power, f"{asked} GPUs / tensor parallel {power}",
                                   line.number)
    else:
        below = [d for d in divisors if d < asked]
        out["pp_fits"] = make_value("pp_fits", max(below), f"the largest size below {asked} that divides {n} {what}",
                            line.number)
    return out


# -- CUDA out of memory -----------------------------------------------------------------------------------------


OOM_NEW = (rf"Tried to allocate (?P<asked>{SIZE})\. GPU (?P<gpu>\d+) has a total capacit(?:y|ty) of "
           rf"(?P<total>{SIZE}) of which (?P<free>{SIZE}) is free")
OOM_OLD = (rf"Tried to allocate (?P<asked>{SIZE}) \(GPU (?P<gpu>\d+); (?P<total>{SIZE}) total capacit(?:y|ty); "
           rf"[^;]*; (?P<free>{SIZE}) free")


def out_of_memory(inp: Inputs) -> dict[str, Value]:
    found = find(inp, "Tried to allocate", OOM_NEW) or find(inp, "Tried to allocate", OOM_OLD)
    out: dict[str, Value] = {}
    if found is not None:
        m, line = found
        asked, free, total = (size_bytes(m[k]) for k in ("asked", "free", "total"))
        if asked is not None and free is not None and total is not None:
            n = line.number
            out["oom_gpu"] = make_value("oom_gpu", m["gpu"], "the GPU (index in this process) that ran out", n)
            out["oom_asked"] = make_value("oom_asked", human(asked), "the allocation that failed", n)
            out["oom_free"] = make_value("oom_free", human(free), "free memory on that GPU at that moment", n)
            out["oom_total"] = make_value("oom_total", human(total), "that GPU's total memory", n)
            if asked > free:
                out["oom_short"] = make_value("oom_short", human(asked - free), f"{human(asked)} asked - {human(free)} free", n)
            else:
                out["oom_fragmented"] = make_value("oom_fragmented", f"{human(asked)} asked, {human(free)} free", "less "
                                            "asked than was free: the memory was there but not in one piece", n)
    phase = _oom_phase(inp)
    if phase is not None:
        out["oom_phase"] = phase
    return out


# The start-up step a frame of the failing traceback belongs to (vLLM's V0 and V1 worker and model-runner methods).
# Read innermost first: V1's profile run and its CUDA-graph capture both go through `_dummy_run`, which names neither.
PHASE_FRAMES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("_dummy_sampler_run", "_dummy_pooler_run"), ("sampler", "warming up the sampler")),
    # V0's `initialize_cache` is not listed: it allocates the KV cache and then captures the CUDA graphs
# (`_warm_up_model`), so it names neither step on its own (an inner frame does).
# torch.cuda.graph's own capture_begin / capture_end: a traceback cut above vLLM's capture_model still shows them
    **dict.fromkeys(("capture_model", "_capture_cudagraphs", "_warmup_and_capture", "capture", "capture_begin",
                     "capture_end"), ("cuda_graphs", "capturing CUDA graphs")),
    **dict.fromkeys(("_allocate_kv_cache", "_allocate_kv_cache_tensors", "initialize_kv_cache_tensors",
                     "initialize_kv_cache", "_init_cache_engine", "initialize_from_config"),
                    ("kv_cache", "allocating the KV cache")),
    **dict.fromkeys(("profile_run", "determine_num_available_blocks", "determine_available_memory"),
                    ("profile", "the profiling run that sizes the KV cache")),
    **dict.fromkeys(("load_weights", "load_model"), ("load_weights", "loading the weights")),
}
# The engine's request loop runs only once start-up is done (V1 EngineCore `run_busy_loop`, V0 AsyncLLMEngine and
# MQLLMEngine `run_engine_loop` / `engine_step`): a failing traceback through it failed while serving, whatever step
# an inner frame is named after.
SERVING_FRAMES = frozenset(("run_busy_loop", "_process_engine_step", "run_engine_loop", "engine_step"))
# vLLM's wrappers name the step in the message itself: "... while processing method load_model: CUDA out of memory",
# "Error executing method 'determine_num_available_blocks'", "... when warming up sampler with 1024 dummy requests",
# "Failed to load model - not enough GPU memory"; V0's MQ client answers a request after the loop died with
# "Engine loop is not running. Inspect the stacktrace to find the original error: OutOfMemoryError(...)" (serving).
PHASE_MESSAGE = (r"(?:processing method |executing method '?)(?P<method>\w+)|when warming up (?P<warm>sampler|pooler)|"
                 r"(?P<load>Failed to load model)|(?P<loop>Engine loop is not running)")


def _oom_phase(inp: Inputs) -> Value | None:
    """The start-up step the failure happened in: the failing traceback's frames, else the step vLLM's message
    names, else the phase of the start-up timeline the failure line falls in."""
    if not inp.hit_lines:
        return None
    hits = set(inp.hit_lines)
    found = _phase_from_frames(inp, hits) or _phase_from_message(inp, hits)
    if found is not None:
        return found
    phase = _phase_at(inp, inp.hit_lines[0])
    if phase is None:
        return None
    return make_value("oom_phase", phase.name, f"the start-up phase the log was in ({phase.label})", phase.start_line,
              inp.hit_lines[0])


def _phase_from_frames(inp: Inputs, hits: set[int]) -> Value | None:
    """The innermost frame of a known start-up step in a traceback whose exception is one of the failure's lines."""
    for tb in inp.tracebacks:
        failing = [e.line for e in tb.exceptions if e.line in hits]
        if not failing:
            continue
        frames = [f for e in tb.exceptions for f in e.frames]
        loop = next((f for f in frames if f.function in SERVING_FRAMES), None)
        if loop is not None:
            return make_value("oom_phase", "serving", f"serving requests (`{loop.function}`, the engine's request loop, "
                              "in the failing traceback)", loop.line, failing[0])
        for frame in sorted(frames, key=lambda f: f.line, reverse=True):
            known = PHASE_FRAMES.get(frame.function)
            if known is not None:
                return make_value("oom_phase", known[0], f"{known[1]} (`{frame.function}` in the failing traceback)",
                          frame.line, failing[0])
    return None


def _phase_from_message(inp: Inputs, hits: set[int]) -> Value | None:
    """The step a failure line of vLLM's wrappers names (the method a worker ran, the warm-up, the model load)."""
    for line in inp.lines:
        m = re.search(PHASE_MESSAGE, line.message) if line.number in hits else None
        if m is None:
            continue
        if m["loop"]:
            return make_value("oom_phase", "serving", "serving requests (vLLM's message: the engine loop had died)",
                              line.number)
        if m["warm"]:
            return make_value("oom_phase", "sampler", f"warming up the {m['warm']} (vLLM's message)", line.number)
        known = PHASE_FRAMES.get(m["method"] or "load_model")
        if known is not None:
            return make_value("oom_phase", known[0], f"{known[1]} (vLLM's message)", line.number)
    return None


def _phase_at(inp: Inputs, line: int | None) -> Phase | None:
    if line is None:
        return None
    inside = [p for p in inp.timeline if p.start_line <= line and (p.end_line is None or line <= p.end_line)]
    return inside[-1] if inside else None


# -- shared memory, ports, addresses ----------------------------------------------------------------------------


SHM_SEGMENT = r"creating shared memory segment (?P<path>/dev/shm/\S+) \(size (?P<size>\d+)\)"
SHM_EXTEND = r"failed to extend (?P<path>/dev/shm/\S+) to (?P<size>\d+) bytes"
SHM_RAY = r"/dev/shm has only (?P<bytes>\d+) bytes available"
SHM_DF = r"^\S+\s+(?P<size>\d+(?:\.\d+)?[KMGT])\s+\S+\s+(?P<avail>\d+(?:\.\d+)?[KMGT]?)\s+\d+%\s+/dev/shm\s*$"


def shared_memory(inp: Inputs) -> dict[str, Value]:
    out: dict[str, Value] = {}
    seg = find(inp, "shared memory segment", SHM_SEGMENT) or find(inp, "failed to extend /dev/shm", SHM_EXTEND)
    if seg is not None:
        m, line = seg
        out["shm_asked"] = make_value("shm_asked", human(int(m["size"])), f"the segment NCCL tried to create ({m['path']})",
                              line.number)
    ray = find(inp, "/dev/shm has only", SHM_RAY)
    df = find(inp, "/dev/shm", SHM_DF)
    if ray is not None:
        out["shm_free"] = make_value("shm_free", human(int(ray[0]["bytes"])), "free space in /dev/shm (Ray's check)",
                             ray[1].number)
    elif df is not None:
        size = size_bytes(df[0]["size"])
        avail = size_bytes(df[0]["avail"])
        if size is not None:
            out["shm_size"] = make_value("shm_size", human(size), "the size of /dev/shm (df)", df[1].number)
        if avail is not None:
            out["shm_free"] = make_value("shm_free", human(avail), "free space in /dev/shm (df)", df[1].number)
    return out


# torch's c10d store: "port: P, useIpv6" (torch 2.2+), "failed to bind to [::]:P (errno: 98 - Address already in
# use)" (older releases, one line per address family)
PORT = (r"(?:bind on address \(\s*'[^']*',\s*(?P<a>\d+)\)|port: (?P<b>\d+), useIpv6|"
        r"tcp://[^\s:]+:(?P<c>\d+)[^\n]*[Aa]ddress already in use|[Aa]ddress already in use[^\n]*port (?P<d>\d+)|"
        r"failed to bind to (?:\[[^\]]*\]|[\w.-]+):(?P<e>\d+) \(errno: 98\b)")


def port(inp: Inputs) -> dict[str, Value]:
    for literal in ("bind on address", "useIpv6", "tcp://", "already in use"):
        found = find(inp, literal, PORT)
        if found is not None and found[1].number in inp.hit_lines:
            m, line = found
            value = next(v for v in m.groups() if v)
            return {"port": make_value("port", value, "the port that was taken", line.number)}
    return {}


ADDRESS = (r"(?:trying to connect to \((?P<a>[\w.:-]+), (?P<ap>\d+)\)|'node:(?P<b>\d+\.\d+\.\d+\.\d+)'|"
           r"This node has an IP address of (?P<c>\d+\.\d+\.\d+\.\d+)|tcp://(?P<d>\d+\.\d+\.\d+\.\d+):\d+)")


def address(inp: Inputs) -> dict[str, Value]:
    for literal in ("trying to connect to (", "'node:", "This node has an IP address of", "tcp://"):
        found = find(inp, literal, ADDRESS)
        if found is not None and found[1].number in inp.hit_lines:
            m, line = found
            ip = m["a"] or m["b"] or m["c"] or m["d"]
            return {"host_ip": make_value("host_ip", ip, "the address the processes tried to use", line.number)}
    return {}


# -- GPU compute capability -------------------------------------------------------------------------------------


CAPABILITY = (r"(?:The quantization method (?P<method>[\w-]+) is not supported for the current GPU\. )?"
              r"Min(?:imum)? capability: (?P<min>\d+)\.? ?(?:', ')?Current capability: (?P<cur>\d+)")


def capability(inp: Inputs) -> dict[str, Value]:
    found = find(inp, "Current capability", CAPABILITY)
    if found is None:
        return {}
    m, line = found
    cur, low = int(m["cur"]), int(m["min"])
    out = {
        "gpu_capability": make_value("gpu_capability", f"{cur // 10}.{cur % 10}", "this GPU's compute capability",
                             line.number),
        "min_capability": make_value("min_capability", f"{low // 10}.{low % 10}", "the compute capability the method needs",
                             line.number),
    }
    if m["method"]:
        out["quant_method"] = make_value("quant_method", m["method"], "the quantization method", line.number)
    arch = ARCHITECTURES.get(cur)
    if arch is not None:
        out["gpu_arch"] = make_value("gpu_arch", arch, f"NVIDIA's name for compute capability {cur // 10}.{cur % 10}",
                             line.number)
    return out


# NVIDIA's architecture names by compute capability (as vLLM prints it: 75 is 7.5)
ARCHITECTURES = {
    60: "Pascal", 61: "Pascal", 70: "Volta", 72: "Volta", 75: "Turing", 80: "Ampere", 86: "Ampere", 87: "Ampere",
    89: "Ada Lovelace", 90: "Hopper", 100: "Blackwell", 103: "Blackwell", 120: "Blackwell", 121: "Blackwell",
}


DERIVERS: tuple[Deriver, ...] = (
    kv_cache, utilization, free_memory, derived_length, parallel_sizes, out_of_memory, shared_memory, port, address,
    capability, prompt_length, lora_rank, mm_items, swap_space,
)
NAMES: dict[str, Deriver] = {
    name: d
    for d, names in (
        (kv_cache, ("wanted_len", "kv_needed", "kv_available", "max_len_fits", "util_for_len")),
        (utilization, ("util_now",)),
        (free_memory, ("free_gib", "total_gib", "util_asked", "util_fits", "free_share")),
        (derived_length, ("user_len", "model_len")),
        (parallel_sizes, ("heads", "tp_asked", "tp_divisors", "tp_fits", "pp_with_tp", "pp_asked", "pp_divisors",
                          "pp_fits")),
        (out_of_memory, ("oom_gpu", "oom_asked", "oom_free", "oom_total", "oom_short", "oom_fragmented",
                          "oom_phase")),
        (shared_memory, ("shm_asked", "shm_free", "shm_size")),
        (port, ("port",)),
        (address, ("host_ip",)),
        (capability, ("gpu_capability", "min_capability", "quant_method", "gpu_arch")),
        (prompt_length, ("prompt_len", "len_limit", "prompt_over", "completion_len", "len_needed", "max_tokens_fits")),
        (lora_rank, ("lora_rank", "lora_rank_limit", "lora_rank_fits")),
        (mm_items, ("mm_modality", "mm_limit", "mm_passed")),
        (swap_space, ("swap_total", "cpu_total", "swap_fits")),
    )
    for name in names
}
"""Every value a rule may name as `{values.NAME}`, and the deriver that works it out."""
