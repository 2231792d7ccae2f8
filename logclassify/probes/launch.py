"""Start a probe's ranks as child processes, watch their stages, and kill every one of them at the deadline.

Each rank gets its own session (process group), so killing the group also takes its grandchildren (compile workers,
NCCL helpers). logclassify itself never waits on a collective: only on the clock.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logclassify.probes import protocol

_POLL_S = 0.05
_PEER_GRACE_S = 5.0  # after one rank fails, how long the others get to finish before they are killed
_REAP_S = 5.0


@dataclass
class RankRun:
    """One rank as the launcher saw it."""

    rank: int
    pid: int
    exit_code: int | None
    stage: str | None
    result: dict[str, Any] | None
    log_tail: str


@dataclass
class LaunchOutcome:
    """All ranks of one launch, and whether the deadline hit before they finished."""

    ranks: list[RankRun]
    timed_out: bool
    duration_s: float
    pgids: list[int] = field(default_factory=list)


def free_port() -> int:
    """A port for the rendezvous store; released before use, so a race is possible but harmless on one host."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _child_env(rank: int, nproc: int, world_size: int, port: int, state_dir: Path, timeout: float) -> dict[str, str]:
    """What torchrun would set, for one host; plus where to report, and a path that finds this copy of logclassify."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    env.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_WORLD_SIZE=str(nproc),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    env[protocol.STATE_DIR_ENV] = str(state_dir)
    env[protocol.PG_TIMEOUT_ENV] = str(2 * timeout + 30)
    env[protocol.LAUNCHER_PID_ENV] = str(os.getpid())
    return env


def launch(task: str, nproc: int, timeout: float, world_size: int | None = None) -> LaunchOutcome:
    """Run `task` in `nproc` ranks of a job of `world_size` (default nproc); a smaller nproc makes a deliberate hang."""
    state_dir = Path(tempfile.mkdtemp(prefix="logclassify-probe-"))
    try:
        return _launch_in(state_dir, task, nproc, timeout, world_size or nproc)
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def _launch_in(state_dir: Path, task: str, nproc: int, timeout: float, world_size: int) -> LaunchOutcome:
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    start = time.monotonic()
    timed_out = False
    exit_codes: list[int | None] = []
    try:
        for rank in range(nproc):
            env = _child_env(rank, nproc, world_size, port, state_dir, timeout)
            with protocol.log_path(state_dir, rank).open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "logclassify.probes.worker", task],
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                        start_new_session=True,
                    )
                )
        timed_out = _wait(procs, start + timeout)
    finally:
        exit_codes = [p.poll() for p in procs]  # before the kill: None marks a rank that never finished
        kill_groups(procs)
    duration = time.monotonic() - start
    ranks = [_collect(state_dir, rank, p.pid, code) for rank, (p, code) in enumerate(zip(procs, exit_codes, strict=True))]
    return LaunchOutcome(ranks, timed_out, duration, [p.pid for p in procs])


def _wait(procs: list[subprocess.Popen[bytes]], deadline: float) -> bool:
    """Wait for all ranks; True if the deadline passed first. A rank that fails shortens the wait for its peers."""
    while time.monotonic() < deadline:
        codes = [p.poll() for p in procs]
        if all(code is not None for code in codes):
            return False
        if any(code not in (None, 0) for code in codes):
            deadline = min(deadline, time.monotonic() + _PEER_GRACE_S)
        time.sleep(_POLL_S)
    return not all(p.poll() is not None for p in procs)


def kill_groups(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL every rank's process group, reap the ranks, and wait until no member of those groups is alive."""
    pgids = [p.pid for p in procs]
    for pgid in pgids:
        _killpg(pgid)
    for proc in procs:
        proc.wait()
    deadline = time.monotonic() + _REAP_S
    while live_group_members(pgids) and time.monotonic() < deadline:
        for pgid in pgids:
            _killpg(pgid)
        time.sleep(_POLL_S)


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def live_group_members(pgids: list[int]) -> list[int]:
    """Pids (not zombies) whose process group is one of `pgids`, read from /proc; empty where /proc is absent."""
    wanted = set(pgids)
    found: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # fields after the parenthesised command: state ppid pgrp ...
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) in wanted:
            found.append(int(entry.name))
    return found


def _collect(state_dir: Path, rank: int, pid: int, exit_code: int | None) -> RankRun:
    result = protocol.read_result(state_dir, rank)
    stage = protocol.last_stage(state_dir, rank)
    try:
        tail = protocol.log_path(state_dir, rank).read_bytes()[-4000:].decode("utf-8", "replace")
    except OSError:
        tail = ""
    return RankRun(rank, pid, exit_code, stage, result, tail)
