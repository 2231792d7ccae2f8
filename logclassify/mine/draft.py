"""A rule skeleton and its fixtures for one group, in the layout `logclassify rules test` reads.

The match is built from the group's template: the exception type, and the literal stretches of the masked
message (placeholders and wildcards become lazy gaps), so the draft matches every member, not one file's accident.
The draft is checked against its own fixtures before it is reported as written; members it misses are named.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from logclassify.engine.classifier import Classifier, load_rules
from logclassify.engine.schema import ID_PATTERN
from logclassify.mine.groups import Group, Occurrence
from logclassify.mine.templates import WILDCARD

MAX_RUNS = 3  # literal stretches kept in the drafted pattern: enough to be specific, few enough to generalise
MIN_RUN_CHARS = 4
_PLACEHOLDER = re.compile(r"<[a-z*]+>")
_QUOTES = "['\"`\u2018\u2019\u201c\u201d]"


class DraftError(Exception):
    """The draft cannot be written (bad id, existing files, no literal text to anchor on)."""


def _runs(template: Sequence[str]) -> list[str]:
    """Stretches of consecutive tokens that hold no placeholder, in order."""
    runs: list[list[str]] = [[]]
    for tok in template:
        if tok == WILDCARD or _PLACEHOLDER.search(tok):
            runs.append([])
        else:
            runs[-1].append(tok)
    return [" ".join(r) for r in runs if r and len(" ".join(r)) >= MIN_RUN_CHARS]


def _literal(run: str) -> str:
    """A readable regex for a masked run: the words as written, quotes as any quote (the mask folded them)."""
    return " ".join(re.escape(tok).replace("\\'", "'").replace("'", _QUOTES) for tok in run.split())


def pattern_of(template: str) -> tuple[str | None, str]:
    """The exception type (or None) and a message regex that every member of the template matches."""
    toks = template.split()
    exc_type = toks[0][:-1] if toks and toks[0].endswith(":") and re.fullmatch(r"[\w.]+:", toks[0]) else None
    body = toks[1:] if exc_type else toks
    runs = _runs(body)
    if not runs:
        raise DraftError(f"the template has no literal text to anchor a rule on: {template!r}")
    longest = sorted(sorted(range(len(runs)), key=lambda i: -len(runs[i]))[:MAX_RUNS])
    return exc_type, ".*?".join(_literal(runs[i]) for i in longest)


def rule_skeleton(rule_id: str, group: Group) -> dict[str, Any]:
    exc_type, message = pattern_of(group.template)
    short = exc_type.rsplit(".", 1)[-1] if exc_type else None
    match: dict[str, Any] = (
        {"exception": {"type": rf"(?:[\w.]+\.)?{re.escape(short)}", "message": message}} if short else {"regex": message}
    )
    return {
        "id": rule_id,
        "title": f"TODO: name the cause of: {group.occurrences[0].error[:120]}",
        "severity": "error",
        "confidence": 0.7,
        "tags": ["draft"],
        "cause": "TODO: what failed and why, from the threads of: " + ", ".join(group.sources[:5]),
        "fix": ["TODO: the steps that worked, with the flag, env var or command to run."],
        "docs": [],
        "match": match,
    }


def _fixture_text(occ: Occurrence, redact: bool) -> tuple[str, bytes]:
    """The fixture's file suffix and content: the member's whole input, with secrets redacted line by line (a
    fixture is committed to a repository; redaction keeps every line, so the evidence line numbers hold)."""
    if occ.input.path is not None:
        suffix = ".md" if occ.input.path.suffix in (".md", ".markdown") else ".log"
        raw = occ.input.path.read_bytes()
        if occ.input.path.suffix == ".gz":
            import gzip

            raw = gzip.decompress(raw)
    else:
        text = occ.input.text or ""
        suffix, raw = (".md" if "```" in text else ".log"), text.encode("utf-8")
    if not redact:
        return suffix, raw
    from logclassify.redact import redact_text

    lines = raw.decode("utf-8", "surrogateescape").split("\n")
    return suffix, "\n".join(redact_text(line) for line in lines).encode("utf-8", "surrogateescape")


def draft_rule(
    group: Group, out_dir: Path, rule_id: str, *, area: str = "drafts", max_fixtures: int = 5, redact: bool = True
) -> tuple[list[Path], list[str]]:
    """Write `rules/<area>/<id>.yaml` and up to `max_fixtures` fixtures under `out_dir`.

    Returns the files written and the sources of the fixtures the drafted rule does not match (to fix by hand).
    """
    if not re.fullmatch(ID_PATTERN, rule_id):
        raise DraftError(f"rule id {rule_id!r} must be lower-case words joined by '-' (and an optional .variant)")
    rule_path = out_dir / "rules" / area / f"{rule_id}.yaml"
    fixture_dir = out_dir / "fixtures" / area
    if rule_path.exists():
        raise DraftError(f"{rule_path} exists; choose another id or folder")
    skeleton = rule_skeleton(rule_id, group)
    rule_path.parent.mkdir(parents=True, exist_ok=True)
    fixture_dir.mkdir(parents=True, exist_ok=True)
    rule_path.write_text(yaml.safe_dump(skeleton, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
    written = [rule_path]
    logs: list[Path] = []
    members = list({o.source: o for o in group.occurrences}.values())[:max_fixtures]
    for n, occ in enumerate(members, 1):
        suffix, content = _fixture_text(occ, redact)
        log = fixture_dir / f"{rule_id}-{n}{suffix}"
        log.write_bytes(content)
        expect = {"expect": [rule_id], "source": occ.source, "note": f"mined: {occ.error[:160]}"}
        meta = log.with_name(f"{rule_id}-{n}.expect.yaml")
        meta.write_text(yaml.safe_dump(expect, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
        written += [log, meta]
        logs.append(log)
    clf = Classifier(load_rules(rule_path.parent))
    missed = [
        occ.source
        for occ, log in zip(members, logs, strict=True)
        if rule_id not in {d.id for d in clf.classify_path(log).diagnoses}
    ]
    return written, missed
