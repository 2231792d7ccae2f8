"""Child-process entry point of a probe: `python -m logclassify.probes.worker NAME`.

Rank and rendezvous come from the variables torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), so
the same worker runs under logclassify's launcher (which sets them itself) and under torchrun across nodes. Under the
launcher it reports through files in LOGCLASSIFY_PROBE_DIR; under torchrun it prints a JSON line per rank.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from logclassify.probes import protocol
from logclassify.probes.tasks import TASK_NAMES, CheckFailed, TaskContext, TaskSkipped, run_task

EXIT_FAILED = 1
EXIT_HUNG = 124


class _Reporter:
    """Sends stage progress and the final result to the launcher's folder, or to stdout/stderr under torchrun."""

    def __init__(self, rank: int, world_size: int, state_dir: Path | None) -> None:
        self.rank = rank
        self.world_size = world_size
        self.state_dir = state_dir
        self.stage: str | None = None
        self._lock = threading.Lock()
        self._done = False

    def report_stage(self, stage: str) -> None:
        self.stage = stage
        if self.state_dir is not None:
            protocol.append_stage(self.state_dir, self.rank, stage)
        else:
            print(f"[logclassify probe rank {self.rank}/{self.world_size}] stage: {stage}", file=sys.stderr, flush=True)

    def finish(self, result: dict[str, Any]) -> bool:
        """Report once: the watchdog and the task may race to finish."""
        with self._lock:
            if self._done:
                return False
            self._done = True
        result = {"rank": self.rank, "stage": self.stage} | result
        if self.state_dir is not None:
            protocol.write_result(self.state_dir, self.rank, result)
        else:
            # One write per result: ranks share stdout under torchrun, and print() may split text and newline.
            sys.stdout.flush()
            os.write(sys.stdout.fileno(), (json.dumps(result, default=str) + "\n").encode())
        return True


def _die_with_launcher() -> None:
    """Linux: if the launcher is killed outright (SIGKILL), its ranks must not live on in their own sessions."""
    launcher = os.environ.get(protocol.LAUNCHER_PID_ENV)
    if not launcher or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(launcher):  # the launcher died before prctl took effect
        os._exit(EXIT_FAILED)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def _start_watchdog(reporter: _Reporter, timeout: float) -> None:
    """Under torchrun nobody supervises the rank: report `hung` and exit rather than block forever."""

    def fire() -> None:
        if reporter.finish({"status": "hung", "error": f"no progress after {timeout:g}s"}):
            os._exit(EXIT_HUNG)

    timer = threading.Timer(timeout, fire)
    timer.daemon = True
    timer.start()


def run(task: str, timeout: float | None) -> int:
    rank = _env_int("RANK", 0)
    world_size = _env_int("WORLD_SIZE", 1)
    state = os.environ.get(protocol.STATE_DIR_ENV)
    if state:
        _die_with_launcher()
    reporter = _Reporter(rank, world_size, Path(state) if state else None)
    if timeout is not None and reporter.state_dir is None:
        _start_watchdog(reporter, timeout)
    pg_timeout = float(os.environ.get(protocol.PG_TIMEOUT_ENV) or (2 * (timeout or 300) + 30))
    ctx = TaskContext(rank, world_size, _env_int("LOCAL_RANK", rank), pg_timeout, reporter.report_stage)
    result: dict[str, Any]
    try:
        details = run_task(task, ctx)
        result = {"status": "passed", "details": details}
    except TaskSkipped as exc:
        result = {"status": "skipped", "error": str(exc)}
    except CheckFailed as exc:
        result = {"status": "failed", "error": str(exc), "details": exc.details}
    except Exception as exc:  # any error of the stack under test is the finding, not a crash of the probe
        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    result["versions"] = _versions_if_loaded()
    reporter.finish(result)
    return EXIT_FAILED if result["status"] == "failed" else 0


def _versions_if_loaded() -> dict[str, str]:
    if "torch" not in sys.modules:
        return {}
    try:
        from logclassify.probes.tasks.versions import stack_versions

        return stack_versions()
    except Exception:  # versions are context, never a reason to lose the result
        return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m logclassify.probes.worker", description=__doc__)
    parser.add_argument("task", choices=TASK_NAMES)
    parser.add_argument("--timeout", type=float, default=None, help="seconds before this rank reports `hung`")
    args = parser.parse_args(argv)
    return run(args.task, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
