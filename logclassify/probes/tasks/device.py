"""Single-process GPU tasks: what this machine has (inspect, cuda) and whether GPUs reach each other (p2p)."""

from __future__ import annotations

import importlib
from typing import Any

import torch

from logclassify.probes.tasks import CheckFailed, TaskContext, TaskSkipped
from logclassify.probes.tasks.versions import stack_versions

_NO_GPU = "no CUDA device is visible to torch (torch.cuda.is_available() is False)"


def inspect(ctx: TaskContext) -> dict[str, Any]:
    """Cheap facts the launcher needs to plan a probe (how many GPUs), without creating CUDA contexts."""
    ctx.stage("device_count")
    available = bool(torch.cuda.is_available())
    return {
        "cuda_available": available,
        "device_count": int(torch.cuda.device_count()) if available else 0,
        "versions": stack_versions(),
    }


def cuda(ctx: TaskContext) -> dict[str, Any]:
    """Every visible device: name, capability, memory, bf16, and a small matmul to prove kernels launch."""
    ctx.stage("cuda_init")
    if not torch.cuda.is_available():
        raise TaskSkipped(_NO_GPU)
    devices = [_describe(ctx, index) for index in range(torch.cuda.device_count())]
    return {
        "device_count": len(devices),
        "devices": devices,
        "driver_version": _driver_version(),
        "runtime_version": torch.version.cuda or getattr(torch.version, "hip", None),
    }


def _describe(ctx: TaskContext, index: int) -> dict[str, Any]:
    ctx.stage(f"device {index}")
    props = torch.cuda.get_device_properties(index)
    with torch.cuda.device(index):
        free, total = torch.cuda.mem_get_info(index)
        bf16 = bool(torch.cuda.is_bf16_supported())
        ctx.stage(f"device {index} matmul")
        x = torch.randn(256, 256, device=f"cuda:{index}")
        y = (x @ x).sum().item()
        torch.cuda.synchronize(index)
    return {
        "index": index,
        "name": props.name,
        "compute_capability": f"{props.major}.{props.minor}",
        "total_memory_gib": round(total / 2**30, 2),
        "free_memory_gib": round(free / 2**30, 2),
        "bf16": bf16,
        "matmul_ok": y == y,  # NaN means the kernel produced garbage
    }


def _driver_version() -> str | None:
    """The driver's own version string via NVML when present; else the CUDA driver API version torch reports."""
    try:
        nvml: Any = importlib.import_module("pynvml")
        nvml.nvmlInit()
        version = nvml.nvmlSystemGetDriverVersion()
        return version.decode() if isinstance(version, bytes) else str(version)
    except Exception:  # pynvml absent or NVML unusable: fall back below
        pass
    get = getattr(torch._C, "_cuda_getDriverVersion", None)
    if get is None:
        return None
    number = int(get())
    return f"CUDA {number // 1000}.{number % 1000 // 10}"


def p2p(ctx: TaskContext) -> dict[str, Any]:
    """Peer-access matrix plus a checked copy per pair: P2P that claims support but corrupts data is a known trap."""
    ctx.stage("cuda_init")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count < 2:
        raise TaskSkipped(_NO_GPU if count == 0 else "peer access needs 2 GPUs; 1 is visible")
    ctx.stage("peer_access_matrix")
    matrix = [[i == j or bool(torch.cuda.can_device_access_peer(i, j)) for j in range(count)] for i in range(count)]
    ctx.stage("peer_copy")
    corrupted = [f"{i}->{j}" for i in range(count) for j in range(count) if i != j and not _copy_ok(i, j)]
    missing = [f"{i}->{j}" for i in range(count) for j in range(count) if not matrix[i][j]]
    details: dict[str, Any] = {"device_count": count, "matrix": matrix, "no_peer_access": missing}
    if corrupted:
        raise CheckFailed(f"GPU-to-GPU copies returned wrong data: {', '.join(corrupted)}", details | {"corrupted": corrupted})
    if missing:
        raise CheckFailed(f"no peer access between {', '.join(missing)}", details)
    return details


def _copy_ok(src: int, dst: int) -> bool:
    data = torch.arange(1 << 20, dtype=torch.float32, device=f"cuda:{src}")
    moved = data.to(f"cuda:{dst}")
    torch.cuda.synchronize(dst)
    return bool(torch.equal(moved.cpu(), data.cpu()))
