"""Many inputs: expand directories, classify in N worker processes, keep input order, show progress, summarise.

    logclassify -j 8 logs/            every log under logs/ (.log, .out, .err, .txt, .jsonl, rotated, .gz), 8 processes
    logclassify -j 0 *.log            one process per CPU

Reports come back in input order whatever the number of workers, so output is the same for any `-j`.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from logclassify.engine.classifier import Classifier
    from logclassify.models import Report

LOG_EXTENSIONS = (".log", ".txt", ".out", ".err", ".jsonl", ".ndjson")
# what rotation appends: server.log.1, server.log.2.gz, app.log-20240105, app.log.2024-01-05.gz
_ROTATION = re.compile(r"[.-]\d{4}-\d{2}-\d{2}$|[.-]\d+$")
_SHOWN = 5  # skipped names listed per folder
# with several workers, an input that gives no new bytes for this long is stopped (a named pipe nobody writes to);
# reading and scanning report progress every 4 MB, and what follows the scan is bounded (docs/limits.md)
STALL_S = 120.0


def looks_like_log(name: str) -> bool:
    """A log by its name: a log extension, possibly rotated (`.1`, `-20240105`) and gzipped (`.gz`)."""
    base = name[:-3] if name.endswith(".gz") else name
    return _ROTATION.sub("", base).lower().endswith(LOG_EXTENSIONS)


def expand_inputs(
    inputs: Sequence[str], notice: Callable[[str], None] | None = None, failed: Callable[[str], None] | None = None
) -> list[str]:
    """Files as given; a folder becomes the files in it named like logs (`looks_like_log`), recursively, in sorted
    order, files before subfolders. What a folder scan skips is said through `notice`: files not named like logs,
    special files (a named pipe would wait forever for a writer), hidden folders; a folder that cannot be listed
    goes to `failed` (logs in it were not read: the command exits 2), or to `notice` when `failed` is not given."""
    out: list[str] = []
    say = notice or (lambda _message: None)
    for name in inputs:
        if name != "-" and os.path.isdir(name):
            _expand_folder(name, out, say, failed or say)
        else:
            out.append(name)
    return out


def _expand_folder(top: str, out: list[str], say: Callable[[str], None], fail: Callable[[str], None]) -> None:
    not_logs: list[str] = []
    hidden: list[str] = []
    folders = [top]
    while folders:
        folder = folders.pop(0)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            fail(f"{folder}: cannot list this folder ({exc.strerror or exc}); the logs in it were not read")
            continue
        subfolders: list[str] = []
        for entry in entries:
            kind = _kind(entry)
            if kind == "folder":
                (hidden if entry.name.startswith(".") else subfolders).append(entry.path)
            elif kind == "file":
                (out if looks_like_log(entry.name) else not_logs).append(entry.path)
            else:
                say(f"{entry.path}: skipped, not a regular file ({kind})")
        folders[:0] = subfolders  # depth first, in name order, like os.walk
    for what, skipped in (("files not named like logs", not_logs), ("hidden folders", hidden)):
        if skipped:
            shown = ", ".join(os.path.relpath(p, top) for p in skipped[:_SHOWN])
            more = f" and {len(skipped) - _SHOWN} more" if len(skipped) > _SHOWN else ""
            say(f"{top}: skipped {len(skipped)} {what} ({shown}{more}); name a file to read it anyway")


def _kind(entry: os.DirEntry[str]) -> str:
    """folder, file, or what else it is (a named pipe, a socket, a device, a link to nothing)."""
    import stat

    try:
        if entry.is_dir(follow_symlinks=False):
            return "folder"
        mode = entry.stat().st_mode
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "a link to a folder, not followed"
    return {stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device",
            stat.S_IFBLK: "a device"}.get(stat.S_IFMT(mode), "a special file")


# -- progress --------------------------------------------------------------------------------------------------


def progress_wanted(fmt: str, quiet: bool, stream: TextIO | None = None) -> bool:
    """A bar only for a person watching: stderr is a terminal that can redraw a line (not TERM=dumb), not --quiet,
    not JSON, not CI."""
    stream = stream or sys.stderr
    if quiet or fmt in ("json", "jsonl") or os.environ.get("CI") or os.environ.get("TERM") == "dumb":
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
    """`[#####.....] 12/40 files  3.1 files/s` or `[###......] 310.2 MB/1.0 GB  410.0 MB/s` on one stderr line.

    Drawn only once the work has taken `delay` seconds: a small or fast input finishes without a flash of a bar."""

    DELAY = 1.0

    def __init__(self, total: int, unit: str = "files", stream: TextIO | None = None, min_interval: float = 0.1,
                 delay: float = DELAY):
        self.total = total
        self.delay = delay
        self.unit = unit
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.last = 0.0
        self.min_interval = min_interval
        self.shown = False

    def update(self, done: float, force: bool = False) -> None:
        now = time.monotonic()
        if now - self.start < self.delay or (not force and now - self.last < self.min_interval):
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
    """One input's report, and the error message when it could not be read, or only in part (the report says so).
    `redact`: Classifier.classify's redact and redact_hosts, applied before evidence lines are cut."""
    from logclassify.models import Report
    from logclassify.read.sources import InputError

    try:
        report = classifier.classify_path(
            name, input_format=input_format, on_bytes=on_bytes,  # type: ignore[arg-type]
            redact=redact[0], redact_hosts=redact[1],
        )
    except InputError as exc:
        return Report(source=name, error=str(exc).split(": ", 1)[-1]), str(exc)
    except (OSError, MemoryError, RecursionError) as exc:  # this input's problem: the others still get reports
        return _lost(name, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a bug met on this input: named, and the other inputs still get their reports
        return _lost(name, f"internal error, please report it: {type(exc).__name__}: {exc}")
    return report, (f"{name}: {report.error}" if report.error else None)  # a damaged gzip file: read in part


def _lost(name: str, why: str) -> tuple[Report, str | None]:
    """The report of an input that could not be classified, and its message for stderr."""
    from logclassify.models import Report

    return Report(source=name, error=why), f"{name}: {why}"


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
    from logclassify.pool import heartbeat

    classifier, input_format, redact = _WORKER
    return classify_one(classifier, name, input_format, lambda _n: heartbeat(), redact)  # each chunk read: progress


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
    stall_s: float | None = STALL_S,
) -> Iterator[tuple[Report, str | None]]:
    """(report, error message or None) per input, in input order, from `jobs` processes (0: one per CPU).
    `on_progress(i)`: inputs done so far; `on_bytes(n)`: bytes of the current input scanned (in one process);
    `redact` / `redact_hosts` as in `Classifier.classify`.

    A worker process that dies (the OOM killer, a signal) costs only the input it was reading: that input's report
    carries the error, and a fresh worker goes on with the rest (`logclassify.pool`). So does one that reads no new
    bytes for `stall_s` seconds (None: wait forever): it is killed, and its input reported as not read."""
    jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    jobs = min(jobs, len(names))
    if jobs <= 1 or "-" in names:
        for i, name in enumerate(names, 1):
            yield classify_one(classifier, name, input_format, on_bytes, (redact, redact_hosts))
            if on_progress:
                on_progress(i)
        return
    import multiprocessing

    from logclassify.pool import run_ordered

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    inherited = classifier if ctx.get_start_method() == "fork" else None  # no rule loading in forked workers
    init = (inherited, tuple(rule_dirs), builtin, input_format, (redact, redact_hosts))
    for i, item in enumerate(run_ordered(names, _one, _lost, jobs=jobs, ctx=ctx, init=_init_worker, init_args=init,
                                               stall_s=stall_s), 1):
        yield item
        if on_progress:
            on_progress(i)


def summary(reports: Iterable[Report]) -> str:
    """How many inputs showed each cause, most frequent first; then the clean, partly read and unreadable ones."""
    counts: Counter[str] = Counter()
    n = clean = errors = partly = 0
    for r in reports:
        n += 1
        if r.error is not None and not r.lines:
            errors += 1
            continue
        partly += r.error is not None
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
    if partly:
        lines.append(f"  read in part (damaged): {partly}")
    if errors:
        lines.append(f"  not read (named on stderr): {errors}")
    return "\n".join(lines) + "\n"


def file_sizes(names: Sequence[str]) -> int:
    total = 0
    for n in names:
        with contextlib.suppress(OSError):
            total += os.path.getsize(n) if n != "-" else 0
    return total
