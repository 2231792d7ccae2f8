#!/usr/bin/env python3
"""Candidate multi-pattern backends on the same log and the same literal set (the table in bench/README.md).

    python bench/backends.py LOG [--mb-slow 4]

The literal set is what the scanner searches for: every trigger literal of the built-in rules, failure words, fact
and phase markers. Slow candidates run on the first --mb-slow MB only and are scaled to the whole file. Optional
packages that are not installed are skipped (pip install pyahocorasick ahocorasick-rs hyperscan numpy).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

GREP = ("Traceback|NCCL error|not supported for now|Failed to infer device type|CUDA out of memory|graph.replay|"
        "bootstrapping phase|failed to be inspected|DistNetworkError|CUDA was previously initialized")


def timed(f: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("log", type=Path)
    ap.add_argument("--mb-slow", type=float, default=4)
    a = ap.parse_args()
    from logclassify.engine.classifier import Classifier

    sc = Classifier().scanner
    plan = sc.plan
    exact = sorted({lit.encode() for i in plan.anchors for lit in plan.triggers[i].literals} | set(plan.markers))
    data = a.log.read_bytes()
    gb = len(data) / (1 << 30)
    small = data[: int(a.mb_slow * (1 << 20))]
    small = small[: small.rfind(b"\n") + 1]
    scale = len(data) / len(small)
    chunks = [data[o : o + (4 << 20)] for o in range(0, len(data), 4 << 20)]
    rows: list[tuple[str, float]] = []

    def add(name: str, seconds: float) -> None:
        rows.append((name, seconds / gb))
        print(f"{name:<62} {seconds / gb:8.2f} s/GB", flush=True)

    print(f"{len(exact)} literals, {len(data) / 1e6:.0f} MB")
    add("grep -c -E (10 patterns of the issue)",
        timed(lambda: subprocess.run(["grep", "-c", "-E", GREP, str(a.log)], capture_output=True)))
    add("wc -l", timed(lambda: subprocess.run(["wc", "-l", str(a.log)], capture_output=True)))
    add("bytes.count(b'\\n')", timed(lambda: [c.count(b"\n") for c in chunks]))
    try:
        import numpy as np

        add("numpy count_nonzero(== 10)", timed(lambda: [int(np.count_nonzero(np.frombuffer(c, np.uint8) == 10))
                                                         for c in chunks]))
    except ImportError:
        pass
    pat = re.compile(b"|".join(re.escape(x) for x in sorted(exact, key=len, reverse=True)))
    add(f"re alternation (old prefilter; on {a.mb_slow:g} MB, scaled)",
        timed(lambda: sum(1 for _ in pat.finditer(small))) * scale)
    try:
        import regex

        rpat = regex.compile(b"|".join(regex.escape(x) for x in exact))
        add(f"regex alternation (on {a.mb_slow:g} MB, scaled)",
            timed(lambda: sum(1 for _ in rpat.finditer(small))) * scale)
    except ImportError:
        pass
    add(f"bytes.find per literal (on {a.mb_slow:g} MB, scaled)",
        timed(lambda: [small.find(x) for x in exact]) * scale)
    try:
        import ahocorasick  # type: ignore[import-not-found]

        auto = ahocorasick.Automaton()
        for i, x in enumerate(exact):
            auto.add_word(x.decode("latin-1"), i)
        auto.make_automaton()
        text = small.decode("latin-1")
        add(f"pyahocorasick (str; on {a.mb_slow:g} MB, scaled)", timed(lambda: sum(1 for _ in auto.iter(text))) * scale)
    except ImportError:
        pass
    try:
        import ahocorasick_rs

        ac = ahocorasick_rs.BytesAhoCorasick(exact)
        add("ahocorasick-rs (bytes)", timed(lambda: [ac.find_matches_as_indexes(c) for c in chunks]))
    except ImportError:
        pass
    try:
        hs = sc.hyperscan()
        if hs is not None:
            add("hyperscan, literals (4 MB blocks)", timed(lambda: [hs.lit_db.scan(c, match_event_handler=lambda *x: None)
                                                                   for c in chunks]))
            add("hyperscan, rule regexes as prefilters + markers (used)",
                timed(lambda: [hs.rx_db.scan(c, match_event_handler=lambda *x: None) for c in chunks]))
    except ImportError:
        pass
    from logclassify.read.sources import chunks_from

    add("whole scan, one process (Scanner.select)", timed(lambda: sc.select(chunks_from(data))))
    sel = sc.select_file(a.log)
    if sel is not None:
        add("whole scan, parallel byte ranges (Scanner.select_file)", timed(lambda: sc.select_file(a.log)))


if __name__ == "__main__":
    main()
