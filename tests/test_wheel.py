"""The wheel carries the rules: build it, install it into a fresh venv, run it from another folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # builds a wheel and a venv: pytest -m "not slow" leaves it out
def test_wheel_installs_and_finds_its_rules(tmp_path: Path) -> None:
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("logclassify-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True, timeout=600)
    work = tmp_path / "elsewhere"
    work.mkdir()
    log = work / "server.log"
    log.write_text("Traceback (most recent call last):\n"
                   '  File "/x/vllm/config.py", line 1, in __init__\n'
                   "RuntimeError: Failed to infer device type\n")
    exe = env_dir / "bin" / "logclassify"
    r = subprocess.run([str(exe), "--format", "json", str(log)], cwd=work, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["diagnoses"][0]["id"].startswith("device-infer-failed")
    listing = subprocess.run([str(exe), "rules", "list", "--format", "json"], cwd=work, capture_output=True,
                             timeout=120)
    paths = [row["path"] for row in json.loads(listing.stdout)]
    assert paths and all("_rules" in p and str(ROOT) not in p for p in paths)
    shutil.rmtree(env_dir)
