"""The fast subset (`pytest -m "not slow"`) leaves out exactly the tests that take real time, and nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _collected(*args: str) -> set[str]:
    r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args,
                        "tests/test_wheel.py", "tests/test_follow.py", "tests/test_cli.py"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return {line for line in r.stdout.splitlines() if "::" in line}


def test_slow_marks_the_wheel_build_and_the_live_follow_tests() -> None:
    slow = _collected("-m", "slow")
    assert any("test_wheel_installs" in t for t in slow)
    assert any(t.startswith("tests/test_follow.py::") for t in slow)  # the ones that run the live command
    assert not any(t.startswith("tests/test_cli.py::") for t in slow)
    fast = _collected("-m", "not slow")
    assert slow.isdisjoint(fast) and any(t.startswith("tests/test_follow.py::") for t in fast)
