"""A node's container logs written at a realistic rate, sped up, while `logclassify --follow` watches them: its RSS.

    python bench/follow_fleet.py --hours 24 --minutes 3      # a day of a 16-pod node in 3 minutes
    python bench/follow_fleet.py --pods 32 --rate 8 --hours 6 --minutes 2 --csv rss.csv
    python bench/follow_fleet.py --scan-rate                 # one follower's lines per CPU-second, in-process

The generator lays out files as kubelet does (`pods/<ns>_<pod>_<uid>/vllm/0.log` in CRI format, linked from
`containers/<pod>_<ns>_vllm-<container id>.log`) and, in simulated time: each pod starts with a real vLLM start-up
log, then serves (uvicorn access lines, the engine's throughput line every 10 s, request lines with random ids);
kubelet rotates a file past `--rotate-mb` (renamed away, the oldest of 5 copies deleted, a new 0.log); every
`--churn-h` hours each pod is replaced by a new one (new name and uid: the old files deleted); `--crashing` pods
crash-loop (a CUDA OOM traceback, then a new container id every `--crash-min` minutes, the previous log kept as
kubelet keeps one). The follower is the command docs/fleet-live.md gives (`--follow '.../vllm-*.log' --format
jsonl --metrics-port`), on 127.0.0.1. Every `--sample-s` seconds a row: real and simulated time, the follower's RSS
(/proc), lines it read (its metrics), files followed and forgotten, events printed. Stops the child in `finally`.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"
_JOURNAL = re.compile(rb"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ \S+: ")


def corpus(name: str) -> list[bytes]:
    return [_JOURNAL.sub(b"", raw) for raw in (CORPUS / name).read_bytes().splitlines(keepends=True)]


STARTUP = corpus("seed-none-9.log")
CRASH = corpus("seed-cuda-oom-4.log")


def serving_line(rng: random.Random, t: float) -> bytes:
    clock = time.strftime("%m-%d %H:%M:%S", time.gmtime(t)).encode()
    kind = rng.random()
    if kind < 0.5:
        return b'(APIServer pid=1) INFO:     10.0.%d.%d:%d - "POST /v1/chat/completions HTTP/1.1" 200 OK\n' % (
            rng.randrange(256), rng.randrange(256), rng.randrange(30000, 60000))
    if kind < 0.95:
        return b"(APIServer pid=1) INFO %s [logger.py:43] Received request chatcmpl-%032x: params: SamplingParams(" \
               b"n=1, temperature=%.1f, max_tokens=%d), prompt_token_ids: None, lora_request: None.\n" % (
                   clock, rng.getrandbits(128), rng.random(), rng.randrange(16, 4096))
    return b"(APIServer pid=1) INFO %s [loggers.py:123] Engine 000: Avg prompt throughput: %.1f tokens/s, Avg " \
           b"generation throughput: %.1f tokens/s, Running: %d reqs, Waiting: 0 reqs, GPU KV cache usage: %.1f%%, " \
           b"Prefix cache hit rate: %.1f%%\n" % (clock, rng.uniform(0, 5000), rng.uniform(0, 900), rng.randrange(40),
                                                 rng.uniform(0, 90), rng.uniform(0, 80))


@dataclass
class Pod:
    name: str
    crashing: bool
    born: float  # simulated time
    uid: str = field(default_factory=lambda: f"{random.getrandbits(64):016x}")
    container: str = field(default_factory=lambda: f"{random.getrandbits(256):064x}")
    pending: list[bytes] = field(default_factory=list)  # lines to write before serving lines (start-up, a crash)
    written: int = 0  # bytes in the current 0.log
    rotated: list[Path] = field(default_factory=list)
    restarts: int = 0


class Node:
    """The files kubelet would keep for `pods` vLLM pods; `advance` writes what `dt` simulated seconds produce."""

    def __init__(self, top: Path, args: argparse.Namespace) -> None:
        self.top, self.args = top, args
        self.containers, self.pods_dir = top / "containers", top / "pods"
        self.containers.mkdir(parents=True)
        self.rng = random.Random(7)
        self.now = 0.0
        self.serial = 0
        self.pods = [self.new_pod(crashing=i < args.crashing) for i in range(args.pods)]
        self.crashes = 0

    def new_pod(self, crashing: bool) -> Pod:
        self.serial += 1
        pod = Pod(f"vllm-{self.serial}", crashing, self.now)
        self.start_container(pod)
        return pod

    def log_dir(self, pod: Pod) -> Path:
        return self.pods_dir / f"default_{pod.name}_{pod.uid}" / "vllm"

    def link(self, pod: Pod) -> Path:
        return self.containers / f"{pod.name}_default_vllm-{pod.container}.log"

    def start_container(self, pod: Pod) -> None:
        d = self.log_dir(pod)
        d.mkdir(parents=True, exist_ok=True)
        real = d / f"{pod.restarts}.log"
        real.write_bytes(b"")
        self.link(pod).symlink_to(real)
        pod.written = 0
        pod.pending = list(STARTUP)

    def restart(self, pod: Pod) -> None:
        """A crashed container: kubelet starts a new one (new id, N.log) and keeps only the previous log."""
        old_link, old_real = self.link(pod), self.log_dir(pod) / f"{pod.restarts - 1}.log"
        if pod.restarts >= 1:
            old_link_prev = [p for p in self.containers.glob(f"{pod.name}_default_vllm-*.log") if p != old_link]
            for p in old_link_prev:
                p.unlink()
            old_real.unlink(missing_ok=True)
        pod.restarts += 1
        pod.container = f"{self.rng.getrandbits(256):064x}"
        self.start_container(pod)

    def remove(self, pod: Pod) -> None:
        for p in self.containers.glob(f"{pod.name}_default_vllm-*.log"):
            p.unlink()
        shutil.rmtree(self.log_dir(pod).parent)

    def rotate(self, pod: Pod) -> None:
        real = self.log_dir(pod) / f"{pod.restarts}.log"
        copy = real.with_name(f"{real.name}.{int(self.now)}")
        real.rename(copy)
        real.write_bytes(b"")
        pod.rotated.append(copy)
        if len(pod.rotated) > 5:
            pod.rotated.pop(0).unlink(missing_ok=True)
        pod.written = 0

    def advance(self, dt: float) -> int:
        """`dt` simulated seconds; returns the lines written."""
        self.now += dt
        args, written = self.args, 0
        for i, pod in enumerate(self.pods):
            if self.now - pod.born >= args.churn_h * 3600 * (1 + 0.1 * (i % 5)):  # staggered replacements
                self.remove(pod)
                self.pods[i] = pod = self.new_pod(pod.crashing)
            crash_due = pod.crashing and self.now - pod.born >= (pod.restarts + 1) * args.crash_min * 60
            if crash_due and not pod.pending:
                pod.pending = list(CRASH)
            n = _poisson(self.rng, args.rate * dt)
            lines = pod.pending + [serving_line(self.rng, self.now) for _ in range(n)]
            pod.pending = []
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1.7e9 + self.now)).encode()
            data = b"".join(b"%s.%09dZ stderr F %s" % (stamp, self.rng.randrange(10**9), ln) for ln in lines)
            with (self.log_dir(pod) / f"{pod.restarts}.log").open("ab") as fh:
                fh.write(data)
            pod.written += len(data)
            written += len(lines)
            if crash_due:
                self.crashes += 1
                self.restart(pod)
            elif pod.written >= args.rotate_mb * (1 << 20):
                self.rotate(pod)
        return written


def _poisson(rng: random.Random, mean: float) -> int:
    """Lines in an interval: Poisson for small means, normal for large (random has no Poisson)."""
    if mean > 30:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def metrics(url: str) -> dict[str, float]:
    out: dict[str, float] = {}
    with urllib.request.urlopen(url, timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("logclassify_"):
                name, value = line.rsplit(" ", 1)
                base = name.split("{", 1)[0]
                out[base] = out.get(base, 0.0) + float(value)
    return out


def scan_rate(n: int = 20_000) -> None:
    """Lines per CPU-second through one follower, in-process: line by line (`feed`) and in batches of 500
    (`feed_many`, what the command does with what arrives together)."""
    from logclassify import default_classifier
    from logclassify.follow import Follower

    classifier, rng = default_classifier(), random.Random(1)
    prefix = b"2024-06-10T21:32:17.123456789Z stderr F "
    lines = [prefix + ln for ln in STARTUP] + [prefix + serving_line(rng, 1.7e9 + i) for i in range(n)]
    now = [0.0]
    for mode in ("line by line", "batches of 500"):
        now[0] = 0.0
        f = Follower(classifier, "x", clock=lambda: now[0])
        cpu = time.process_time()
        if mode == "line by line":
            for ln in lines:
                now[0] += 0.01
                f.feed(ln)
        else:
            for i in range(0, len(lines), 500):
                now[0] += 5
                f.feed_many(lines[i:i + 500])
        print(f"{mode}: {len(lines) / (time.process_time() - cpu):,.0f} lines per CPU-second")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=16)
    ap.add_argument("--rate", type=float, default=4.0, help="serving lines per second per pod (simulated)")
    ap.add_argument("--hours", type=float, default=24.0, help="simulated time to cover")
    ap.add_argument("--minutes", type=float, default=3.0, help="real time to take")
    ap.add_argument("--churn-h", type=float, default=4.0, help="a pod is replaced after this many hours")
    ap.add_argument("--crashing", type=int, default=2, help="pods that crash-loop")
    ap.add_argument("--crash-min", type=float, default=20.0, help="minutes between their crashes")
    ap.add_argument("--rotate-mb", type=float, default=10.0, help="kubelet's containerLogMaxSize")
    ap.add_argument("--sample-s", type=float, default=5.0)
    ap.add_argument("--csv", type=Path, help="write the samples here too")
    ap.add_argument("--scan-rate", action="store_true", help="only measure one follower's lines per CPU-second")
    args = ap.parse_args()
    if args.scan_rate:
        scan_rate()
        return 0

    top = Path(tempfile.mkdtemp(prefix="follow-fleet-"))
    node = Node(top, args)
    speedup = args.hours * 3600 / (args.minutes * 60)
    cmd = [sys.executable, "-m", "logclassify", "--follow", str(node.containers / "vllm-*.log"), "--format", "jsonl",
           "--metrics-port", "127.0.0.1:0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    events = [0]
    notices: list[str] = []

    def count(stream: object, sink: list[int] | list[str]) -> None:
        for raw in stream:  # type: ignore[attr-defined]
            if sink is events:
                events[0] += 1
            else:
                notices.append(raw.decode().strip())  # type: ignore[arg-type]

    threading.Thread(target=count, args=(proc.stdout, events), daemon=True).start()
    threading.Thread(target=count, args=(proc.stderr, notices), daemon=True).start()
    rows: list[dict[str, float]] = []
    try:
        while not any("serving metrics" in n for n in notices):
            if proc.poll() is not None:
                raise SystemExit(f"the follower exited: {notices}")
            time.sleep(0.1)
        url = next(n for n in notices if "serving metrics" in n).rsplit(" ", 1)[-1]
        print(f"{args.pods} pods x {args.rate} lines/s, {args.hours} h in {args.minutes} min (x{speedup:.0f}); {top}")
        print(f"{'real s':>7} {'sim h':>6} {'RSS MB':>7} {'written':>10} {'read':>10} {'files':>5} {'gone':>5} "
              f"{'crashes':>7} {'found':>5} {'events':>6}")
        start = time.monotonic()
        next_sample, written, step = start, 0, 0.2
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= args.minutes * 60:
                break
            written += node.advance(step * speedup)
            if time.monotonic() >= next_sample:
                m = metrics(url)
                row = {"real_s": round(elapsed, 1), "sim_h": round(node.now / 3600, 2), "rss_mb": round(rss_mb(proc.pid), 1),
                       "written": written, "read": m.get("logclassify_lines_read_total", 0.0),
                       "files": m.get("logclassify_sources", 0.0), "gone": m.get("logclassify_sources_forgotten_total", 0.0),
                       "crashes": node.crashes, "found": m.get("logclassify_diagnoses_total", 0.0), "events": events[0]}
                rows.append(row)
                print(f"{row['real_s']:>7} {row['sim_h']:>6} {row['rss_mb']:>7} {written:>10} {row['read']:>10.0f} "
                      f"{row['files']:>5.0f} {row['gone']:>5.0f} {node.crashes:>7} {row['found']:>5.0f} {events[0]:>6}",
                      flush=True)
                next_sample += args.sample_s
            lag = start + (node.now / speedup) - time.monotonic()
            if lag > 0:
                time.sleep(lag)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(top, ignore_errors=True)
    if args.csv and rows:
        with args.csv.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if rows:
        first, last = rows[min(2, len(rows) - 1)], rows[-1]
        peak = max(r["rss_mb"] for r in rows)
        print(f"RSS {first['rss_mb']} MB at {first['sim_h']} h, {last['rss_mb']} MB at {last['sim_h']} h (peak {peak}); "
              f"read {last['read']:.0f} of {last['written']} lines written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
