"""Classify a Ray Dataset of logs: file paths and URIs, or a column of texts (issue bodies, CI logs in Parquet).

    import ray
    from logclassify.fleet import ray_batch
    ray.init()                                           # or ray.init(address="auto") on a cluster
    rows = ray_batch.classify_files(["logs/", "s3://bucket/jobs/"])      # a Dataset, one row per log
    rows.write_parquet("s3://bucket/results/")           # or iterate: ray_batch.run(...) writes one file
    texts = ray.data.read_parquet("issues.parquet")
    rows = ray_batch.classify_texts(texts, text_column="body", source_column="url")

`ClassifyLogs` is the callable class given to `map_batches`: each Ray actor builds its `Classifier` once, from the
built-in rules and the custom rule folders, which travel inside the constructor's arguments (`RulePack`). Rows are
those of `rows.row_of`, equal to what `logclassify --format jsonl` says of the same files (tests/test_fleet.py).
Ray is imported only here, and only when this module is used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from logclassify.fleet.output import arrow_schema
from logclassify.fleet.rows import row_of
from logclassify.fleet.rulepack import RulePack
from logclassify.fleet.sources import Source, classify_source

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

BATCH = 16  # logs per call of ClassifyLogs: small, so that a few big logs do not hold up a whole batch
BLOCK_ROWS = 256  # most logs per block of the input Dataset (the unit Ray hands to one actor)


class ClassifyLogs:
    """`map_batches` callable: rows of logs in, one result row per log out (Arrow tables both ways).

    Input columns: `path` (a local path every worker can read, or a URI), `name` (the source shown) and `mtime`;
    or, with `text_column`, the texts themselves (`source_column` names them; `<text>` otherwise)."""

    def __init__(self, rules: RulePack, input_format: str = "auto", redact: tuple[bool, bool] = (True, False),
                 text_column: str | None = None, source_column: str | None = None) -> None:
        self.classifier = rules.classifier()  # once per worker, never per row
        self.input_format = input_format
        self.redact = redact
        self.text_column = text_column
        self.source_column = source_column
        self.schema = arrow_schema()

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        rows = list(self._rows(batch))
        return pa.Table.from_pylist(rows, schema=self.schema)

    def _rows(self, batch: pa.Table) -> Iterator[dict[str, Any]]:
        if self.text_column is not None:
            texts = batch.column(self.text_column).to_pylist()
            names = (batch.column(self.source_column).to_pylist() if self.source_column
                     else ["<text>"] * len(texts))
            for text, name in zip(texts, names, strict=True):
                report = self.classifier.classify(
                    text if text is not None else "", source=str(name), input_format=self.input_format,  # type: ignore[arg-type]
                    redact=self.redact[0], redact_hosts=self.redact[1])
                yield row_of(report)
            return
        for item in batch.to_pylist():
            source = Source(item["name"], item["path"], item.get("mtime"))
            report, mtime = classify_source(self.classifier, source, self.input_format, self.redact)
            yield row_of(report, mtime)


def _actors(workers: int | None) -> Any:
    from ray.data import ActorPoolStrategy

    return ActorPoolStrategy(min_size=1, max_size=workers) if workers else ActorPoolStrategy(min_size=1)


def sources_dataset(sources: Sequence[Source], workers: int | None = None) -> ray.data.Dataset:
    """A Dataset of the logs to read, in blocks small enough that every actor gets work."""
    import pyarrow as pa
    import ray

    table = pa.table({
        "name": pa.array([s.name for s in sources], pa.string()),
        "path": pa.array([s.path for s in sources], pa.string()),
        "mtime": pa.array([s.mtime for s in sources], pa.timestamp("us", tz="UTC")),
    })
    resources: Any = ray.cluster_resources  # typed differently across Ray versions
    cpus = int(workers or resources().get("CPU", 1))
    rows = max(1, min(BLOCK_ROWS, len(sources) // max(1, 4 * cpus)))
    blocks = [table.slice(i, rows) for i in range(0, len(sources), rows)] or [table]
    return ray.data.from_arrow(blocks)


def classify_sources(sources: Sequence[Source], *, rules: RulePack | None = None, workers: int | None = None,
                     input_format: str = "auto", redact: tuple[bool, bool] = (True, False)) -> ray.data.Dataset:
    """One result row per source (a lazy Dataset). `workers`: the most actors (None: as many as the cluster's CPUs
    allow); Ray must be initialised (ray.init)."""
    return sources_dataset(sources, workers).map_batches(
        ClassifyLogs, fn_constructor_kwargs={"rules": rules or RulePack(), "input_format": input_format,
                                             "redact": redact},
        batch_size=BATCH, batch_format="pyarrow", compute=_actors(workers))


def classify_files(paths: Sequence[str], **options: Any) -> ray.data.Dataset:
    """`classify_sources` of the logs under these paths and URIs (folders listed as `logclassify -j` lists them)."""
    from logclassify.fleet.sources import list_sources

    def fail(message: str) -> None:
        raise ValueError(message)

    return classify_sources(list_sources(paths, notice=lambda _m: None, failed=fail), **options)


def classify_texts(ds: ray.data.Dataset, *, text_column: str = "text", source_column: str | None = None,
                   rules: RulePack | None = None, workers: int | None = None, input_format: str = "auto",
                   redact: tuple[bool, bool] = (True, False)) -> ray.data.Dataset:
    """One result row per row of `ds`: its `text_column` classified (a Markdown issue body is read as one, with
    input_format auto), named by `source_column`."""
    return ds.map_batches(
        ClassifyLogs, fn_constructor_kwargs={"rules": rules or RulePack(), "input_format": input_format,
                                             "redact": redact, "text_column": text_column,
                                             "source_column": source_column},
        batch_size=BATCH, batch_format="pyarrow", compute=_actors(workers))


def iter_rows(ds: ray.data.Dataset) -> Iterator[dict[str, Any]]:
    """The rows of a result Dataset on the driver, as they come (in input order: run() asks Ray to keep it)."""
    batches: Any = ds.iter_batches(batch_format="pyarrow", batch_size=None)
    for table in batches:
        yield from table.to_pylist()


def connect(address: str = "local", quiet: bool = True, num_cpus: int | None = None) -> bool:
    """Start Ray in local mode (`local`, with `num_cpus` CPUs: all by default) or join a cluster (`auto`,
    `ray://host:10001`, `host:6379`); True when this call started or joined it (the caller shuts it down). Rows
    keep input order; Ray's progress bars and info logs are shown unless quiet."""
    import ray
    from ray.data import DataContext

    started = False
    if quiet:
        logging.getLogger("ray.data").setLevel(logging.WARNING)
    if not ray.is_initialized():
        local = address == "local"
        ray.init(address=None if local else address, num_cpus=num_cpus if local else None, include_dashboard=False,
                 log_to_driver=not quiet, logging_level=logging.WARNING if quiet else logging.INFO)
        started = True
    context = DataContext.get_current()
    context.execution_options.preserve_order = True  # rows in input order, as the scan command gives them
    context.enable_progress_bars = not quiet
    return started
