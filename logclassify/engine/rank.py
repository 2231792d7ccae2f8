"""Order diagnoses root cause first, and fold the ones a cause explains under it.

- A narrower rule (`X.variant`) folds its broader rule `X` when both fire (unless it is only a note and `X` an
  alarm: then `X` folds the note).
- A rule's `folds:` list names causes it explains (e.g. a full /dev/shm explains an NCCL system error).
- `role: consequence` diagnoses (NCCL timeouts on the other ranks, a dead engine) fold under the headline cause.
- `role: fallback` diagnoses (a generic answer: an internal error raised in vLLM's own code) are dropped when a
  specific cause is an alarm, or when a specific cause (a note too) names the same lines (every evidence line of the
  fallback within a few lines of the cause's: the 400 answer to a request whose rejection a rule explains);
  otherwise they head the list like a cause.
- Then: alarms before notes, causes before consequences, more severe first, higher priority first, and finally the
  earliest evidence first (the first failure usually triggers the later ones on other ranks).
"""

from __future__ import annotations

from collections.abc import Sequence

from logclassify.models import Diagnosis, Severity

FOLDED_CONFIDENCE = 0.5  # a folded diagnosis is at most this sure to be the cause
NEAR_LINES = 5  # a fallback's evidence this close to a specific cause's is the same event, already explained


def _key(d: Diagnosis, priority: int) -> tuple[bool, bool, int, int, int]:
    return (d.severity is Severity.info, d.role == "consequence", -d.severity.rank, -priority, d.first_line)


def _covers(pattern: str, rule_id: str) -> bool:
    return rule_id == pattern or rule_id.startswith(pattern + ".")


def _related(narrow: Diagnosis, broad: Diagnosis) -> bool:
    return "." in narrow.id and broad.id == narrow.id.split(".", 1)[0]


def _explains(d: Diagnosis, other: Diagnosis, folds: Sequence[str]) -> bool:
    """Whether `other` folds under `d`: d is its narrower variant (and not a mere note), d lists it in `folds`,
    or other is a narrower variant that is only a note while d, its broader rule, is an alarm."""
    if _related(d, other):
        return not (d.severity is Severity.info and other.severity is not Severity.info)
    if _related(other, d):
        return other.severity is Severity.info and d.severity is not Severity.info
    return any(_covers(p, other.id) for p in folds)


def _answered_nearby(fallback: Diagnosis, causes: Sequence[Diagnosis]) -> bool:
    """Whether every evidence line of `fallback` lies within NEAR_LINES of a specific cause's evidence."""
    lines = [e.line for d in causes for e in d.evidence]
    return bool(fallback.evidence) and all(
        any(abs(e.line - n) <= NEAR_LINES for n in lines) for e in fallback.evidence
    )


def rank(found: Sequence[tuple[Diagnosis, int, Sequence[str]]]) -> list[Diagnosis]:
    """`found`: (diagnosis, rule priority, rule `folds`) for every rule that fired. Returns the top-level list."""
    causes = [d for d, _, _ in found if d.role == "cause"]
    if any(d.severity is not Severity.info for d in causes):
        found = [f for f in found if f[0].role != "fallback"]
    else:
        found = [f for f in found if f[0].role != "fallback" or not _answered_nearby(f[0], causes)]
    ordered = sorted(found, key=lambda f: _key(f[0], f[1]))
    by_id = {d.id: d for d, _, _ in ordered}
    folded: set[str] = set()

    def fold(child: Diagnosis, parent: Diagnosis) -> None:
        folded.add(child.id)
        child.confidence = min(child.confidence, FOLDED_CONFIDENCE)
        parent.consequences.append(child)
        parent.consequences.extend(child.consequences)
        child.consequences = []

    for d, _, folds in ordered:
        if d.id in folded:
            continue
        targets = [x for x in by_id.values() if x is not d and x.id not in folded]
        for other in targets:
            if _explains(d, other, folds):
                fold(other, d)
    top = [d for d, _, _ in ordered if d.id not in folded]
    head = next((d for d in top if d.role != "consequence" and d.severity is not Severity.info), None)
    if head is not None:
        for d in [x for x in top if x.role == "consequence"]:
            fold(d, head)
        top = [d for d in top if d.id not in folded]
    return top
