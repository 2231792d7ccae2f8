"""Small logs per CPU-second in one process: the per-file cost of batch classification (issue 12, section 3).

    python bench/perlog.py                       # fixtures/ and the shared corpus, 5 timed rounds, the median
    python bench/perlog.py --rounds 3 --profile 30   # and the 30 most expensive functions (cProfile, own time)
    python bench/perlog.py --dump /tmp/after     # also one JSON report per log, to compare two versions with diff -r

One `Classifier` is built once, every log is classified once as a warm-up (Hyperscan databases and lazy regexes
compiled), then each round classifies every log again with `classify_path`, as `logclassify -j N` does in a worker.
The figure is logs per CPU-second of this process (`time.process_time`, so another process's load does not count,
though a shared core's slower units still do); the median of the rounds is printed with min and max.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
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
                      and p.name != "README.md")
    return out


def one_round(classifier: object, logs: list[Path]) -> float:
    from logclassify.engine.classifier import Classifier

    assert isinstance(classifier, Classifier)
    start = time.process_time()
    for path in logs:
        classifier.classify_path(path)
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="*", type=Path, help="folders of logs (default: fixtures/ and ../shared/corpus)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--profile", type=int, metavar="N", default=0, help="print the N functions with most own time")
    ap.add_argument("--dump", type=Path, metavar="DIR", help="write each log's JSON report under DIR")
    args = ap.parse_args(argv)

    from logclassify.engine.classifier import Classifier
    from logclassify.render.jsonout import report_dict

    logs = logs_in(args.folders or list(DEFAULT_FOLDERS))
    if not logs:
        return 1
    start = time.process_time()
    classifier = Classifier()
    built = time.process_time() - start
    start = time.process_time()
    for path in logs:
        report = classifier.classify_path(path)
        if args.dump:
            rel = path.relative_to(next(f for f in (args.folders or DEFAULT_FOLDERS) if path.is_relative_to(f)))
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
        times.append(one_round(classifier, logs))
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
