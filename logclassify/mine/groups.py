"""From many reports to groups of one unknown failure, biggest first: the work list of the next rules."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logclassify.engine.classifier import Classifier
from logclassify.engine.unknown import unwrap
from logclassify.mine.inputs import InputText, iter_inputs
from logclassify.mine.templates import DEFAULT_THRESHOLD, TemplateMiner
from logclassify.read.sources import InputError

EXCERPT_LINES = 8


@dataclass(frozen=True)
class Occurrence:
    """One unrecognised failure in one input, with what a maintainer needs to judge it and draft fixtures."""

    source: str
    error: str
    fingerprint: str
    line: int
    excerpt: tuple[str, ...]
    input: InputText


@dataclass
class Group:
    """Occurrences sharing a message template (one or more fingerprints)."""

    template: str
    occurrences: list[Occurrence] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.occurrences)

    @property
    def fingerprints(self) -> list[str]:
        return sorted({o.fingerprint for o in self.occurrences})

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(o.source for o in self.occurrences))

    def to_json(self) -> dict[str, Any]:
        first = self.occurrences[0]
        return {
            "size": self.size,
            "template": self.template,
            "error": first.error,
            "fingerprints": self.fingerprints,
            "sources": self.sources,
            "excerpt": list(first.excerpt),
        }


def _report(classifier: Classifier, item: InputText, redact: bool) -> Any:
    if item.path is not None:
        return classifier.classify_path(item.path, input_format=item.input_format, redact=redact)
    return classifier.classify(item.text or "", source=item.source, input_format=item.input_format, redact=redact)


def occurrences(
    inputs: Iterable[InputText], classifier: Classifier, problems: list[str], redact: bool = True
) -> Iterator[Occurrence]:
    """The unrecognised failures of every input; inputs that cannot be read are named in `problems`.
    `redact`: excerpts and messages without tokens, keys, passwords or e-mails (a backlog of issue bodies is public
    text, and the groups are pasted into issues and rules)."""
    for item in inputs:
        try:
            report = _report(classifier, item, redact)
        except InputError as exc:
            problems.append(f"{item.source}: {exc}")
            continue
        for unknown in report.unrecognized:
            excerpt = tuple(e.text for e in unknown.evidence[:EXCERPT_LINES]) or (unknown.error,)
            yield Occurrence(item.source, unknown.error, unknown.fingerprint, unknown.line, excerpt, item)


def template_text(error: str) -> str:
    """The text a template is mined from: a worker's error unwrapped from vLLM's re-raise around it."""
    head, sep, message = error.partition(": ")
    if sep and head.replace(".", "").isidentifier():
        inner = unwrap(message)
        return inner if inner != message.strip() else error
    return unwrap(error)


def group(found: Iterable[Occurrence], threshold: float = DEFAULT_THRESHOLD) -> list[Group]:
    """Occurrences grouped by fingerprint, fingerprints merged by template; biggest group first."""
    miner = TemplateMiner(threshold)
    by_cluster: dict[int, list[Occurrence]] = {}
    cluster_of_fp: dict[str, int] = {}
    for occ in found:
        if occ.fingerprint not in cluster_of_fp:
            cluster = miner.add(template_text(occ.error))
            cluster_of_fp[occ.fingerprint] = id(cluster)
        by_cluster.setdefault(cluster_of_fp[occ.fingerprint], []).append(occ)
    templates = {id(c): c.text for c in miner.clusters}
    groups = [Group(templates[key], occs) for key, occs in by_cluster.items()]
    groups.sort(key=lambda g: (-g.size, g.template))
    return groups


def mine(
    paths: Iterable[str | Path],
    classifier: Classifier | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    problems: list[str] | None = None,
    redact: bool = True,
) -> list[Group]:
    """Read every log under `paths` and group the failures no rule explains, biggest group first (secrets redacted
    unless `redact=False`)."""
    problems = [] if problems is None else problems
    clf = classifier or Classifier()
    return group(occurrences(iter_inputs(paths, problems), clf, problems, redact), threshold)
