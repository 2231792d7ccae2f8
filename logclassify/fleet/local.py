"""A fleet run without Ray: the same rows from this machine's processes (`-j N`, the scan command's worker pool),
so the command and its Parquet/JSONL output are useful on a laptop where Ray is not installed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from logclassify import batch
from logclassify.engine.classifier import Classifier
from logclassify.fleet.rows import row_of
from logclassify.fleet.sources import Source, classify_source, is_uri, local_mtime


def local_rows(
    classifier: Classifier,
    sources: Sequence[Source],
    *,
    jobs: int = 1,
    rule_dirs: Sequence[str] = (),
    builtin: bool = True,
    input_format: str = "auto",
    redact: tuple[bool, bool] = (True, False),
) -> Iterator[dict[str, Any]]:
    """One row per source, in input order. Local files go through `batch.classify_many` (`jobs` processes, a dead
    worker costs only its file); URIs are streamed in this process, one after the other."""
    files = [s for s in sources if not is_uri(s.path)]
    reports = batch.classify_many(classifier, [s.path for s in files], jobs=jobs, input_format=input_format,
                                  rule_dirs=rule_dirs, builtin=builtin, redact=redact[0], redact_hosts=redact[1])
    for source in sources:
        if is_uri(source.path):
            report, mtime = classify_source(classifier, source, input_format, redact)
        else:
            report, _ = next(reports)
            report.source = source.name
            mtime = source.mtime or local_mtime(source.path)
        yield row_of(report, mtime)
