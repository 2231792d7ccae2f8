"""Shared helpers for the test suite."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# The suite never writes to the user's cache folder: this process and every command it starts (they inherit the
# environment) cache compiled rules and databases in a folder of their own, removed at exit.
TEST_CACHE = tempfile.mkdtemp(prefix="logclassify-test-cache-")
os.environ["LOGCLASSIFY_CACHE_DIR"] = TEST_CACHE
atexit.register(shutil.rmtree, TEST_CACHE, ignore_errors=True)


def run_cli(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
            cwd: str | Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run the real `logclassify` command in a subprocess (through this interpreter's entry point)."""
    full_env = {**os.environ, "NO_COLOR": "", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "logclassify", *args],
        input=stdin,
        capture_output=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    return run_cli
