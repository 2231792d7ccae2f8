"""Shared helpers for the test suite."""

from __future__ import annotations

import atexit
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT / "tests" / "data" / "corpus"  # a copy of ../shared/corpus (real logs, sources in cases.jsonl)


def must_exist(path: Path) -> Path:
    """A data file a test names: missing (renamed, not checked out) is a failure that says which, never a skip."""
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: restore it or update the test that names it", pytrace=False)
    return path


def corpus_log(name: str) -> str:
    return must_exist(CORPUS / name).read_text(encoding="utf-8")


# The suite never writes to the user's cache folder: this process and every command it starts (they inherit the
# environment) cache compiled rules and databases in a folder of their own, removed at exit.
# A short real-shaped failure that the built-in device-infer-failed rule names.
DEVICE_INFER_LOG = (
    "INFO 06-10 21:32:17 [api_server.py:1] vLLM API server version 0.8.3\n"
    "Traceback (most recent call last):\n"
    '  File "/x/vllm/config.py", line 1550, in __init__\n'
    '    raise RuntimeError("Failed to infer device type")\n'
    "RuntimeError: Failed to infer device type\n"
)

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark as `slow` the follow tests that run the live command against the clock (they use test_follow's
    `Running`), wherever they are and whatever their names; other slow tests carry the marker themselves."""
    for item in items:
        function = getattr(item, "function", None)
        if item.path.name == "test_follow.py" and function is not None and "Running(" in inspect.getsource(function):
            item.add_marker(pytest.mark.slow)
