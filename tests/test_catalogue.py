"""rules/CATALOGUE.md is generated from the catalogue pages and the pack; it must say what the pack covers today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_catalogue_index_is_current() -> None:
    r = subprocess.run([sys.executable, "eval/catalogue_index.py", "--check"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr + "\n(run: python eval/catalogue_index.py)"
