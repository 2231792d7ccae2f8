"""Real journalctl output piped into logclassify: short, short-iso, json and cat.

The fixture is a journal in export format; systemd-journal-remote (Debian package systemd-journal-remote) turns it
into a journal file that journalctl reads. Skipped, with the reason, where either tool is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

EXPORT = Path(__file__).parent / "data" / "vllm-device.export"
REMOTE = next((p for p in ("/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote")
               if Path(p).exists()), None)


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("journalctl") is None:
        pytest.skip("journalctl is not installed")
    if REMOTE is None:
        pytest.skip("systemd-journal-remote is not installed (Debian package systemd-journal-remote)")
    out = tmp_path_factory.mktemp("journal") / "vllm.journal"
    subprocess.run([REMOTE, f"--output={out}", str(EXPORT)], check=True, capture_output=True, timeout=60)
    return out


@pytest.mark.parametrize("mode", ["short", "short-iso", "json", "cat"])
def test_journalctl_output_is_classified(journal: Path, mode: str) -> None:
    shown = subprocess.run(["journalctl", "--file", str(journal), "-o", mode], capture_output=True, check=True,
                           timeout=60).stdout
    assert b"Failed to infer device type" in shown
    r = run_cli("--format", "json", stdin=shown)
    report = json.loads(r.stdout)
    (d,) = [d for d in report["diagnoses"] if d["severity"] != "info"]
    assert d["id"].startswith("device-infer-failed")
    assert 8 in [e["line"] for e in d["evidence"]]  # the exception is the 8th journal entry
    assert report["facts"]["vllm_version"] == "0.8.3"
