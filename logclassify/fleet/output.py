"""Write fleet rows to one Parquet file (needs pyarrow, which Ray brings) or one JSON-lines file, as they come."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from logclassify.fleet.rows import COLUMNS, jsonable

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = {".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class OutputError(Exception):
    """The output cannot be written as asked; the message says why and what to do."""


class RowWriter(Protocol):
    def write(self, rows: Iterable[dict[str, Any]]) -> None: ...

    def close(self) -> None: ...


def output_format(path: str) -> str:
    """`parquet` or `jsonl` from the output file's name; OutputError for any other name."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise OutputError(f"{path}: the output's name must end in .parquet or .jsonl (it says the format)")
    return fmt


def arrow_schema() -> pa.Schema:
    """The Arrow schema of the rows (rows.COLUMNS): nullable strings, doubles, 64-bit ints, lists of strings, UTC
    timestamps in microseconds."""
    import pyarrow as pa

    kinds = {"str": pa.string(), "float": pa.float64(), "int": pa.int64(), "list": pa.list_(pa.string()),
             "time": pa.timestamp("us", tz="UTC")}
    return pa.schema([(name, kinds[kind]) for name, kind in COLUMNS.items()])


def open_writer(path: str) -> RowWriter:
    """A writer for `path` by its suffix; the file is created now, so a bad path fails before any work."""
    fmt = output_format(path)
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise OutputError(f"{path}: writing Parquet needs pyarrow (pip install 'logclassify[ray]', or "
                              "pip install pyarrow); or name a .jsonl output") from None
        return _ParquetWriter(path)
    return _JsonlWriter(path)


class _JsonlWriter:
    def __init__(self, path: str) -> None:
        try:
            self._out = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self._out.write(json.dumps(jsonable(row), ensure_ascii=False, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._out.close()


class _ParquetWriter:
    BATCH = 4096  # rows per row group write

    def __init__(self, path: str) -> None:
        import pyarrow.parquet as pq

        self._schema = arrow_schema()
        try:
            self._writer = pq.ParquetWriter(path, self._schema)
        except OSError as exc:
            raise OutputError(f"{path}: cannot write ({exc})") from None
        self._pending: list[dict[str, Any]] = []

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        self._pending.extend(rows)
        if len(self._pending) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._pending:
            self._writer.write_table(pa.Table.from_pylist(self._pending, schema=self._schema))
            self._pending = []

    def close(self) -> None:
        self._flush()
        self._writer.close()
