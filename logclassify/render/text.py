"""The terminal answer: headline cause first, every claim pointing at an input line, one screen.

Colour only when asked (the CLI decides: a terminal, no NO_COLOR, no `--color never`).
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Sequence

import click

from logclassify.models import Diagnosis, Phase, Report, Severity
from logclassify.render.commands import PARTIAL, change_summary, command_lines, value_line

_MARK = {Severity.critical: "✖", Severity.error: "✖", Severity.warning: "▲", Severity.info: "·"}
_COLOUR = {Severity.critical: "red", Severity.error: "red", Severity.warning: "yellow", Severity.info: None}


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, **kw: object) -> str:
        return click.style(text, **kw) if self.color else text  # type: ignore[arg-type]


def _width() -> int:
    return max(60, min(120, _columns()))


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size gives it ($COLUMNS first, 100 when not a terminal), without
    importing shutil (which imports bz2 and lzma: 2-3 ms of every start-up)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 100


def header(report: Report) -> str:
    """`server.log · vLLM 0.8.3 (V1) · torch 2.6.0 · NCCL 2.21.5 · 8× H100 · TP 8 · model`."""
    f = report.facts
    parts = [report.source]
    if "vllm_version" in f:
        parts.append(f"vLLM {f['vllm_version']}" + (f" ({f['engine']})" if "engine" in f else ""))
    elif "engine" in f:
        parts.append(f"vLLM {f['engine']}")
    for key, label in (("torch_version", "torch"), ("cuda_version", "CUDA"), ("nccl_version", "NCCL")):
        if key in f:
            parts.append(f"{label} {f[key]}")
    if f.get("gpu_names"):
        names = f["gpu_names"]
        count = f.get("gpu_count", len(names))
        parts.append(f"{count}× {names[0]}" if len(names) == 1 else ", ".join(names))
    if "tensor_parallel_size" in f:
        parts.append(f"TP {f['tensor_parallel_size']}")
    if f.get("pipeline_parallel_size", 1) != 1:
        parts.append(f"PP {f['pipeline_parallel_size']}")
    if "model" in f:
        parts.append(str(f["model"]))
    if "max_model_len" in f:
        parts.append(f"max_model_len {f['max_model_len']}")
    return "  ·  ".join(parts)


def _wrap(label: str, text: str, width: int, indent: int = 8) -> list[str]:
    body = textwrap.wrap(" ".join(text.split()), width=width - indent, break_on_hyphens=False) or [""]
    out = [f"  {label:<{indent - 2}}{body[0]}"]
    out.extend(" " * indent + b for b in body[1:])
    return out


def _diagnosis(d: Diagnosis, s: _Style, width: int, show_all: bool, partial: bool = False) -> list[str]:
    colour = _COLOUR[d.severity]
    mark = s(_MARK[d.severity], fg=colour, bold=True) if colour else s(_MARK[d.severity], dim=True)
    title_line = f"{mark} {s(d.id, bold=True)}   {d.title}"
    conf = f"confidence {d.confidence:.2f}"
    pad = max(2, width - len(d.id) - len(d.title) - len(conf) - 6)
    out = [f"{title_line}{' ' * pad}{s(conf, dim=True)}"]
    if d.evidence:
        out.append("  evidence")
        for ev in d.evidence:
            shown = ev.message or ev.text
            text = shown if len(shown) <= width - 14 else shown[: width - 15] + "…"
            out.append(f"    {ev.line:>6} │ {text}")
    if d.captures:
        caps = ", ".join(f"{k}={v}" for k, v in d.captures.items())
        out.extend(_wrap("found", caps, width))
    for i, v in enumerate(d.values):
        out.extend(_wrap("data" if i == 0 else "", value_line(v), width))
    out.extend(_wrap("why", d.cause, width))
    commands = {c.step: c for c in d.commands}
    for i, step in enumerate(d.fix, 1):
        label = "fix" if i == 1 else ""
        lines = textwrap.wrap(" ".join(step.split()), width=width - 11, break_on_hyphens=False) or [""]
        out.append(f"  {label:<6}{i}. {s(lines[0], bold=True) if _is_command(lines[0]) else lines[0]}")
        out.extend(" " * 11 + ln for ln in lines[1:])
        if i in commands:
            fc = commands[i]
            out.extend(" " * 11 + s(ln, bold=True) for ln in command_lines(fc, width - 11))
            summary = change_summary(fc.changes, fc.command.startswith("LLM("))
            out.append(" " * 11 + s(f"({summary}{'; ' + PARTIAL if partial else ''})", dim=True))
    for i, url in enumerate(d.docs):
        out.append(f"  {'docs' if i == 0 else '':<6}{s(url, underline=True)}")
    if d.probe:
        out.append(f"  {'check':<6}logclassify probe {d.probe}")
    if d.probe_result:
        out.extend(_probe(d.probe_result, s, width))
    if d.consequences:
        names: dict[str, int] = {}
        for c in d.consequences:
            names[c.id] = names.get(c.id, 0) + 1
        summary = ", ".join(f"{k} ×{v}" if v > 1 else k for k, v in names.items())
        n = len(d.consequences)
        more = "" if show_all else "   --all to show"
        out.append(s(f"  then  {n} consequence{'s' if n != 1 else ''} explained by this ({summary}){more}", dim=True))
        if show_all:
            for c in d.consequences:
                out.append(s(f"        ↳ {c.id}  {c.title}  (line {c.first_line})", dim=True))
    return out


_PROBE_HEAD = ("reason", "stage", "duration_s", "log_tail")  # shown in the probe's first lines, not as details
_PROBE_TAIL = 6  # last lines of the probe's own output


def _flat(value: object) -> str:
    """A detail value on one line: `k=v  k=v` for a record, `a, b` for a list, as is otherwise."""
    if isinstance(value, dict):
        return "  ".join(f"{k}={_flat(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(f"({_flat(v)})" if isinstance(v, dict) else _flat(v) for v in value)
    return str(value)


def _probe(result: dict[str, object], s: _Style, width: int) -> list[str]:
    """--probe's verdict on a diagnosis: `confirmed: nccl failed in stage all_reduce (3.2s)`, why, what it saw."""
    details = result.get("details")
    details = details if isinstance(details, dict) else {}
    head = f"{result.get('verdict', '?')}: {result.get('probe', '?')} {result.get('status', '')}".rstrip()
    if details.get("stage") and result.get("status") in ("failed", "hung"):
        head += f" in stage {details['stage']}"
    if isinstance(details.get("duration_s"), (int, float)):
        head += f" ({details['duration_s']:.1f}s)"
    verdict_colour = {"confirmed": "red", "refuted": "green"}.get(str(result.get("verdict")))
    out = [f"  {'probe':<6}{s(head, fg=verdict_colour, bold=True) if verdict_colour else head}"]
    if details.get("reason"):
        out.extend(_wrap("", str(details["reason"]), width))
    for key, value in details.items():
        if key not in _PROBE_HEAD and value not in (None, "", [], {}):
            out.extend(_wrap("", f"{key}: {_flat(value)}", width))
    tail = str(details.get("log_tail") or "").strip().splitlines()[-_PROBE_TAIL:]
    if tail:
        out.append(s("        last output:", dim=True))
        out.extend(s(f"          | {line[: width - 14]}", dim=True) for line in tail)
    return out


def _is_command(step: str) -> bool:
    return step.startswith(("pip ", "export ", "docker ", "vllm ", "python", "df ", "nvidia-smi", "logclassify "))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def timeline(phases: Sequence[Phase], s: _Style) -> list[str]:
    """A compact table, one bar per phase, so the slow phase stands out."""
    if not phases:
        return []
    longest = max((p.duration_s or 0.0) for p in phases) or 1.0
    width = max(len(p.label) for p in phases)
    out = ["startup"]
    for p in phases:
        frac = (p.duration_s or 0.0) / longest
        bar = "█" * int(frac * 24) or ("▌" if p.duration_s else "")
        state = {"running": "still running at the end of the log", "failed": "failed"}.get(p.status, "")
        colour = "yellow" if p.status == "running" else ("red" if p.status == "failed" else None)
        bar_txt = s(f"{bar:<24}", fg=colour) if colour else f"{bar:<24}"
        where = f"line {p.start_line}"
        out.append(f"  {p.label:<{width}} {bar_txt} {_duration(p.duration_s):>7}  {s(where, dim=True)}  {state}".rstrip())
    return out


def render_text(report: Report, *, color: bool = False, show_all: bool = False) -> str:
    s = _Style(color)
    width = _width()
    out = [s(header(report), bold=True), ""]
    if report.error and not report.lines:
        out.append(s(f"✖ cannot read {report.source}: {report.error}", fg="red"))
        return "\n".join(out) + "\n"
    if report.error:  # read in part (a damaged gzip file): say so above what was found in the part
        out.extend(s(line, fg="yellow") for line in _wrap("▲ read in part:", report.error, width, indent=18))
        out.append("")
    alarms = report.alarms
    notes = [d for d in report.diagnoses if d.severity is Severity.info]
    partial = report.command is not None and not report.command.complete
    for d in alarms:
        out.extend(_diagnosis(d, s, width, show_all, partial))
        out.append("")
    for u in report.unrecognized:  # with a generic answer, a family rule (role: fallback) said what it can
        label = s("no specific rule" if u.generic_answer else "unrecognised failure", bold=True)
        out.append(f"{s('?', fg='magenta', bold=True)} {label}   {u.error[: width - 40]}   line {u.line}")
        for ev in u.evidence if not alarms else ():
            out.append(f"    {ev.line:>6} │ {ev.text[: width - 14]}")
        out.append(f"  fingerprint  {u.fingerprint}")
        if u.related:
            rel = " · ".join(f"{r.id} ({r.score:.2f})" for r in u.related)
            out.append(f"  related      {rel}   {s('— suggestions, not diagnoses', dim=True)}")
        out.append("")
    if not alarms and not report.unrecognized:
        serving = next((p for p in report.timeline if p.name == "serving"), None)
        since = f", serving since {serving.start_time}" if serving and serving.start_time else ""
        out.append(s(f"✓ no known failure in {report.source} ({report.lines:,} lines{since})", fg="green"))
        out.append("")
    for d in notes:
        out.append(s(f"· note  {d.id}  {d.title}", dim=True))
        for ev in d.evidence[:2]:
            out.append(s(f"    {ev.line:>6} │ {(ev.message or ev.text)[: width - 14]}", dim=True))
        if show_all or not alarms:
            out.extend(s(line, dim=True) for line in _wrap("why", d.cause, width))
            if d.fix:
                out.extend(s(line, dim=True) for line in _wrap("fix", d.fix[0], width))
    if notes:
        out.append("")
    for warning in report.warnings:  # what the bounded scan did not examine, what repeated (docs/limits.md)
        out.extend(s(line, fg="yellow") for line in _wrap("▲ note:", warning, width, indent=10))
    if report.warnings:
        out.append("")
    out.extend(timeline(report.timeline, s))
    if report.timeline:
        out.append("")
    n = len(alarms)
    footer = f"{n} cause{'s' if n != 1 else ''} found · exit 1 with --exit-code" if n else "no cause found"
    out.append(s(f"{footer} · --format json | jsonl | markdown", dim=True))
    return "\n".join(out) + "\n"
