"""Versions of the stack under test, read inside the child where torch is already imported."""

from __future__ import annotations

import contextlib
import platform
from importlib import metadata
from typing import Any

import torch


def stack_versions() -> dict[str, str]:
    """Versions that decide whether a probe result is comparable with a log: torch, CUDA/HIP, NCCL, triton."""
    found: dict[str, str] = {"python": platform.python_version(), "torch": str(torch.__version__)}
    if torch.version.cuda:
        found["cuda_runtime"] = str(torch.version.cuda)
    hip = getattr(torch.version, "hip", None)
    if hip:
        found["hip"] = str(hip)
    nccl = _nccl_version()
    if nccl:
        found["nccl"] = nccl
    for dist in ("triton", "vllm"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[dist] = metadata.version(dist)
    return found


def _nccl_version() -> str | None:
    if not torch.cuda.is_available():
        return None
    nccl: Any = torch.cuda.nccl  # untyped in torch's stubs
    try:
        version = nccl.version()
    except Exception:  # a build without NCCL, or a broken one: not this function's verdict
        return None
    if isinstance(version, tuple):
        return ".".join(str(part) for part in version)
    return str(version)
