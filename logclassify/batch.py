"""Many inputs: expand directories, classify in N worker processes, keep input order, show progress, summarise.

    logclassify -j 8 logs/            every .log, .txt and .gz under logs/, 8 processes
    logclassify -j 0 *.log            one process per CPU

Reports come back in input order whatever the number of workers, so output is the same for any `-j`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from logclassify.engine.classifier import Classifier
    from logclassify.models import Report

LOG_SUFFIXES = (".log", ".txt", ".gz")


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Files as given; a directory becomes its .log/.txt/.gz files, recursively, in sorted order."""
    out: list[str] = []
    for name in inputs:
        if name != "-" and os.path.isdir(name):
            for root, dirs, files in os.walk(name):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(LOG_SUFFIXES))
        else:
            out.append(name)
    return out


# -- progress --------------------------------------------------------------------------------------------------


def progress_wanted(fmt: str, quiet: bool, stream: TextIO | None = None) -> bool:
    """A bar only for a person watching: stderr is a terminal, not --quiet, not JSON, not CI."""
    stream = stream or sys.stderr
    if quiet or fmt in ("json", "jsonl") or os.environ.get("CI"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


class Progress:
    """`[#####.....] 12/40 files  3.1 files/s` or `[###......] 310.2 MB/1.0 GB  410.0 MB/s` on one stderr line."""

    def __init__(self, total: int, unit: str = "files", stream: TextIO | None = None, min_interval: float = 0.1):
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.last = 0.0
        self.min_interval = min_interval
        self.shown = False

    def update(self, done: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.min_interval:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        frac = min(1.0, done / self.total) if self.total else 0.0
        bar = "#" * int(frac * 24)
        if self.unit == "bytes":
            text = f"{_human_bytes(done)}/{_human_bytes(self.total)}  {_human_bytes(rate)}/s"
        else:
            text = f"{int(done)}/{self.total} {self.unit}  {rate:.1f} {self.unit}/s"
        self.stream.write(f"\r[{bar:<24}] {text}\x1b[K")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


# -- classification ----------------------------------------------------------------------------------------------

def classify_one(
    classifier: Classifier,
    name: str,
    input_format: str,
    on_bytes: Callable[[int], None] | None = None,
    redact: tuple[bool, bool] = (False, False),
) -> tuple[Report, str | None]:
    """One input's report, and the error message when it could not be read (the report then says so).
    `redact`: Classifier.classify's redact and redact_hosts, applied before evidence lines are cut."""
    from logclassify.read.sources import InputError

    try:
        report = classifier.classify_path(
            name, input_format=input_format, on_bytes=on_bytes,  # type: ignore[arg-type]
            redact=redact[0], redact_hosts=redact[1],
        )
        return report, None
    except InputError as exc:
        from logclassify.models import Report

        return Report(source=name, error=str(exc).split(": ", 1)[-1]), str(exc)


_WORKER: tuple[Classifier, str, tuple[bool, bool]] | None = None  # set in each worker by `_init_worker`, never in the parent


def _init_worker(
    classifier: Classifier | None, rule_dirs: Sequence[str], builtin: bool, input_format: str, redact: tuple[bool, bool]
) -> None:
    """The pool's initialiser. A forked worker is handed the parent's classifier (inherited, not pickled); a spawned
    one gets None and loads the rules itself."""
    global _WORKER
    if classifier is None:
        from logclassify.engine.classifier import Classifier, load_rules

        classifier = Classifier(load_rules(*rule_dirs, builtin=builtin))
    _WORKER = (classifier, input_format, redact)


def _one(name: str) -> tuple[Report, str | None]:
    assert _WORKER is not None, "_one runs in a pool worker started by classify_many"
    classifier, input_format, redact = _WORKER
    return classify_one(classifier, name, input_format, redact=redact)


def classify_many(
    classifier: Classifier,
    names: Sequence[str],
    *,
    jobs: int = 1,
    input_format: str = "auto",
    rule_dirs: Sequence[str] = (),
    builtin: bool = True,
    on_progress: Callable[[int], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    redact: bool = False,
    redact_hosts: bool = False,
) -> Iterator[tuple[Report, str | None]]:
    """(report, error message or None) per input, in input order, from `jobs` processes (0: one per CPU).
    `on_progress(i)`: inputs done so far; `on_bytes(n)`: bytes of the current input scanned (in one process);
    `redact` / `redact_hosts` as in `Classifier.classify`."""
    jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    jobs = min(jobs, len(names))
    if jobs <= 1 or "-" in names:
        for i, name in enumerate(names, 1):
            yield classify_one(classifier, name, input_format, on_bytes, (redact, redact_hosts))
            if on_progress:
                on_progress(i)
        return
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    inherited = classifier if ctx.get_start_method() == "fork" else None  # no rule loading in forked workers
    init = (inherited, tuple(rule_dirs), builtin, input_format, (redact, redact_hosts))
    with ctx.Pool(jobs, initializer=_init_worker, initargs=init) as pool:
        chunk = max(1, min(16, len(names) // (jobs * 8)))
        for i, item in enumerate(pool.imap(_one, names, chunksize=chunk), 1):
            yield item
            if on_progress:
                on_progress(i)


def summary(reports: Iterable[Report]) -> str:
    """How many inputs showed each cause, most frequent first; then the clean and unreadable ones."""
    counts: Counter[str] = Counter()
    n = clean = errors = 0
    for r in reports:
        n += 1
        if r.error is not None:
            errors += 1
            continue
        ids = {d.id for d in r.diagnoses}
        if not ids:
            clean += 1
        counts.update(ids)
    lines = [f"Summary: {n} input{'s' if n != 1 else ''}"]
    width = max((len(k) for k in counts), default=0)
    for cause, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {cause:<{width}}  {c}")
    if clean:
        lines.append(f"  no cause found: {clean}")
    if errors:
        lines.append(f"  unreadable: {errors}")
    return "\n".join(lines) + "\n"


def file_sizes(names: Sequence[str]) -> int:
    total = 0
    for n in names:
        with contextlib.suppress(OSError):
            total += os.path.getsize(n) if n != "-" else 0
    return total
