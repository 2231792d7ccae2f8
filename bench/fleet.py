#!/usr/bin/env python3
"""Fleet throughput (issue 12): files/s and MB/s of `logclassify fleet` through Ray, next to `-j 2`.

    python bench/fleet.py                      # about 3 minutes on 2 CPUs
    python bench/fleet.py --copies 2 --runs 1  # quicker

Two sets of logs are made in a temporary folder (removed at the end): SMALL, the repo's real logs (fixtures/ and
tests/data/corpus, about 450 files of a few KB) copied --copies times; BIG, --big files of --big-mb MB each, healthy
serving lines (throughput stats, access log) with a real failure log at the end. Each command runs on each set
--runs times, interleaved, and the medians are printed:

  scan -j 2       logclassify -j 2 --format jsonl DIR > /dev/null   (the scan command's pool)
  fleet -j 2      logclassify fleet DIR -o rows.parquet -j 2        (the same pool, rows and summary)
  fleet --ray     logclassify fleet DIR -o rows.parquet --ray --workers 2   (Ray local mode, start and stop included)
  Ray session     ray_batch.classify_sources(...) in a Ray session already started: what a long-lived cluster
                  pays per file (actor start and rule loading included, Ray's own start-up not), then the time to
                  the first row and the rate after it
  driver          rows per second the driver turns from Arrow batches into the summary and the Parquet file

Needs Ray for the Ray rows (pip install -e '.[ray]'); without it they are left out.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from run import medians  # noqa: E402  (bench/run.py: interleaved runs, medians)


def lc() -> list[str]:
    exe = Path(sys.executable).with_name("logclassify")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "logclassify"]


def real_logs() -> list[Path]:
    return sorted((ROOT / "fixtures").rglob("*.log")) + sorted((ROOT / "tests" / "data" / "corpus").glob("*.log"))


def make_small(folder: Path, copies: int) -> list[Path]:
    out = []
    for i in range(copies):
        d = folder / f"copy{i:03}"
        d.mkdir(parents=True)
        for log in real_logs():
            target = d / f"{log.parent.name}-{log.name}"
            shutil.copyfile(log, target)
            out.append(target)
    return out


def healthy_lines(rng: random.Random, n: int) -> str:
    lines = []
    for k in range(n):
        ss = k % 60
        if k % 3:
            lines.append(f'INFO:     10.0.{rng.randrange(256)}.{rng.randrange(256)}:{rng.randrange(30000, 60000)} - '
                         f'"POST /v1/chat/completions HTTP/1.1" 200 OK')
        else:
            lines.append(f"INFO 04-17 23:{k // 60 % 60:02}:{ss:02} [loggers.py:116] Engine 000: Avg prompt throughput: "
                         f"{rng.uniform(100, 5000):.1f} tokens/s, Avg generation throughput: {rng.uniform(10, 900):.1f} "
                         f"tokens/s, Running: {rng.randrange(64)} reqs, Waiting: 0 reqs, GPU KV cache usage: "
                         f"{rng.uniform(0, 90):.1f}%, Prefix cache hit rate: {rng.uniform(0, 90):.1f}%")
    return "\n".join(lines) + "\n"


def make_big(folder: Path, count: int, mb: float) -> list[Path]:
    folder.mkdir(parents=True)
    rng = random.Random(12)
    block = healthy_lines(rng, 20_000).encode()
    failures = real_logs()[::17]
    out = []
    for i in range(count):
        target = folder / f"big-{i:03}.log"
        with open(target, "wb") as f:
            written = 0
            while written < mb * 1e6:
                f.write(block)
                written += len(block)
            f.write(failures[i % len(failures)].read_bytes())
        out.append(target)
    return out


def timed(cmd: Sequence[str]) -> Callable[[], float]:
    def go() -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        return time.perf_counter() - t0
    return go


def ray_in_process(folder: Path, firsts: list[float]) -> Callable[[], float]:
    """One run of the Dataset in the session already started; `firsts` gets the time to the first row (the actors'
    start: a process, imports, rules), so that the steady rate after it can be told apart."""
    from logclassify.fleet import ray_batch
    from logclassify.fleet.sources import list_sources

    sources = list_sources([str(folder)], notice=lambda _m: None, failed=lambda _m: None)

    def go() -> float:
        t0 = time.perf_counter()
        n = 0
        for _ in ray_batch.iter_rows(ray_batch.classify_sources(sources, workers=2)):
            n += 1
            if n == 1:
                firsts.append(time.perf_counter() - t0)
        assert n == len(sources), (n, len(sources))
        return time.perf_counter() - t0
    return go


def report(name: str, files: list[Path], times: dict[str, float]) -> None:
    mb = sum(f.stat().st_size for f in files) / 1e6
    for k, t in times.items():
        print(f"| {name} | {len(files):,} | {mb:,.0f} | {k} | {t:.2f} | {len(files) / t:,.0f} | {mb / t:,.1f} |",
              flush=True)


def driver_rate(out: Path, n: int = 100_000) -> None:
    """What the driver pays per row, the part of a Ray run that does not grow with the cluster: Arrow batches back
    to Python rows (iter_rows), the summary, the Parquet writer. The rows are made up, of the usual shape."""
    from datetime import datetime, timezone

    import pyarrow as pa

    from logclassify.fleet.output import arrow_schema, open_writer
    from logclassify.fleet.summary import Summary

    seen = datetime(2026, 1, 1, tzinfo=timezone.utc)
    table = pa.Table.from_pylist([
        {"source": f"s3://bucket/jobs/{i:08}/stderr.log", "ids": ["cuda-oom", "engine-dead"], "cause_id": "cuda-oom",
         "cause_severity": "error", "cause_confidence": 0.95, "unrecognized": [], "vllm_version": "0.8.4",
         "engine": "V1", "gpu_names": ["NVIDIA H100 80GB HBM3"], "tensor_parallel_size": 8,
         "pipeline_parallel_size": None, "lines": 1200, "error": None, "seen": seen, "seen_from": "mtime"}
        for i in range(n)], schema=arrow_schema())
    summary, writer = Summary(), open_writer(str(out))
    t0 = time.perf_counter()
    for batch in table.to_batches(max_chunksize=256):
        for row in batch.to_pylist():
            writer.write([row])
            summary.add(row)
    writer.close()
    t = time.perf_counter() - t0
    print(f"\ndriver: {n:,} rows from Arrow batches through the summary and the Parquet writer: {t:.2f} s, "
          f"{n / t:,.0f} rows/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=5, help="copies of the ~450 real logs in SMALL (default 5)")
    ap.add_argument("--big", type=int, default=4, help="files in BIG (default 4)")
    ap.add_argument("--big-mb", type=float, default=25, help="MB per file in BIG (default 25)")
    ap.add_argument("--runs", type=int, default=2, help="runs per command, interleaved; medians (default 2)")
    ap.add_argument("--tmp", default=None, help="folder for the temporary logs")
    a = ap.parse_args()
    try:
        import ray
        have_ray = True
    except ImportError:
        have_ray = False
    tmp = Path(tempfile.mkdtemp(prefix="logclassify-fleet-bench-", dir=a.tmp))
    try:
        sets = {"small": make_small(tmp / "small", a.copies), "big": make_big(tmp / "big", a.big, a.big_mb)}
        print("| set | files | MB | command | wall s (median) | files/s | MB/s |")
        print("|---|---|---|---|---|---|---|")
        for name, files in sets.items():
            folder = tmp / name
            cmds: dict[str, Callable[[], float]] = {
                "scan -j 2": timed([*lc(), "-j", "2", "--format", "jsonl", str(folder)]),
                "fleet -j 2": timed([*lc(), "fleet", str(folder), "-o", str(tmp / "rows.parquet"), "-j", "2", "-q"]),
            }
            if have_ray:
                cmds["fleet --ray --workers 2 (Ray start and stop included)"] = timed(
                    [*lc(), "fleet", str(folder), "-o", str(tmp / "rows.parquet"), "--ray", "--workers", "2", "-q"])
            report(name, files, medians(cmds, a.runs))
        if have_ray:  # after the commands: a Ray session of our own would stand beside theirs
            from logclassify.fleet import ray_batch

            t0 = time.perf_counter()
            ray_batch.connect("local", quiet=True, num_cpus=2)
            print(f"\nRay local mode start (ray.init, 2 CPUs): {time.perf_counter() - t0:.1f} s\n", flush=True)
            try:
                for name, files in sets.items():
                    firsts: list[float] = []
                    times = medians({"Ray session already up, 2 actors": ray_in_process(tmp / name, firsts)}, a.runs)
                    report(name, files, times)
                    first = statistics.median(firsts)
                    rest = max(next(iter(times.values())) - first, 1e-6)
                    steady = f"; then {(len(files) - 1) / rest:,.0f} files/s" if len(files) > 50 else ""
                    print(f"  {name}: first row after {first:.2f} s (actors start, import, load rules){steady}",
                          flush=True)
            finally:
                ray.shutdown()
        driver_rate(tmp / "driver.parquet")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
