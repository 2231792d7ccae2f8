"""Live probes: real GLOO and torch.compile runs on CPU, a deliberate hang, cleanup, skips, and --probe verdicts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from logclassify.models import Diagnosis, Report, Severity
from logclassify.probes import ProbeResult, ProbeStatus, apply_probes, run_probe, run_probes
from logclassify.probes.cli import probe_command
from logclassify.probes.launch import LaunchOutcome, RankRun, free_port, kill_groups, live_group_members
from logclassify.probes.plan import Machine, plan_probe
from logclassify.probes.runner import summarise

ROOT = Path(__file__).resolve().parents[1]


def _py(code: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, cwd=ROOT, timeout=timeout)


def _alive(pid: int) -> bool:
    """Alive and not a zombie; a zombie is dead, only not yet reaped by its (new) parent."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


# -- without torch -------------------------------------------------------------------------------------------------


def test_importing_logclassify_does_not_import_torch() -> None:
    code = (
        "import sys, logclassify, logclassify.probes, logclassify.probes.cli, logclassify.doctor\n"
        "from logclassify.probes import apply_probes, run_probe\n"
        "print('torch' in sys.modules)"
    )
    done = _py(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_probe_without_torch_says_how_to_install_and_exits_2() -> None:
    # A None entry in sys.modules makes torch unimportable, exactly as if it were not installed.
    code = "import sys; sys.modules['torch'] = None\nfrom logclassify.probes.cli import probe_command\nprobe_command(['gloo'])"
    done = _py(code)
    assert done.returncode == 2
    assert "pip install 'logclassify[probes]'" in done.stderr


def test_unknown_probe_and_misused_print_torchrun_are_usage_errors() -> None:
    runner = CliRunner()
    assert runner.invoke(probe_command, ["bogus"]).exit_code == 2
    assert runner.invoke(probe_command, ["compile", "--print-torchrun", "--master-addr", "10.0.0.1"]).exit_code == 2
    assert runner.invoke(probe_command, ["nccl", "--print-torchrun"]).exit_code == 2  # no --master-addr


def test_print_torchrun_gives_one_line_per_node() -> None:
    args = ["nccl", "--print-torchrun", "--nnodes", "2", "--master-addr", "10.0.0.1", "--master-port", "29511"]
    out = CliRunner().invoke(probe_command, args)
    assert out.exit_code == 0, out.output
    commands = [line for line in out.output.splitlines() if line.startswith("torchrun")]
    assert len(commands) == 2
    for rank, line in enumerate(commands):
        assert f"--node-rank={rank}" in line
        assert "--nnodes=2" in line and "--master-addr=10.0.0.1" in line and "--master-port=29511" in line
        assert line.endswith("-m logclassify.probes.worker nccl --timeout 120")
    only = CliRunner().invoke(probe_command, [*args, "--node-rank", "1"])
    assert [line for line in only.output.splitlines() if line.startswith("torchrun")] == commands[1:]


@pytest.mark.parametrize(
    ("name", "gpus", "nproc", "want_nproc", "skip"),
    [
        ("gloo", 0, None, 2, None),
        ("gloo", 4, None, 4, None),
        ("nccl", 0, None, 1, "no CUDA device"),
        ("nccl", 1, None, 1, "needs 2 GPUs; 1 visible"),
        ("nccl", 2, 3, 1, "3 ranks need 3 GPUs"),
        ("nccl", 8, None, 8, None),
        ("cuda", 0, None, 1, "no CUDA device"),
        ("p2p", 1, None, 1, "needs 2 GPUs"),
        ("compile", 0, None, 1, None),
    ],
)
def test_plan_skips_what_cannot_run_here(name: str, gpus: int, nproc: int | None, want_nproc: int, skip: str | None) -> None:
    plan = plan_probe(name, Machine(gpus), nproc)
    assert plan.nproc == want_nproc
    assert (plan.skip is None) if skip is None else (skip in (plan.skip or ""))


def _rank(rank: int, exit_code: int | None, result: dict[str, object] | None, stage: str) -> RankRun:
    return RankRun(rank=rank, pid=0, exit_code=exit_code, stage=stage, result=result, log_tail="boom")


def test_a_crashed_rank_is_failed_not_hung_even_if_its_peer_hangs() -> None:
    outcome = LaunchOutcome(
        ranks=[_rank(0, None, None, "all_reduce"), _rank(1, -11, None, "all_reduce")], timed_out=True, duration_s=5
    )
    result = summarise("nccl", outcome, 5, {})
    assert result.status is ProbeStatus.failed
    assert result.details["stuck_ranks"] == {"0": "all_reduce"}
    assert "rank 1" in (result.reason or "")


def test_kill_groups_takes_grandchildren_too(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild"
    proc = subprocess.Popen(["sh", "-c", f"sleep 300 & echo $! > {pidfile}; wait"], start_new_session=True)
    deadline = time.monotonic() + 10
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grandchild = int(pidfile.read_text())
    assert _alive(grandchild)
    kill_groups([proc])
    assert proc.returncode is not None
    assert not _alive(grandchild)
    assert live_group_members([proc.pid]) == []


def _report(*probes: str | None) -> Report:
    def diag(i: int, probe: str | None) -> Diagnosis:
        return Diagnosis(id=f"d{i}", title="t", severity=Severity.error, confidence=0.9, cause="c", probe=probe)

    top = [diag(i, p) for i, p in enumerate(probes)]
    top[0].consequences.append(diag(99, "nccl"))
    return Report(source="test", diagnoses=top)


def test_apply_probes_maps_status_to_verdict_and_runs_each_probe_once() -> None:
    calls: list[list[str]] = []

    def runner(names: list[str], timeout: float) -> list[ProbeResult]:
        calls.append(names)
        status = {"nccl": ProbeStatus.hung, "gloo": ProbeStatus.passed, "p2p": ProbeStatus.skipped}
        return [ProbeResult(probe=n, status=status[n], stage="all_reduce", details={"x": 1}) for n in names]

    report = _report("nccl", "gloo", None, "p2p", "nccl", "no-such-probe")
    probed = apply_probes(report, 30, runner=runner)
    assert calls == [["nccl", "gloo", "p2p"]]
    verdicts = [d.probe_result["verdict"] if d.probe_result else None for d in probed.diagnoses]
    assert verdicts == ["confirmed", "refuted", None, "unchecked", "confirmed", "unchecked"]
    assert probed.diagnoses[0].consequences[0].probe_result == probed.diagnoses[0].probe_result
    first = probed.diagnoses[0].probe_result
    assert first is not None and first["probe"] == "nccl" and first["status"] == "hung"
    assert first["details"]["x"] == 1 and first["details"]["stage"] == "all_reduce"
    assert report.diagnoses[0].probe_result is None  # the input report is left as it was
    json.dumps(probed.model_dump(mode="json"))


def test_apply_probes_without_probed_diagnoses_runs_nothing() -> None:
    def runner(names: list[str], timeout: float) -> list[ProbeResult]:
        raise AssertionError("no probe should run")

    report = Report(source="x", diagnoses=[])
    assert apply_probes(report, 5, runner=runner) == report


# -- with torch (CPU build in CI) --------------------------------------------------------------------------------------


@pytest.fixture
def torch_cpu() -> object:
    return pytest.importorskip("torch")


def test_gloo_all_reduce_passes_with_two_processes(torch_cpu: object) -> None:
    result = run_probe("gloo", timeout=120)
    assert result.status is ProbeStatus.passed, result.reason
    assert len(result.ranks) == 2 and all(r.status is ProbeStatus.passed for r in result.ranks)
    assert result.details["min"] == result.details["max"] == result.details["expected"] == 3.0
    assert result.versions["torch"]
    assert ProbeResult.model_validate_json(result.model_dump_json()) == result


def test_hung_collective_is_reported_and_every_child_is_gone(
    torch_cpu: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the launcher keeps its stage files
    start = time.monotonic()
    result = run_probe("gloo", nproc=2, world_size=3, timeout=8)  # rank 2 never starts: rendezvous must hang
    elapsed = time.monotonic() - start
    assert result.status is ProbeStatus.hung
    assert result.stage == "init_process_group"
    assert "no progress after 8s" in (result.reason or "")
    assert 8 <= result.duration_s < 20 and elapsed < 60  # the inspect child runs first; it is not part of duration
    pids = [r.pid for r in result.ranks if r.pid]
    assert len(pids) == 2
    assert not any(_alive(pid) for pid in pids)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # reaped, not only killed
    assert live_group_members(pids) == []
    assert list(tmp_path.iterdir()) == []  # the stage files are removed too


def test_compile_really_compiles_on_cpu(torch_cpu: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this test pins the CPU path")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))  # a cold cache: a real compile
    result = run_probe("compile", timeout=300)
    assert result.status is ProbeStatus.passed, result.reason
    assert result.details["device"] == "cpu"
    assert result.details["max_abs_error"] < 0.05  # x @ w reaches ~20: the probe checks rtol=atol=1e-3
    assert any((tmp_path / "inductor").rglob("*.py"))


def test_gpu_probes_are_skipped_with_a_reason_without_gpu(torch_cpu: object) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    for result in run_probes(["cuda", "nccl", "p2p"], timeout=60):
        assert result.status is ProbeStatus.skipped
        assert "no CUDA device" in (result.reason or "")


def test_probe_cli_json_output(torch_cpu: object) -> None:
    out = CliRunner().invoke(probe_command, ["gloo", "--format", "json", "--timeout", "120"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["probe"] == "gloo" and data["status"] == "passed"


def test_worker_runs_under_torchrun(torch_cpu: object) -> None:
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--node-rank=0", "--nproc-per-node=2",
        "--master-addr=127.0.0.1", f"--master-port={free_port()}", "-m", "logclassify.probes.worker", "gloo",
        "--timeout", "60",
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert sorted(r["rank"] for r in results) == [0, 1]
    assert all(r["status"] == "passed" for r in results)


def test_worker_alone_reports_hung_by_its_own_watchdog(torch_cpu: object) -> None:
    """Under torchrun nobody supervises a rank: a rank waiting for a missing peer must exit, not block."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), RANK="0", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1")
    env["MASTER_PORT"] = str(free_port())
    env.pop("LOGCLASSIFY_PROBE_DIR", None)
    cmd = [sys.executable, "-m", "logclassify.probes.worker", "gloo", "--timeout", "5"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 124
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "hung" and result["stage"] == "init_process_group"


def _worker_children(parent: int, task: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and cmdline[-2:] == [b"logclassify.probes.worker", task.encode()]:
            found.append(int(entry.name))
    return found


def _ranks_of(launcher: subprocess.Popen[bytes]) -> list[int]:
    deadline = time.monotonic() + 60
    while len(ranks := _worker_children(launcher.pid, "gloo")) < 2:
        assert time.monotonic() < deadline and launcher.poll() is None
        time.sleep(0.1)
    return ranks


def _gone_soon(pids: list[int]) -> bool:
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(_alive(pid) for pid in pids)


@pytest.mark.parametrize("how", ["SIGKILL to the launcher", "SIGTERM to the CLI"])
def test_ranks_do_not_outlive_a_killed_launcher(torch_cpu: object, how: str, tmp_path: Path) -> None:
    if how.startswith("SIGKILL"):
        code = "from logclassify.probes import run_probe\nrun_probe('gloo', nproc=2, world_size=3, timeout=120)"
        sig = signal.SIGKILL
    else:
        code = (
            "from logclassify.probes.cli import probe_command\n"
            "import logclassify.probes.runner as r, logclassify.probes.cli as c\n"
            "c.run_probes = lambda names, nproc, timeout: [r.run_probe('gloo', nproc=2, world_size=3, timeout=120)]\n"
            "probe_command(['gloo'])"
        )
        sig = signal.SIGTERM
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    launcher = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    try:
        ranks = _ranks_of(launcher)
        launcher.send_signal(sig)
        launcher.wait(timeout=30)
        assert _gone_soon(ranks)
        if sig == signal.SIGTERM:  # an orderly exit also removes the stage files; after SIGKILL nothing can
            assert list(tmp_path.glob("logclassify-probe-*")) == []
    finally:
        launcher.kill()
        launcher.wait()


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ("raise ImportError('libcudart.so.12: cannot open shared object file')", "failed", "libcudart"),
        ("import time\ntime.sleep(300)", "hung", "no progress after 3s"),
    ],
)
def test_a_broken_or_hanging_torch_is_reported_from_the_inspect_step(tmp_path: Path, body: str, status: str, reason: str) -> None:
    """A torch that fails or hangs at import (a broken driver does both) is the finding, never a crash or hang here."""
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text(body + "\n")
    code = "from logclassify.probes import run_probe\nprint(run_probe('gloo', timeout=3).model_dump_json())"
    done = _py(code, env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["probe"] == "gloo" and result["status"] == status
    assert result["stage"] == "inspect: import torch"
    assert reason in result["reason"]


def test_apply_probes_with_real_probes_refutes_or_leaves_unchecked(torch_cpu: object) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("the nccl verdict below assumes no GPU")
    report = _report("gloo", "nccl")
    probed = apply_probes(report, 120)
    gloo, nccl = (d.probe_result or {} for d in probed.diagnoses)
    assert gloo["verdict"] == "refuted" and gloo["status"] == "passed"
    assert nccl["verdict"] == "unchecked" and "no CUDA device" in nccl["details"]["reason"]
    assert probed.diagnoses[0].consequences[0].probe_result == nccl  # the folded nccl diagnosis shares the one run
