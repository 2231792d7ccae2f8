"""Click commands `probe` and `doctor`; the main `logclassify` group registers them."""

from __future__ import annotations

import json
import signal
import sys
import threading

import click

from logclassify.doctor import run_doctor
from logclassify.probes.models import ProbeResult
from logclassify.probes.plan import PROBE_NAMES
from logclassify.probes.render import doctor_text, probe_text
from logclassify.probes.runner import DEFAULT_TIMEOUT_S, INSTALL_HINT, run_probes, torch_available
from logclassify.probes.torchrun import torchrun_lines

EXIT_PROBLEM = 1
EXIT_USAGE = 2
_COLLECTIVES = ("gloo", "nccl")


@click.command("probe")
@click.argument("name", type=click.Choice([*PROBE_NAMES, "all"]))
@click.option("--nproc", type=click.IntRange(min=1), help="Processes (ranks). Default: all GPUs; 2 for gloo on CPU.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds per probe before it is reported as hung and its processes are killed.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: for a person; json: every rank's result, for scripts.")
@click.option("--print-torchrun", is_flag=True, help="Print torchrun command lines to run the probe across nodes.")
@click.option("--nnodes", type=click.IntRange(min=1), default=2, show_default=True,
              help="With --print-torchrun: how many machines take part. Example: --print-torchrun --nnodes 2 "
                   "--master-addr 10.0.0.1")
@click.option("--node-rank", type=click.IntRange(min=0), help="With --print-torchrun: only this node's line.")
@click.option("--master-addr", help="With --print-torchrun: address of node 0, reachable from every node.")
@click.option("--master-port", type=click.IntRange(1, 65535), default=29500, show_default=True,
              help="With --print-torchrun: a free TCP port on node 0 for the rendezvous.")
def probe_command(
    name: str,
    nproc: int | None,
    timeout: float,
    fmt: str,
    print_torchrun: bool,
    nnodes: int,
    node_rank: int | None,
    master_addr: str | None,
    master_port: int,
) -> None:
    """Run a live check of the GPU stack (cuda, gloo, nccl, compile, p2p, all) in child processes.

    Exit 0 when every probe passed or was skipped, 1 when one failed or hung, 2 on usage errors or without torch.
    """
    if print_torchrun:
        _print_torchrun(name, nnodes, node_rank, master_addr, master_port, nproc, timeout, fmt)
        return
    if not torch_available():
        click.echo(f"logclassify probe needs torch, which is not installed here. Install it with:\n  {INSTALL_HINT}", err=True)
        sys.exit(EXIT_USAGE)
    _exit_on_sigterm()
    names = list(PROBE_NAMES) if name == "all" else [name]
    results = run_probes(names, nproc=nproc, timeout=timeout)
    _emit(results, single=name != "all", fmt=fmt)
    sys.exit(0 if all(r.ok for r in results) else EXIT_PROBLEM)


def _exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so the launcher's cleanup runs and no rank outlives `logclassify probe`."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def _emit(results: list[ProbeResult], *, single: bool, fmt: str) -> None:
    if fmt == "json":
        data = results[0].model_dump(mode="json") if single else [r.model_dump(mode="json") for r in results]
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo("\n".join(probe_text(r) for r in results))


def _print_torchrun(
    name: str,
    nnodes: int,
    node_rank: int | None,
    master_addr: str | None,
    master_port: int,
    nproc: int | None,
    timeout: float,
    fmt: str,
) -> None:
    if name not in _COLLECTIVES:
        raise click.UsageError(f"--print-torchrun is for the collective probes ({', '.join(_COLLECTIVES)}), not {name}")
    if not master_addr:
        raise click.UsageError("--print-torchrun needs --master-addr: the address of node 0 that every node reaches")
    if node_rank is not None and node_rank >= nnodes:
        raise click.UsageError(f"--node-rank {node_rank} is not below --nnodes {nnodes}")
    lines = torchrun_lines(
        name,
        nnodes=nnodes,
        master_addr=master_addr,
        master_port=master_port,
        nproc_per_node=nproc,
        node_rank=node_rank,
        timeout=timeout,
    )
    if fmt == "json":
        click.echo(json.dumps([line.splitlines()[-1] for line in lines], indent=2))
        return
    click.echo("# Run each line on its node (same logclassify and torch everywhere); each rank prints a JSON result.")
    click.echo("\n".join(lines))


@click.command("doctor")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one line per check with its fix; json: for scripts.")
def doctor_command(fmt: str) -> None:
    """Check this environment for known vLLM traps (no torch needed). Exit 1 when a check failed."""
    report = run_doctor()
    if fmt == "json":
        click.echo(report.model_dump_json(indent=2))
    else:
        click.echo(doctor_text(report))
    sys.exit(EXIT_PROBLEM if report.failed else 0)
