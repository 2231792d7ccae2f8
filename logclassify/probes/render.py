"""Plain-text views of probe results and doctor reports, for a terminal."""

from __future__ import annotations

from typing import Any

from logclassify.doctor import CheckStatus, DoctorReport
from logclassify.probes.models import ProbeResult, ProbeStatus

_LOG_LINES = 12


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def _pairs(record: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v}" for k, v in record.items() if _scalar(v) and k != "log_tail")


def _nested(prefix: str, value: Any) -> list[str]:
    """One line per record: a GPU, a graph replay; lists of plain values (the p2p matrix) as they are."""
    if isinstance(value, dict):
        own = _pairs(value)
        lines = [f"{prefix}: {own}"] if own and prefix else ([own] if own else [])
        for key, sub in value.items():
            if not _scalar(sub):
                lines.extend(_nested(f"{prefix}.{key}" if prefix else key, sub))
        return lines
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [line for i, item in enumerate(value) for line in _nested(f"{prefix}[{i}]", item)]
    return [f"{prefix}: {value}"]


def _detail_lines(details: dict[str, Any], indent: str) -> list[str]:
    lines = [indent + line for line in _nested("", details)]
    tail = str(details.get("log_tail") or "").strip().splitlines()[-_LOG_LINES:]
    if tail:
        lines.append(f"{indent}last output:")
        lines.extend(f"{indent}  | {line}" for line in tail)
    return lines


def probe_text(result: ProbeResult) -> str:
    head = f"{result.probe:<8} {result.status.value.upper()}"
    if result.stage and result.status in (ProbeStatus.failed, ProbeStatus.hung):
        head += f" in stage {result.stage}"
    if result.status is not ProbeStatus.skipped:
        head += f" ({result.duration_s:.1f}s)"
    lines = [head]
    if result.reason:
        lines.append(f"         {result.reason}")
    lines.extend(_detail_lines(result.details, "         "))
    if result.versions and result.status is not ProbeStatus.skipped:
        lines.append("         versions: " + ", ".join(f"{k} {v}" for k, v in result.versions.items()))
    return "\n".join(lines)


_MARK = {
    CheckStatus.passed: "ok",
    CheckStatus.info: "info",
    CheckStatus.warning: "WARN",
    CheckStatus.failed: "FAIL",
    CheckStatus.skipped: "skip",
}


def doctor_text(report: DoctorReport) -> str:
    width = max((len(c.name) for c in report.checks), default=0)
    lines = []
    for check in report.checks:
        lines.append(f"{_MARK[check.status]:<4}  {check.name:<{width}}  {check.message}")
        if check.fix and check.status in (CheckStatus.warning, CheckStatus.failed, CheckStatus.info):
            lines.append(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    counts = {s: sum(c.status is s for c in report.checks) for s in CheckStatus}
    lines.append(
        f"\n{counts[CheckStatus.failed]} failed, {counts[CheckStatus.warning]} warning(s), {counts[CheckStatus.passed]} passed"
    )
    return "\n".join(lines)
