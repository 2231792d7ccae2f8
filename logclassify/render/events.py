"""One live event (`--follow`) as text (a few lines), one JSON object on one line, or a Markdown reply."""

from __future__ import annotations

import json
from datetime import datetime

from logclassify.models import Event, Report


def render_event(ev: Event, fmt: str) -> str:
    """`fmt` is the command's --format: json and jsonl both give one object per line (a stream has no end)."""
    if fmt in ("json", "jsonl"):
        return json.dumps(ev.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"
    if fmt == "markdown":
        from logclassify.render.markdown import render_markdown

        report = Report(
            source=ev.source,
            diagnoses=[ev.diagnosis] if ev.diagnosis else [],
            unrecognized=[ev.unrecognized] if ev.unrecognized else [],
        )
        again = f"**Again** ({repeat_label(ev)})\n\n" if ev.occurrence > 1 else ""
        return again + render_markdown(report) + "\n"
    return _text(ev)


def repeat_label(ev: Event) -> str:
    """'3rd time in 10 min': how often the cause was seen, and since when."""
    n = ev.occurrence
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    label = f"{n}{suffix} time"
    if ev.first_at is None:
        return label
    span = (datetime.fromisoformat(ev.at) - datetime.fromisoformat(ev.first_at)).total_seconds()
    if span < 120:
        return f"{label} in {max(0, round(span))} s"
    if span < 2 * 3600:
        return f"{label} in {round(span / 60)} min"
    return f"{label} in {span / 3600:.1f} h"


def _text(ev: Event) -> str:
    stamp = ev.at[11:19]
    again = f" again ({repeat_label(ev)})" if ev.occurrence > 1 else ""
    if ev.diagnosis is not None:
        d = ev.diagnosis
        mark = {"critical": "✖", "error": "✖", "warning": "▲"}.get(d.severity.value, "·")
        out = [f"{stamp} {mark} {d.id}{again}  {d.title}  ({ev.source} line {d.first_line}, "
               f"confidence {d.confidence:.2f})"]
        out += [f"    {e.line:>7} │ {e.text[:150]}" for e in d.evidence[:4]]
        out.append(f"    why   {' '.join(d.cause.split())[:400]}")
        out += [f"    fix   {i}. {step}" if i == 1 else f"          {i}. {step}" for i, step in enumerate(d.fix, 1)]
        if d.docs:
            out.append(f"    docs  {d.docs[0]}")
    else:
        u = ev.unrecognized
        assert u is not None
        out = [f"{stamp} ? unrecognised failure{again}  {u.error[:200]}  ({ev.source} line {u.line})"]
        out += [f"    {e.line:>7} │ {e.text[:150]}" for e in u.evidence]
        out.append(f"    fingerprint  {u.fingerprint}")
        if u.related:
            rel = " · ".join(f"{r.id} ({r.score:.2f})" for r in u.related)
            out.append(f"    related      {rel}  — suggestions, not diagnoses")
    return "\n".join(out) + "\n\n"
