"""Command lines that run a collective probe across nodes with torchrun, whose variables the worker already reads."""

from __future__ import annotations

import shlex


def torchrun_lines(
    probe: str,
    *,
    nnodes: int,
    master_addr: str,
    master_port: int,
    nproc_per_node: int | None = None,
    node_rank: int | None = None,
    timeout: float | None = None,
) -> list[str]:
    """One line per node (or only `node_rank`'s); `--nproc-per-node gpu` lets torchrun count each node's GPUs."""
    ranks = range(nnodes) if node_rank is None else [node_rank]
    lines = []
    for rank in ranks:
        argv = [
            "torchrun",
            f"--nnodes={nnodes}",
            f"--node-rank={rank}",
            f"--nproc-per-node={nproc_per_node or 'gpu'}",
            f"--master-addr={master_addr}",
            f"--master-port={master_port}",
            "-m",
            "logclassify.probes.worker",
            probe,
        ]
        if timeout is not None:
            argv += ["--timeout", f"{timeout:g}"]
        lines.append(f"# node {rank}{' (master)' if rank == 0 else ''}\n{shlex.join(argv)}")
    return lines
