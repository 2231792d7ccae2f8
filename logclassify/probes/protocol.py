"""How the launcher and its child processes talk: a shared folder with one stage log and one result per rank.

Files, not pipes: a child stuck inside a collective cannot answer, but the last stage it wrote is still on disk.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_DIR_ENV = "LOGCLASSIFY_PROBE_DIR"
PG_TIMEOUT_ENV = "LOGCLASSIFY_PROBE_PG_TIMEOUT"
LAUNCHER_PID_ENV = "LOGCLASSIFY_PROBE_LAUNCHER"


def stage_path(state_dir: Path, rank: int) -> Path:
    return state_dir / f"rank{rank}.stage"


def result_path(state_dir: Path, rank: int) -> Path:
    return state_dir / f"rank{rank}.json"


def log_path(state_dir: Path, rank: int) -> Path:
    return state_dir / f"rank{rank}.log"


def append_stage(state_dir: Path, rank: int, stage: str) -> None:
    with stage_path(state_dir, rank).open("a", encoding="utf-8") as f:
        f.write(stage + "\n")


def last_stage(state_dir: Path, rank: int) -> str | None:
    try:
        lines = stage_path(state_dir, rank).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return lines[-1] if lines else None


def write_result(state_dir: Path, rank: int, result: dict[str, Any]) -> None:
    """Write atomically so the launcher never reads half a result."""
    final = result_path(state_dir, rank)
    tmp = final.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, default=str), encoding="utf-8")
    os.replace(tmp, final)


def read_result(state_dir: Path, rank: int) -> dict[str, Any] | None:
    try:
        data = json.loads(result_path(state_dir, rank).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
