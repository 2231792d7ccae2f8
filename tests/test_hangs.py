"""No hang when a worker dies or hangs: the killed worker of a large file's parallel scan, and a `-j` worker that
stops making progress (a named pipe nobody writes to). Each fails only its own input, named on stderr (exit 2).

The commands run in subprocesses with a timeout: before these fixes each of them waited forever, so a regression
shows as a failure, not a hung suite.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from logclassify.pool import heartbeat, run_ordered
from tests.conftest import DEVICE_INFER_LOG as LOG
from tests.conftest import run_cli

CAUSE = "device-infer-failed"
LIMIT = 60  # seconds: far above what each command needs, far below "forever"
ROOT = Path(__file__).resolve().parent.parent

_KILLED_SCAN = textwrap.dedent("""\
    import os, signal, sys
    from logclassify.select import parallel, window

    window.PARALLEL_MIN_BYTES = 4096  # small files get the parallel scan too
    real = parallel._scan_range

    def dying(job):
        if job[1] > 0 and job[0].endswith("big.log"):  # the second range's worker: the OOM killer, as it sees it
            os.kill(os.getpid(), signal.SIGKILL)
        return real(job)

    parallel._scan_range = dying
    from logclassify.cli import main
    main(sys.argv[1:], prog_name="logclassify")
""")


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="the parallel scan needs fork")
def test_a_killed_scan_worker_fails_its_file_and_the_others_are_reported(tmp_path: Path) -> None:
    pytest.importorskip("hyperscan")  # the parallel scan needs it
    big = tmp_path / "big.log"
    big.write_text(LOG + "INFO 06-10 21:32:18 [engine.py:9] step\n" * 5000)
    small = tmp_path / "small.log"
    small.write_text(LOG)
    driver = tmp_path / "driver.py"
    driver.write_text(_KILLED_SCAN)
    r = subprocess.run([sys.executable, str(driver), "--format", "jsonl", str(big), str(small)],
                       capture_output=True, timeout=LIMIT, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2, r.stderr
    err = r.stderr.decode()
    assert "big.log" in err and "could not be scanned" in err and "SIGKILL" in err, err
    reports = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [Path(x["source"]).name for x in reports] == ["big.log", "small.log"]
    assert reports[0]["error"] and "SIGKILL" in reports[0]["error"]
    assert [d["id"] for d in reports[1]["diagnoses"]] == [CAUSE] and reports[1]["error"] is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_a_hung_worker_is_stopped_and_the_others_are_reported(tmp_path: Path) -> None:
    names = []
    for name in ("a.log", "stuck.log", "c.log", "d.log"):
        path = tmp_path / name
        if name == "stuck.log":
            os.mkfifo(path)  # named by hand and nobody writes to it: opening it waits forever
        else:
            path.write_text(LOG)
        names.append(str(path))
    start = time.monotonic()
    r = run_cli("-j", "2", "--stall-timeout", "2", "--format", "jsonl", *names, timeout=LIMIT)
    assert r.returncode == 2, r.stderr
    assert time.monotonic() - start < LIMIT / 2
    err = r.stderr.decode()
    assert "stuck.log" in err and "no progress for 2 s" in err, err
    reports = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [x["source"] for x in reports] == names  # input order, none missing
    for report in reports:
        if report["source"].endswith("stuck.log"):
            assert "no progress" in report["error"]
        else:
            assert [d["id"] for d in report["diagnoses"]] == [CAUSE] and report["error"] is None


# -- the pool's stall detection, directly -------------------------------------------------------------------------


def _sleep_or_work(n: int) -> int:
    if n == 1:  # hangs without a heartbeat
        time.sleep(3600)
    if n == 2:  # slow, but says it is making progress
        for _ in range(30):
            time.sleep(0.1)
            heartbeat()
    return n


def _no_init() -> None:
    pass


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_the_pool_stops_only_a_worker_without_heartbeat() -> None:
    ctx = multiprocessing.get_context("fork")
    ticks: list[float] = []
    got = list(run_ordered([0, 1, 2, 3], _sleep_or_work, lambda n, why: f"{n}: {why}", jobs=2, ctx=ctx,
                           init=_no_init, stall_s=1.0, tick=lambda: ticks.append(time.monotonic())))
    assert got[0] == 0 and got[2] == 2 and got[3] == 3  # 3 s of work with a heartbeat is not a stall
    assert isinstance(got[1], str) and got[1].startswith("1: made no progress for 1 s"), got[1]
    assert ticks  # the caller's progress hook ran while it waited
    assert multiprocessing.active_children() == []  # the hung worker was killed, the others stopped
