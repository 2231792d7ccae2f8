"""Small logs per CPU-second in one process: the per-file cost of batch classification (issue 12, section 3).

    python bench/perlog.py                       # fixtures/ and the shared corpus, 5 timed rounds, the median
    python bench/perlog.py --rounds 3 --profile 30   # and the 30 most expensive functions (cProfile, own time)
    python bench/perlog.py --dump /tmp/after     # also one JSON report per log, to compare two versions with diff -r
    python bench/perlog.py --against /tmp/base --rounds 9   # paired rounds: this checkout's code against another's

One `Classifier` is built once, every log is classified once as a warm-up (Hyperscan databases and lazy regexes
compiled), then each round classifies every log again with `classify_path`, as `logclassify -j N` does in a worker
(redacted, as the command's reports are unless `--no-redact`; `--no-redact` here too leaves that out).
The figure is logs per CPU-second of this process (`time.process_time`, so another process's load does not count,
though a shared core's slower units still do); the median of the rounds is printed with min and max.

`--against DIR` (a checkout of other code, e.g. `git archive BASE | tar -x -C DIR`) times both in two long-lived
worker processes, each with its own classifier warmed up, one round each in turn (A B A B ...), and prints both
rates and the median of the paired ratios: on a machine whose speed drifts (other jobs on shared cores), the pair
ratio is the figure to quote.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = (".log", ".md", ".jsonl", ".txt")
DEFAULT_FOLDERS = (ROOT / "fixtures", ROOT.parent / "shared" / "corpus")


def logs_in(folders: list[Path]) -> list[Path]:
    """Every log below the folders (by suffix), sorted within each folder; a missing folder is named and skipped."""
    out: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            print(f"perlog: {folder} is not a folder, skipped", file=sys.stderr)
            continue
        out += sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES)
                      and p.name not in ("README.md", "cases.jsonl"))
    return out


def one_round(classifier: object, logs: list[Path], redact: bool) -> float:
    from logclassify.engine.classifier import Classifier

    assert isinstance(classifier, Classifier)
    start = time.process_time()
    for path in logs:
        classifier.classify_path(path, redact=redact)
    return time.process_time() - start


def worker(folders: list[Path], redact: bool) -> int:
    """`--worker`: warm up, then one round per line read on stdin, its CPU seconds printed on stdout."""
    from logclassify.engine.classifier import Classifier

    logs = logs_in(folders)
    classifier = Classifier()
    one_round(classifier, logs, redact)
    print(len(logs), flush=True)
    for _ in sys.stdin:
        print(one_round(classifier, logs, redact), flush=True)
    return 0


def paired(folders: list[Path], other: Path, rounds: int, redact: bool) -> int:
    """This checkout's code (A) against `other`'s (B), a round each in turn."""
    def start(root: Path) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": str(root)}
        cmd = [sys.executable, __file__, "--worker", *(() if redact else ("--no-redact",)), *map(str, folders)]
        return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=root)

    procs = [start(ROOT), start(other.resolve())]
    assert all(p.stdout is not None and p.stdin is not None for p in procs)
    counts = {int(p.stdout.readline()) for p in procs}  # type: ignore[union-attr]
    if len(counts) != 1:
        sys.exit(f"perlog: the two workers found different logs: {counts}")
    n = counts.pop()
    rates: list[list[float]] = [[], []]
    for _ in range(rounds):
        for k, p in enumerate(procs):
            p.stdin.write("round\n")  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]
            rates[k].append(n / float(p.stdout.readline()))  # type: ignore[union-attr]
    for p in procs:
        p.stdin.close()  # type: ignore[union-attr]
        p.wait()
    ratio = statistics.median(a / b for a, b in zip(*rates, strict=True))
    for label, r in (("A (this checkout)", rates[0]), (f"B ({other})", rates[1])):
        print(f"{label}: median {statistics.median(r):.0f} logs per CPU-second (min {min(r):.0f}, max {max(r):.0f})")
    print(f"A/B, median of {rounds} paired rounds over {n} logs: {ratio:.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="*", type=Path, help="folders of logs (default: fixtures/ and ../shared/corpus)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--profile", type=int, metavar="N", default=0, help="print the N functions with most own time")
    ap.add_argument("--dump", type=Path, metavar="DIR", help="write each log's JSON report under DIR")
    ap.add_argument("--against", type=Path, metavar="DIR", help="time another checkout's code too, paired rounds")
    ap.add_argument("--no-redact", action="store_true", help="leave redaction out, as `logclassify --no-redact`")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    folders = [f.resolve() for f in args.folders] or list(DEFAULT_FOLDERS)
    if args.worker:
        return worker(folders, not args.no_redact)
    if args.against:
        return paired(folders, args.against, args.rounds, not args.no_redact)

    from logclassify.engine.classifier import Classifier
    from logclassify.render.jsonout import report_dict

    logs = logs_in(folders)
    if not logs:
        return 1
    start = time.process_time()
    classifier = Classifier()
    built = time.process_time() - start
    start = time.process_time()
    for path in logs:
        report = classifier.classify_path(path, redact=not args.no_redact)
        if args.dump:
            rel = path.relative_to(next(f for f in folders if path.is_relative_to(f)))
            dest = args.dump / path.parts[-len(rel.parts) - 1] / f"{rel}.json"
            dest.parent.mkdir(parents=True, exist_ok=True)
            report.source = str(rel)
            dest.write_text(json.dumps(report_dict(report), indent=1, sort_keys=True) + "\n")
    warm = time.process_time() - start
    size = sum(p.stat().st_size for p in logs)
    print(f"{len(logs)} logs, {size / len(logs) / 1024:.1f} KiB each on average; Classifier built in {built:.2f} s "
          f"CPU, warm-up round {warm:.2f} s CPU")
    times = []
    profiler = cProfile.Profile() if args.profile else None
    for _ in range(args.rounds):
        if profiler:
            profiler.enable()
        times.append(one_round(classifier, logs, not args.no_redact))
        if profiler:
            profiler.disable()
    rates = sorted(len(logs) / t for t in times)
    print(f"logs per CPU-second: median {statistics.median(rates):.0f} (min {rates[0]:.0f}, max {rates[-1]:.0f}; "
          f"{args.rounds} rounds{', under cProfile' if profiler else ''})")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
