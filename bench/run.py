#!/usr/bin/env python3
"""logclassify's speed and scale benchmark (issue 4): prints each figure, its target, and pass/fail.

    python bench/run.py                 # 1 GB logs, 3 runs each (about 10 minutes, 2.5 GB of temp space)
    python bench/run.py --mb 200        # quicker, smaller logs
    python bench/run.py --only startup,jobs

Logs are made by make_log.py (../shared/bench/make_log.py, or --make-log PATH) in a temporary folder (--tmp) that is
removed at the end. Ratios compare runs made in the same invocation, interleaved, and report medians. Run it on an
otherwise idle machine: the ratios to grep and wc assume both get the same CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pty
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GREP = ("Traceback|NCCL error|not supported for now|Failed to infer device type|CUDA out of memory|graph.replay|"
        "bootstrapping phase|failed to be inspected|DistNetworkError|CUDA was previously initialized")
ROWS: list[tuple[str, str, str, str]] = []  # figure, value, target, ok


def lc_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("logclassify")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "logclassify"]


def row(figure: str, value: str, target: str, ok: bool | None) -> None:
    ROWS.append((figure, value, target, "-" if ok is None else ("pass" if ok else "FAIL")))
    print(f"  {figure}: {value}  (target {target}) {ROWS[-1][3]}", flush=True)


# -- measuring ------------------------------------------------------------------------------------------------------


def _mem_kb(pid: int) -> int:
    """Proportional set size (shared pages split between the processes sharing them: forked workers share the
    parent's), or the resident set size where smaps_rollup is missing."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def _tree_rss_kb(root: int) -> int:
    """Memory (PSS) of a process and all its descendants (Linux /proc), in KB."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += _mem_kb(p)
        todo.extend(children.get(p, ()))
    return total


def run(cmd: Sequence[str] | str, *, stdin_file: Path | None = None, shell: bool = False,
        measure_rss: bool = False, env: dict[str, str] | None = None) -> tuple[float, int, bytes]:
    """(wall seconds, peak RSS of the process tree in KB or 0, stdout)."""
    stdin = open(stdin_file, "rb") if stdin_file else subprocess.DEVNULL  # noqa: SIM115
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, shell=shell, env=env)
    peak = [0]
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(p.stdout.read() if p.stdout else b""))
    reader.start()
    if measure_rss:
        while p.poll() is None:
            peak[0] = max(peak[0], _tree_rss_kb(p.pid))
            time.sleep(0.01)
    p.wait()
    reader.join()
    wall = time.perf_counter() - t0
    if stdin_file:
        stdin.close()  # type: ignore[union-attr]
    return wall, peak[0], out[0] if out else b""


def timer(cmd: Sequence[str], env: dict[str, str] | None = None) -> Callable[[], float]:
    return lambda: run(cmd, env=env)[0]


def cpu_timer(cmd: Sequence[str] | str, shell: bool = False) -> Callable[[], float]:
    """CPU seconds (user + system) of the command and every process it waited for: what a fleet pays for."""

    def measure() -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run(cmd, shell=shell)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    return measure


def medians(cmds: dict[str, Callable[[], float]], runs: int) -> dict[str, float]:
    """Each command `runs` times, interleaved (so slow phases of a shared machine hit all alike); medians."""
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for k, f in cmds.items():
            times[k].append(f())
    return {k: statistics.median(v) for k, v in times.items()}


def ids_of(out: bytes) -> list[str]:
    data = json.loads(out)
    reports = data if isinstance(data, list) else [data]
    return sorted({d["id"].split(".")[0] for r in reports for d in r["diagnoses"]})


# -- inputs ---------------------------------------------------------------------------------------------------------


def make_log(make: Path, out: Path, mb: float, journald: bool) -> list[str]:
    args = [sys.executable, str(make), str(out), "--mb", str(mb)] + (["--journald"] if journald else [])
    subprocess.run(args, check=True)
    return sorted(json.loads(Path(str(out) + ".expected.json").read_text()))


def synthetic_rules(folder: Path, n: int = 500, seed: int = 4) -> None:
    """n rules in the shape of real ones (a regex with a distinctive literal and a capture, an exception
    condition, a proximity group), none of which matches the benchmark logs."""
    rng = random.Random(seed)
    words = ["alpha", "bravo", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "iris", "jasper", "kelvin",
             "lumen", "mortar", "nectar", "onyx", "pylon", "quartz", "raven", "sierra", "tundra", "umbra", "vortex"]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        a, b, c = rng.sample(words, 3)
        kind = i % 3
        if kind == 0:
            match = f"""  regex: '{a.title()}{b.title()}Error: {c} (?P<what>\\w+) failed after \\d+ retries'"""
        elif kind == 1:
            match = f"""  exception: {{type: '{a.title()}{c.title()}Error', message: '{b} quota of \\d+ exceeded'}}"""
        else:
            match = f"""  all:
    - contains: '{a}-{b} handshake refused by {c}'
    - regex: 'synthetic-{i}: (?P<node>[\\w.-]+) unreachable'
  within: 20"""
        (folder / f"synthetic-{i:03d}.yaml").write_text(f"""id: synthetic-rule-{i:03d}
title: Synthetic benchmark rule {i}
severity: error
cause: A made-up failure used to measure how the scan scales with the number of rules.
fix:
  - Nothing to fix; this rule exists for the benchmark.
match:
{match}
""")


def small_log(make: Path, out: Path) -> None:
    tmp = out.with_suffix(".full")
    make_log(make, tmp, 0.2, False)
    lines = tmp.read_text().splitlines(keepends=True)
    tb = next(i for i, ln in enumerate(lines) if ln.startswith("ERROR"))  # the NCCL failure, with its traceback
    keep = lines[:280] + lines[tb : tb + 20]
    out.write_text("".join(keep[:300]))


# -- the figures ----------------------------------------------------------------------------------------------------


def bench_throughput(tmp: Path, make: Path, mb: float, runs: int, lc: list[str]) -> Path | None:
    big_plain: Path | None = None
    for journald in (False, True):
        name = "journald" if journald else "plain"
        big = tmp / f"big-{name}.log"
        print(f"making a {mb:g} MB {name} log ...", flush=True)
        expected = make_log(make, big, mb, journald)
        # warm the page cache and the rule caches
        run(["cat", str(big)], shell=False)
        _, _, out = run([*lc, "--format", "json", str(big)])
        got = ids_of(out)
        row(f"{name}: causes found", ", ".join(got), "= " + ", ".join(expected), got == expected)
        m = medians({
            "lc": timer([*lc, "--format", "json", str(big)]),
            "grep": timer(["grep", "-c", "-E", GREP, str(big)]),
            "wc": timer(["wc", "-l", str(big)]),
        }, runs)
        row(f"{name}: logclassify --format json, s (median of {runs})", f"{m['lc']:.2f}", "-", None)
        row(f"{name}: grep -c -E, s", f"{m['grep']:.2f}", "-", None)
        row(f"{name}: wc -l, s", f"{m['wc']:.2f}", "-", None)
        row(f"{name}: logclassify / grep", f"{m['lc'] / m['grep']:.2f}", "<= 1.0", m["lc"] <= m["grep"])
        row(f"{name}: logclassify / wc -l", f"{m['lc'] / m['wc']:.2f}", "(report)", None)
        c = medians({"lc": cpu_timer([*lc, "--format", "json", str(big)]),
                     "grep": cpu_timer(["grep", "-c", "-E", GREP, str(big)])}, runs)
        row(f"{name}: CPU, logclassify / grep", f"{c['lc'] / c['grep']:.2f} ({c['lc']:.2f} s / {c['grep']:.2f} s)",
            "<= 1.0", c["lc"] <= c["grep"])
        if journald:
            big.unlink()
            Path(str(big) + ".expected.json").unlink()
        else:
            big_plain = big
    return big_plain


def bench_crashloop(tmp: Path, mb: float, runs: int, lc: list[str]) -> None:
    """Crash loops (tests/adversarial/generate.py): the same OOM traceback over and over, and 8 ranks interleaving
    theirs; time and CPU against grep, peak memory."""
    sys.path.insert(0, str(ROOT))
    from tests.adversarial import generate

    for kind in ("repeated", "ranks"):
        log = tmp / f"{kind}.log"
        generate.write(kind, log, int(mb * (1 << 20)))
        grep = ["grep", "-c", "-E", GREP, str(log)]
        cmd = [*lc, "--format", "json", str(log)]
        m = medians({"lc": timer(cmd), "grep": timer(grep)}, runs)
        c = medians({"lc": cpu_timer(cmd), "grep": cpu_timer(grep)}, runs)
        row(f"crash loop ({kind}, {mb:g} MB): wall, logclassify / grep",
            f"{m['lc'] / m['grep']:.1f} ({m['lc']:.2f} s / {m['grep']:.2f} s)", "<= 1.0", m["lc"] <= m["grep"])
        row(f"crash loop ({kind}): CPU, logclassify / grep",
            f"{c['lc'] / c['grep']:.1f} ({c['lc']:.2f} s / {c['grep']:.2f} s)", "<= 1.0", c["lc"] <= c["grep"])
        _, rss, _ = run(cmd, measure_rss=True)
        row(f"crash loop ({kind}): peak memory (PSS, all processes), MB", f"{rss / 1024:.0f}", "<= 150",
            rss <= 150 * 1024)
        log.unlink()


def bench_rules(tmp: Path, big: Path, runs: int, lc: list[str]) -> None:
    rules = tmp / "rules500"
    synthetic_rules(rules)
    base = [*lc, "--format", "json", str(big)]
    more = [*lc, "--format", "json", "--rules", str(rules), str(big)]
    t_cold, _, _ = run(more)  # first run: validates the 500 files, compiles and caches them
    row("500 extra rules: first run (rules compiled and cached), s", f"{t_cold:.2f}", "-", None)
    m = medians({"base": timer(base), "more": timer(more)}, runs)
    row("500 extra rules: scan / built-in only", f"{m['more'] / m['base']:.2f}", "<= 1.3", m["more"] <= 1.3 * m["base"])


def bench_memory(big: Path, lc: list[str]) -> None:
    _, rss, _ = run([*lc, "--format", "json", str(big)], measure_rss=True)
    row("peak memory (PSS, all processes), file, MB", f"{rss / 1024:.0f}", "<= 150", rss <= 150 * 1024)
    _, rss, _ = run([*lc, "--format", "json", "-"], stdin_file=big, measure_rss=True)
    row("peak memory (PSS), stdin, MB", f"{rss / 1024:.0f}", "<= 150", rss <= 150 * 1024)
    t, _, out = run(f"cat {big} | {' '.join(lc)} --format json -", shell=True)
    row("stdin (cat | logclassify -): same causes, s", f"{t:.2f} ({', '.join(ids_of(out))})", "-", None)


def bench_startup(tmp: Path, make: Path, lc: list[str]) -> None:
    small = tmp / "small.log"
    small_log(make, small)
    run([*lc, str(small)])  # fill the caches
    m = medians({"small": timer([*lc, str(small)])}, 11)
    row("start-up: logclassify small.log (300 lines), ms", f"{m['small'] * 1000:.0f}", "<= 150",
        m["small"] <= 0.150)
    # An installed wheel has its modules compiled to .pyc; an editable install under PYTHONDONTWRITEBYTECODE=1
    # (as here, possibly) compiles them from source in every process. Measure that case too, with the .pyc
    # files written once into a temporary folder.
    pyc = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp / "pyc")}
    pyc.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([*lc, str(small)], env=pyc, capture_output=True, check=False)
    m = medians({"small": timer([*lc, str(small)], env=pyc)}, 11)
    row("start-up, with .pyc files (a normal install), ms", f"{m['small'] * 1000:.0f}", "<= 150",
        m["small"] <= 0.150)
    code = f"""
import time, statistics
from logclassify.engine.classifier import Classifier
c = Classifier()
text = open({str(small)!r}).read()
c.classify(text)
ts = []
for _ in range(200):
    t = time.perf_counter(); c.classify(text); ts.append(time.perf_counter() - t)
print(statistics.median(ts))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    ms = float(out.strip()) * 1000
    row("Classifier.classify() on it, in-process, ms (median of 200)", f"{ms:.2f}", "<= 2", ms <= 2)


def bench_jobs(tmp: Path, lc: list[str], copies: int) -> None:
    corpus = ROOT.parent / "shared" / "corpus"
    files = sorted(corpus.glob("*.log"))
    if not files:
        row("-j: corpus", "not found", str(corpus), None)
        return
    many = tmp / "many"
    for i in range(copies):
        d = many / f"copy{i:03d}"
        d.mkdir(parents=True)
        for f in files:
            shutil.copyfile(f, d / f.name)
    n = len(files) * copies
    rates = {}
    for j in (1, 2):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t, _, out = run([*lc, "-j", str(j), "--format", "jsonl", str(many)])
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        lines = out.count(b"\n")
        rates[j] = n / t
        row(f"-j {j}: {n} files ({copies}x corpus), files/s", f"{rates[j]:.0f}", "(report)", lines == n)
        row(f"-j {j}: files per CPU-second (per core)", f"{n / cpu:.0f}", ">= 2000", n / cpu >= 2000)
    shutil.rmtree(many)


def bench_progress(tmp: Path, lc: list[str]) -> None:
    log = tmp / "p.log"
    log.write_text("INFO 11-24 10:00:00 [loggers.py:123] hello\n" * 200000)
    cmd = [*lc, "--format", "text", str(log)]

    def on_tty(extra: list[str]) -> bytes:
        master, slave = pty.openpty()
        p = subprocess.Popen(cmd + extra, stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        got = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
        p.wait()
        os.close(master)
        return got

    tty = on_tty([])
    quiet = on_tty(["--quiet"])
    piped = subprocess.run(cmd, capture_output=True, check=False).stderr
    js = on_tty(["--format", "json"])
    ok = b"[" in tty and b"/s" in tty and not quiet.strip() and not piped.strip() and not js.strip()
    row("progress bar: on a tty only (not piped, --quiet, json)", "shown" if b"/s" in tty else "missing",
        "tty only", ok)


def bench_correctness() -> None:
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" /
                        "test_scale.py")], capture_output=True, text=True, check=False, cwd=ROOT)
    last = (r.stdout.strip().splitlines() or ["?"])[-1]
    row("correctness under scale (tests/test_scale.py)", last, "all pass", r.returncode == 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=1024, help="size of the big logs (default 1024)")
    ap.add_argument("--runs", type=int, default=3, help="runs per timing (medians; default 3)")
    ap.add_argument("--copies", type=int, default=100, help="copies of the corpus for -j (default 100)")
    ap.add_argument("--make-log", type=Path, default=ROOT.parent / "shared" / "bench" / "make_log.py")
    ap.add_argument("--tmp", type=Path, default=None, help="where to put the logs (default: a temp dir)")
    ap.add_argument("--only", default="throughput,rules,memory,crashloop,startup,jobs,progress,correctness")
    a = ap.parse_args()
    only = set(a.only.split(","))
    if not a.make_log.exists():
        sys.exit(f"make_log.py not found at {a.make_log}; give --make-log PATH")
    lc = lc_cmd()
    tmp = Path(tempfile.mkdtemp(prefix="lcbench-", dir=a.tmp))
    need = a.mb * 2.2 * (1 << 20)
    if shutil.disk_usage(tmp).free < need:
        sys.exit(f"{tmp}: needs {need / (1 << 30):.1f} GB free")
    print(f"logclassify: {' '.join(lc)}; logs in {tmp}; {os.cpu_count()} CPUs", flush=True)
    try:
        big = None
        if only & {"throughput", "rules", "memory"}:
            big = bench_throughput(tmp, a.make_log, a.mb, a.runs, lc) if "throughput" in only else None
            if big is None:
                big = tmp / "big-plain.log"
                make_log(a.make_log, big, a.mb, False)
            if "rules" in only:
                bench_rules(tmp, big, a.runs, lc)
            if "memory" in only:
                bench_memory(big, lc)
            big.unlink()
        if "crashloop" in only:
            bench_crashloop(tmp, min(a.mb, 256), a.runs, lc)
        if "startup" in only:
            bench_startup(tmp, a.make_log, lc)
        if "jobs" in only:
            bench_jobs(tmp, lc, a.copies)
        if "progress" in only:
            bench_progress(tmp, lc)
        if "correctness" in only:
            bench_correctness()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    w = max(len(r[0]) for r in ROWS)
    print(f"\n{'figure':<{w}}  {'value':>12}  {'target':>10}  result")
    for fig, val, target, ok in ROWS:
        print(f"{fig:<{w}}  {val:>12}  {target:>10}  {ok}")
    sys.exit(1 if any(r[3] == "FAIL" for r in ROWS) else 0)


if __name__ == "__main__":
    main()
