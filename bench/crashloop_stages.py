"""Where a stream scan of one log spends its CPU time, stage by stage (issue 10's crash-loop profile):

    python tests/adversarial/generate.py repeated /tmp/rep32.log --mb 32
    python bench/crashloop_stages.py /tmp/rep32.log [--runs 5]

Reads the log into memory, then scans it as the command scans a stream (`Scanner.select` over `iter_chunks`)
`--runs` times after one warm-up and prints the fastest run's process CPU time for the selection and for
classifying what it kept, and the CPU time inside each stage of that run (inclusive: `repeats.feed` holds
`_shape_ids`, `_windows` and the rest; `ScanState._feed` holds all of them and Hyperscan). Timers wrap the
functions, so a stage called often (none of these is, per line) costs a little more than without them.
"""

from __future__ import annotations

import argparse
import collections
import io
import sys
import time
from collections.abc import Callable
from typing import Any

from logclassify.engine.classifier import Classifier
from logclassify.read.sources import iter_chunks
from logclassify.select import hyperscan_db, repeats, state

SPENT: collections.Counter[str] = collections.Counter()


def _timed(owner: Any, name: str, label: str) -> None:
    real: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            SPENT[label] += time.process_time() - t

    setattr(owner, name, wrapper)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    for name in ("feed", "_shape_ids", "_windows", "_header_windows", "_to_ring", "_markers", "_line_starts"):
        _timed(repeats, name, f"repeats.{name}")
    _timed(state.ScanState, "_feed", "ScanState._feed")
    _timed(state.ScanState, "_hand_over", "ScanState._hand_over")
    _timed(state.ScanState, "finish", "ScanState.finish (normalising the kept lines)")
    _timed(hyperscan_db.HyperscanDatabases, "scan", "Hyperscan scan")
    with open(args.log, "rb") as f:
        data = f.read()
    clf = Classifier()
    best: tuple[float, float, dict[str, float]] | None = None
    for run in range(args.runs + 1):
        SPENT.clear()
        t = time.process_time()
        sel = clf.scanner.select(iter_chunks(io.BytesIO(data)))
        scan = time.process_time() - t
        t = time.process_time()
        clf.classify_selection(sel, source=args.log)
        classify = time.process_time() - t
        if run and (best is None or scan < best[0]):
            best = (scan, classify, dict(SPENT))
    assert best is not None
    print(f"select {best[0]:.3f} s CPU, classify_selection {best[1]:.3f} s (fastest of {args.runs})")
    for label, spent in sorted(best[2].items(), key=lambda kv: -kv[1]):
        print(f"  {label:50} {spent:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
