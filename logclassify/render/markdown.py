"""A reply a bot can post: headline cause, the fix as a numbered list, evidence folded away, docs as links."""

from __future__ import annotations

from logclassify.models import Diagnosis, Report, Severity, Unrecognized
from logclassify.render.commands import PARTIAL, change_summary, value_line
from logclassify.render.text import header


def _fence(lines: list[str]) -> list[str]:
    return _fence_as("text", lines)


def _fence_as(lang: str, lines: list[str]) -> list[str]:
    body = "\n".join(lines)
    ticks = "```"
    while ticks in body:
        ticks += "`"
    return [ticks + lang, *body.split("\n"), ticks]


def _diagnosis(d: Diagnosis, level: str, partial: bool = False) -> list[str]:
    out = [f"{level} {d.title} (`{d.id}`)", ""]
    out.append(f"**Severity:** {d.severity.value} · **confidence:** {d.confidence:.2f}")
    if d.captures:
        out.append("**Found:** " + ", ".join(f"`{k}` = `{v}`" for k, v in d.captures.items()))
    out += ["", " ".join(d.cause.split()), ""]
    if d.values:
        out.append("**From your log:**")
        out.append("")
        out.extend(f"- `{v.name}` = {value_line(v)}" for v in d.values)
        out.append("")
    if d.fix:
        out.append("**How to fix it**")
        out.append("")
        commands = {c.step: c for c in d.commands}
        for i, step in enumerate(d.fix, 1):
            out.append(f"{i}. {step}")
            if i in commands:
                fc = commands[i]
                out.append("")
                offline = fc.command.startswith("LLM(")
                summary = f"# {change_summary(fc.changes, offline)}" + (f"; {PARTIAL}" if partial else "")
                out.extend("   " + ln for ln in _fence_as("python" if offline else "sh", [fc.command, summary]))
                out.append("")
        out.append("")
    if d.evidence:
        out.append(f"<details><summary>Evidence ({len(d.evidence)} line{'s' if len(d.evidence) != 1 else ''})</summary>")
        out.append("")
        out.extend(_fence([f"{e.line:>6} | {e.message or e.text}" for e in d.evidence]))
        out.append("")
        out.append("</details>")
        out.append("")
    if d.docs:
        out.append("**Docs:** " + " · ".join(f"[{_short(u)}]({u})" for u in d.docs))
        out.append("")
    if d.probe:
        out.append(f"To confirm on the machine: `logclassify probe {d.probe}`")
        out.append("")
    if d.consequences:
        ids = ", ".join(sorted({f"`{c.id}`" for c in d.consequences}))
        out.append(f"_Also seen, explained by this cause: {ids}._")
        out.append("")
    return out


def _unrecognized(u: Unrecognized) -> list[str]:
    """An unknown failure: what it is, its fingerprint (to find duplicates), look-alike causes as hints only.
    A family answer above (`generic_answer`: an internal error in vLLM...) means no specific rule names it."""
    if u.generic_answer:
        out = ["#### No specific rule", "", f"No rule names a more specific cause for this error (line {u.line}):", ""]
    else:
        out = ["### Unrecognised failure", "", f"No known cause matches this error (line {u.line}):", ""]
    out.extend(_fence([u.error]))
    out += ["", f"**Fingerprint:** `{u.fingerprint}` (shared by every report of this failure, on any machine or version)", ""]
    if u.evidence:
        out += ["<details><summary>Evidence</summary>", ""]
        out.extend(_fence([f"{e.line:>6} | {e.text}" for e in u.evidence]))
        out += ["", "</details>", ""]
    if u.related:
        out += ["**Related known causes** (suggestions to check, not diagnoses):", ""]
        out.extend(f"- {r.title} (`{r.id}`, similarity {r.score:.2f})" for r in u.related)
        out.append("")
    return out


def _short(url: str) -> str:
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return tail.split("#", 1)[-1] if "#" in tail else tail or url


def render_markdown(report: Report) -> str:
    out = [f"<sub>{header(report)}</sub>", ""]
    if report.error and report.lines:
        out.extend([f"> **Read in part:** {report.error}", ""])
    alarms = report.alarms
    notes = [d for d in report.diagnoses if d.severity is Severity.info]
    partial = report.command is not None and not report.command.complete
    for i, d in enumerate(alarms):
        out.extend(_diagnosis(d, "###" if i == 0 else "####", partial))
    for u in report.unrecognized:
        out.extend(_unrecognized(u))
    if not alarms and not report.unrecognized:
        out.append(f"No known failure found in {report.source} ({report.lines:,} lines).")
        out.append("")
    for d in notes:
        out.append(f"> **Note — {d.title}** (`{d.id}`): {' '.join(d.cause.split())}")
        out.append("")
    for warning in report.warnings:  # a reader of a bot's reply must know what was not examined (docs/limits.md)
        out.extend([f"> **Note:** {warning}", ""])
    return "\n".join(out).rstrip() + "\n"
