"""JSON for scripts: one object per input (`json`), or one object per line (`jsonl`)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from logclassify.models import Report


def report_dict(report: Report) -> dict[str, object]:
    data: dict[str, object] = report.model_dump(mode="json")
    return data


def render_json(reports: Sequence[Report]) -> str:
    """One input: its object. Several: an array of them."""
    payload: object = report_dict(reports[0]) if len(reports) == 1 else [report_dict(r) for r in reports]
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def render_jsonl(report: Report) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, separators=(",", ":")) + "\n"
