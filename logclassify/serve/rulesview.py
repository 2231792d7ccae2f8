"""The rules as the API shows them: a summary per rule, and one rule with its file."""

from __future__ import annotations

from collections.abc import Sequence

from logclassify.engine.loader import CompiledRule
from logclassify.serve.problems import Problem
from logclassify.serve.schemas import RuleDetail, RuleSummary


def _summary(rule: CompiledRule) -> dict[str, object]:
    info = rule.rule
    return {"id": info.id, "title": info.title, "severity": info.severity.value, "role": info.role,
            "tags": list(info.tags), "probe": info.probe}


def rule_summaries(rules: Sequence[CompiledRule]) -> list[RuleSummary]:
    return [RuleSummary.model_validate(_summary(r)) for r in sorted(rules, key=lambda r: r.id)]


def rule_detail(rules: Sequence[CompiledRule], rule_id: str) -> RuleDetail:
    """One rule; 404 with the nearest ids when there is none by that name."""
    found = {r.id: r for r in rules}.get(rule_id)
    if found is None:
        from rapidfuzz import process

        near = [m[0] for m in process.extract(rule_id, [r.id for r in rules], limit=3)]
        raise Problem(404, f"no rule {rule_id!r}" + (f"; did you mean: {', '.join(near)}?" if near else ""))
    info = found.rule
    try:
        source = found.path.read_text(encoding="utf-8")
    except OSError as exc:
        source = f"# {found.path.name} could not be read: {exc.strerror or exc}"
    return RuleDetail.model_validate({**_summary(found), "cause": info.cause, "fix": list(info.fix),
                                      "docs": list(info.docs), "confidence": info.confidence, "source": source})
