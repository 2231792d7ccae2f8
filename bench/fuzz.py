#!/usr/bin/env python3
"""A long fuzz run of the library's API on mutated real logs (issue 10; the result is recorded in docs/limits.md).

    python bench/fuzz.py --count 20000 --seed 1          # prints progress, then one summary line; exit 1 on a failure

Each case takes a fixture or corpus log (or a generated nasty input from tests/adversarial/generate.py), mutates it
(splices of two logs, flipped and inserted bytes, NUL/CR/escape/invalid UTF-8 pieces, a line repeated thousands of
times, a very long line, truncation, Markdown fences around it) and runs `classify` (bytes, str, lines), the
Markdown path and `classify_issue` with redaction. Checked for every case: no exception, `lines` equal to the
input's line count, every evidence line inside the input, the JSON output valid against the result types. A
failing case is written to bench/out/fuzz-<seed>-<n>.bin to reproduce.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from logclassify import Report, classify_issue  # noqa: E402
from logclassify.engine.classifier import Classifier  # noqa: E402
from tests.adversarial import generate  # noqa: E402

PIECES = [b"\x00", b"\r", b"\r\n", b"\xff", b"\xc3", b"\x1b[31m", b"^[[0m", b"#015", b"```\n", b"~~~", b"\t",
          b"Traceback (most recent call last):\n", b"During handling of the above exception, another exception occurred:\n",
          b'  File "x.py", line 1, in f\n', b"ValueError: x\n", b"[rank3]:", b"(VllmWorker rank=1 pid=2) ", b"\n\n\n"]


MAX_CASE_BYTES = 1 << 20  # a case past this is cut: the adversarial suite covers big inputs


def corpus() -> list[bytes]:
    files = [p for d in ("fixtures", "tests/data/corpus", "eval/heldout") for p in sorted((ROOT / d).rglob("*.log"))]
    logs = [p.read_bytes() for p in files]
    logs += [b"".join(generate.KINDS[k](64 << 10)) for k in sorted(generate.KINDS)]
    return logs


def mutate(rng: random.Random, logs: list[bytes]) -> bytes:
    data = bytearray(rng.choice(logs))
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(8)
        pos = rng.randint(0, len(data))
        if op == 0:  # splice another log in
            other = rng.choice(logs)
            a = rng.randint(0, len(other))
            data[pos:pos] = other[a : a + rng.randint(0, 4000)]
        elif op == 1 and data:  # flip bytes
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == 2:
            data[pos:pos] = rng.choice(PIECES) * rng.randint(1, 50)
        elif op == 3:  # one line repeated many times
            start = data.rfind(b"\n", 0, pos) + 1
            end = data.find(b"\n", pos)
            line = bytes(data[start : end + 1 if end >= 0 else len(data)])[:2000] or b"x\n"
            data[pos:pos] = line * rng.randint(100, 20000)
        elif op == 4:  # a long line
            data[pos:pos] = bytes([rng.choice(b"ab \t:/")]) * rng.randint(70_000, 400_000)
        elif op == 5:
            del data[pos:]
        elif op == 6:
            data = bytearray(b"```\n" + data + b"\n```\n")
        else:
            data[pos:pos] = b"\n".join(rng.choice(PIECES) for _ in range(rng.randint(1, 30)))
        del data[MAX_CASE_BYTES:]
    return bytes(data)


def line_count(data: bytes) -> int:
    return data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)


def check(report: Report, lines: int | None) -> None:
    if lines is not None:
        assert report.lines == lines, (report.lines, lines)
    cited = [e.line for d in report.diagnoses for e in d.evidence] + [e.line for u in report.unrecognized for e in u.evidence]
    assert all(1 <= n <= max(report.lines, 1) for n in cited), cited
    assert Report.model_validate_json(report.model_dump_json()) == report


def run_case(clf: Classifier, rng: random.Random, data: bytes) -> None:
    lines = line_count(data)
    check(clf.classify(data, input_format="log"), lines)
    how = rng.randrange(3)
    if how == 0:
        check(clf.classify(data.decode("utf-8", "replace"), input_format="log"), None)
    elif how == 1:
        check(clf.classify(data.decode("utf-8", "replace").splitlines(), input_format="log"), None)
    else:
        check(classify_issue(data.decode("utf-8", "replace")), None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--slow", type=float, default=10.0, help="a case taking longer (seconds) is a failure too")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    logs = corpus()
    clf = Classifier()
    failures = 0
    total_bytes = 0
    start = time.monotonic()
    for n in range(a.count):
        data = mutate(rng, logs)
        total_bytes += len(data)
        began = time.monotonic()
        try:
            run_case(clf, rng, data)
            took = time.monotonic() - began
            assert took <= a.slow, f"case took {took:.1f} s, over --slow {a.slow:g} s ({len(data):,} bytes)"
        except Exception:
            failures += 1
            out = ROOT / "bench" / "out" / f"fuzz-{a.seed}-{n}.bin"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            print(f"case {n}: FAILED, input in {out}\n{traceback.format_exc()}", file=sys.stderr)
        if (n + 1) % 100 == 0:
            print(f"{n + 1} cases, {failures} failures, {time.monotonic() - start:.0f} s", file=sys.stderr)
    print(f"fuzz: {a.count} cases (seed {a.seed}, {len(logs)} seed logs, {total_bytes / 1e6:.0f} MB of input), "
          f"{failures} failures, {time.monotonic() - start:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
