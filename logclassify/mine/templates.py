"""Message templates that survive a changed number, path, model name or a reworded phrase.

The fingerprint masks what varies between machines (numbers, paths, ids, repo names), so one failure on one
version always has one fingerprint. Across versions vLLM also rewords a message a little (a word added, a list
printed differently). Like Drain, this clusters masked messages by token similarity and keeps a template in
which differing tokens become `<*>`; unlike Drain it aligns token sequences (difflib) instead of requiring equal
lengths, since a reworded message rarely keeps its token count. Backlogs hold hundreds of unknown failures, not
millions, so a linear pass over the clusters is enough.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from logclassify.engine.unknown import mask

WILDCARD = "<*>"
DEFAULT_THRESHOLD = 0.7


def tokens(error: str) -> list[str]:
    """The masked message split on whitespace: the unit templates are compared in."""
    return mask(error).split()


def _kind(toks: Sequence[str]) -> str:
    """The exception type (`ValueError:`) heading a message, or "" when none is known."""
    return toks[0] if toks and toks[0].endswith(":") and toks[0][:-1].replace(".", "").isidentifier() else ""


def _same_kind(a: str, b: str) -> bool:
    """Messages of two different exception types never merge; an untyped message may join either."""
    return not a or not b or a == b


def similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of tokens the two sequences have in common, in order (0..1); wildcards count as matching."""
    if not a and not b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, list(a), list(b), autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    wild = min(sum(t == WILDCARD for t in a), len(b)) + min(sum(t == WILDCARD for t in b), len(a))
    return min(1.0, 2.0 * (same + wild) / (len(a) + len(b)))


def merge(a: Sequence[str], b: Sequence[str]) -> list[str]:
    """A template covering both: their common tokens in order, one wildcard for each stretch that differs."""
    matcher = difflib.SequenceMatcher(None, list(a), list(b), autojunk=False)
    out: list[str] = []
    for op, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(a[i1:i2])
        elif not out or out[-1] != WILDCARD:
            out.append(WILDCARD)
    return out


@dataclass
class Cluster:
    """Messages judged to be one template; `members` are indexes into the miner's input order."""

    template: list[str]
    members: list[int] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.template)


class TemplateMiner:
    """Adds messages one by one; each joins the most similar cluster of its exception type, or starts one."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        self.clusters: list[Cluster] = []
        self._count = 0

    def add(self, message: str) -> Cluster:
        toks = tokens(message)
        kind = _kind(toks)
        best: Cluster | None = None
        best_score = self.threshold
        for cluster in self.clusters:
            if not _same_kind(_kind(cluster.template), kind):
                continue
            score = similarity(cluster.template, toks)
            if score >= best_score:
                best, best_score = cluster, score
        if best is None:
            best = Cluster(template=toks)
            self.clusters.append(best)
        elif best.template != toks:
            best.template = merge(best.template, toks)
        best.members.append(self._count)
        self._count += 1
        return best
