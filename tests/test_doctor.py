"""`logclassify doctor`: each trap is set in a child's environment and must come back with its status and fix."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from logclassify import doctor
from logclassify.doctor import CheckStatus, check_vllm_torch, effective_capabilities, nccl_ifname_matches

ROOT = Path(__file__).resolve().parents[1]
_WATCHED = (
    "VLLM_TRACE_FUNCTION",
    "CUDA_LAUNCH_BLOCKING",
    "NCCL_DEBUG",
    "VLLM_LOGGING_LEVEL",
    "NCCL_CUMEM_ENABLE",
    "NCCL_P2P_DISABLE",
    "VLLM_HOST_IP",
    "NCCL_SOCKET_IFNAME",
    "GLOO_SOCKET_IFNAME",
    "VLLM_WORKER_MULTIPROC_METHOD",
)


def run_doctor_with(**env: str) -> tuple[int, dict[str, Any]]:
    """Run `doctor --format json` in this process, with only `env` of the watched variables set."""
    from click.testing import CliRunner

    from logclassify.probes.cli import doctor_command

    done = CliRunner().invoke(doctor_command, ["--format", "json"], env={**dict.fromkeys(_WATCHED), **env})
    assert done.exit_code in (0, 1), done.output
    data = json.loads(done.stdout)
    return done.exit_code, {c["name"]: c for c in data["checks"]} | {"_versions": data["versions"]}


def test_vllm_trace_function_is_a_warning_with_its_fix() -> None:
    _, checks = run_doctor_with(VLLM_TRACE_FUNCTION="1")
    check = checks["env.VLLM_TRACE_FUNCTION"]
    assert check["status"] == "warning"
    assert "unset VLLM_TRACE_FUNCTION" in check["fix"]


def test_clean_environment_passes_the_env_checks() -> None:
    _, checks = run_doctor_with()
    for var in _WATCHED:
        assert checks[f"env.{var}"]["status"] == "passed", checks[f"env.{var}"]


@pytest.mark.parametrize(
    ("var", "value", "status"),
    [
        ("CUDA_LAUNCH_BLOCKING", "1", "warning"),
        ("CUDA_LAUNCH_BLOCKING", "0", "passed"),
        ("NCCL_DEBUG", "TRACE", "warning"),
        ("NCCL_DEBUG", "INFO", "passed"),
        ("VLLM_LOGGING_LEVEL", "DEBUG", "warning"),
        ("NCCL_P2P_DISABLE", "1", "warning"),
        ("VLLM_WORKER_MULTIPROC_METHOD", "forkserver", "failed"),
        ("VLLM_WORKER_MULTIPROC_METHOD", "spawn", "passed"),
        ("VLLM_HOST_IP", "127.0.0.1", "passed"),
        ("VLLM_HOST_IP", "203.0.113.7", "failed"),  # TEST-NET-3: never an address of this machine
        ("VLLM_HOST_IP", "node-1", "failed"),
        ("NCCL_SOCKET_IFNAME", "lo", "passed"),
        ("NCCL_SOCKET_IFNAME", "=nosuchif0", "failed"),
        ("GLOO_SOCKET_IFNAME", "lo", "passed"),
        ("GLOO_SOCKET_IFNAME", "lo,nosuchif0", "failed"),
    ],
)
def test_each_setting_gets_its_status(var: str, value: str, status: str) -> None:
    code, checks = run_doctor_with(**{var: value})
    check = checks[f"env.{var}"]
    assert check["status"] == status, check
    if status in ("warning", "failed"):
        assert check["fix"]
    if status == "failed":
        assert code == 1


def test_nccl_cumem_enabled_is_a_warning_unless_multinode_nvlink() -> None:
    _, checks = run_doctor_with(NCCL_CUMEM_ENABLE="1")
    expected = "passed" if Path("/dev/nvidia-caps-imex-channels").exists() else "warning"
    assert checks["env.NCCL_CUMEM_ENABLE"]["status"] == expected


def test_versions_come_from_metadata_without_importing_torch() -> None:
    code = (
        "import sys\nfrom logclassify.doctor import run_doctor\n"
        "r = run_doctor()\nprint(r.versions['python'], 'torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT))
    )
    python, imported = done.stdout.split()
    assert python.count(".") == 2 and imported == "False"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("eth", ["eth0", "eth1"]),
        ("=eth", []),
        ("=eth0", ["eth0"]),
        ("^docker,lo", ["eth0", "eth1", "ib0"]),
        ("^=eth0", ["docker0", "eth1", "ib0", "lo"]),
        ("ib,docker", ["docker0", "ib0"]),
    ],
)
def test_nccl_interface_spec_semantics(spec: str, expected: list[str]) -> None:
    assert nccl_ifname_matches(spec, ["docker0", "eth0", "eth1", "ib0", "lo"]) == expected


def test_ipc_lock_bit_is_read_from_capeff() -> None:
    docker_default = effective_capabilities("Name:\tx\nCapEff:\t00000000a80425fb\n")
    assert docker_default is not None and not docker_default >> 14 & 1
    with_lock = effective_capabilities("CapEff:\t00000000a80465fb\n")
    assert with_lock is not None and with_lock >> 14 & 1
    assert effective_capabilities("Name:\tx\n") is None


def test_missing_shm_fails(tmp_path: Path) -> None:
    [check] = doctor.check_shm({}, tmp_path / "absent")
    assert check.status is CheckStatus.failed and "--shm-size" in (check.fix or "")


def test_vllm_built_for_another_torch_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("packaging")
    monkeypatch.setattr(importlib.metadata, "requires", lambda name: ["torch==2.6.0", "numpy"])
    [check] = check_vllm_torch({"vllm": "0.8.5", "torch": "2.7.1"})
    assert check.status is CheckStatus.failed and "torch==2.6.0" in check.message
    [ok] = check_vllm_torch({"vllm": "0.8.5", "torch": "2.6.0+cu124"})
    assert ok.status is CheckStatus.passed


def test_doctor_and_the_debug_rule_share_one_list_of_switches() -> None:
    """rules/_vocab/debug.yaml is the one list: the rule tests exactly its `rule: true` switches, with the same
    `active` pattern, and no fix of the rule recommends a switch that doctor warns about."""
    import yaml

    from logclassify.engine.loader import builtin_rules_dir
    from logclassify.vocab import vocab

    switches = vocab()["debug"]["switches"]
    rule = yaml.safe_load((builtin_rules_dir() / "env" / "debug-env-left-on.yaml").read_text())

    def facts(cond: object) -> list[dict[str, str]]:
        if isinstance(cond, dict):
            if "fact" in cond:
                return [cond["fact"]]
            return [f for v in cond.values() for f in facts(v)]
        if isinstance(cond, list):
            return [f for v in cond for f in facts(v)]
        return []

    tested = {f["name"].removeprefix("env."): f["regex"] for f in facts(rule["match"]) if f["name"].startswith("env.")}
    assert tested == {s["name"]: f"^(?i:{s['active']})$" for s in switches if s["rule"]}
    for s in switches:  # a step may name an active switch only to say that it must go
        for step in rule["fix"]:
            for value in re.findall(rf"\b{s['name']}=(\w+)", step):
                assert not re.fullmatch(s["active"], value, re.IGNORECASE) or "unset" in step, step
    assert {c for c in _WATCHED if c in {s["name"] for s in switches}} == {s["name"] for s in switches}
