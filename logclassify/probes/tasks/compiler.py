"""torch.compile smoke test: inductor must generate, build and run a kernel (C++ on CPU, triton on CUDA)."""

from __future__ import annotations

from typing import Any

import torch

from logclassify.probes.tasks import CheckFailed, TaskContext


def _model(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.gelu(x @ w) * x.sin() + 1.0


def compile_smoke(ctx: TaskContext) -> dict[str, Any]:
    """Compile a small fused function on the best device here and compare it with eager."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = torch.randn(64, 64, device=device)
    w = torch.randn(64, 64, device=device)
    ctx.stage(f"compile ({device})")
    compiled = torch.compile(_model, fullgraph=True)
    got = compiled(x, w)
    ctx.stage("verify")
    want = _model(x, w)
    error = float((got - want).abs().max().item())
    details = {"device": device, "backend": "inductor", "max_abs_error": error}
    if not torch.allclose(got, want, rtol=1e-3, atol=1e-3):
        raise CheckFailed(f"compiled output differs from eager by {error}", details)
    return details
