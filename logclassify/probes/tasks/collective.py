"""Multi-process collectives: a GLOO all-reduce on CPU, and an NCCL all-reduce eager then inside a CUDA graph.

These are the scripts the vLLM troubleshooting guide asks users to run to tell a broken GPU stack from a vLLM bug.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from logclassify.probes.tasks import CheckFailed, TaskContext, TaskSkipped

_ELEMENTS = 1 << 20


def gloo(ctx: TaskContext) -> dict[str, Any]:
    """CPU all-reduce over GLOO: proves rendezvous and host networking work."""
    _init(ctx, "gloo")
    try:
        ctx.stage("all_reduce")
        tensor = torch.full((_ELEMENTS,), float(ctx.rank + 1))
        dist.all_reduce(tensor)
        ctx.stage("verify")
        return {"backend": "gloo", "world_size": ctx.world_size} | _verify(tensor, _expected(ctx, 1))
    finally:
        ctx.stage("destroy_process_group")
        dist.destroy_process_group()


def nccl(ctx: TaskContext) -> dict[str, Any]:
    """NCCL all-reduce, then the same captured in a CUDA graph and replayed, as vLLM does when it serves."""
    if not torch.cuda.is_available() or torch.cuda.device_count() <= ctx.local_rank:
        raise TaskSkipped(f"rank {ctx.rank} has no GPU (local rank {ctx.local_rank})")
    device = torch.device("cuda", ctx.local_rank)
    torch.cuda.set_device(device)
    _init(ctx, "nccl")
    try:
        ctx.stage("all_reduce")
        tensor = torch.full((_ELEMENTS,), float(ctx.rank + 1), device=device)
        dist.all_reduce(tensor)
        torch.cuda.synchronize(device)
        ctx.stage("verify")
        eager = _verify(tensor, _expected(ctx, 1))
        graph = _graph_all_reduce(ctx, device)
        return {"backend": "nccl", "world_size": ctx.world_size, "eager": eager, "cuda_graph": graph}
    finally:
        ctx.stage("destroy_process_group")
        dist.destroy_process_group()


def _graph_all_reduce(ctx: TaskContext, device: torch.device) -> dict[str, Any]:
    """Warm up on a side stream (NCCL must be initialised before capture), capture once, replay with new inputs."""
    ctx.stage("cuda_graph_warmup")
    source = torch.full((_ELEMENTS,), float(ctx.rank + 1), device=device)
    stream_type: Any = torch.cuda.Stream  # untyped constructor in torch's stubs
    side = stream_type(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(3):
            warm = source.clone()
            dist.all_reduce(warm)
    torch.cuda.current_stream(device).wait_stream(side)
    torch.cuda.synchronize(device)
    ctx.stage("cuda_graph_capture")
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        output = source.clone()
        dist.all_reduce(output)
    checks: dict[str, Any] = {}
    for scale in (1, 2, 3):
        ctx.stage(f"cuda_graph_replay {scale}")
        source.fill_(float((ctx.rank + 1) * scale))
        graph.replay()
        torch.cuda.synchronize(device)
        checks[f"replay_{scale}"] = _verify(output, _expected(ctx, scale))
    return checks


def _init(ctx: TaskContext, backend: str) -> None:
    """Rendezvous through MASTER_ADDR/MASTER_PORT, with a timeout longer than the launcher's so a hang stays a hang."""
    ctx.stage("init_process_group")
    dist.init_process_group(
        backend,
        rank=ctx.rank,
        world_size=ctx.world_size,
        timeout=timedelta(seconds=ctx.pg_timeout_s),
    )
    ctx.stage("barrier")
    if backend == "nccl":
        dist.barrier(device_ids=[ctx.local_rank])
    else:
        dist.barrier()


def _expected(ctx: TaskContext, scale: int) -> float:
    return float(scale * ctx.world_size * (ctx.world_size + 1) // 2)


def _verify(tensor: torch.Tensor, expected: float) -> dict[str, Any]:
    got = tensor.float()
    low, high = float(got.min().item()), float(got.max().item())
    summary = {"expected": expected, "min": low, "max": high}
    if low != expected or high != expected:
        raise CheckFailed(f"all-reduce returned {low}..{high}, expected {expected}", summary)
    return summary
