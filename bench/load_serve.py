"""Load test of `logclassify serve` on 127.0.0.1 only, bounded in count and time (issue 13).

    python bench/load_serve.py                          # 2,000 requests from 32 clients (stops after 170 s anyway)
    python bench/load_serve.py --requests 500 --clients 8 --gzip

Starts the server as a user does (`python -m logclassify serve --port P --no-access-log`), sends real logs (the
fixtures, the corpus copy in tests/data/corpus, examples/) round-robin from N concurrent clients (one asyncio loop,
httpx), and prints one Markdown row: p50/p90/p99 latency, requests/s, errors (any status other than 200, or an answer
that differs from the first answer for the same body), and the server's RSS before the load (after a warm-up of one
request per log) and after it. The server is stopped at the end. Needs the serve extra and httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def real_logs(limit_bytes: int) -> list[tuple[str, bytes]]:
    paths = sorted((ROOT / "fixtures").rglob("*.log")) + sorted((ROOT / "tests" / "data" / "corpus").glob("*.log"))
    paths += [ROOT / "examples" / "server.log"]
    return [(str(p.relative_to(ROOT)), p.read_bytes()) for p in paths if p.stat().st_size <= limit_bytes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def load(url: str, bodies: list[tuple[str, bytes]], requests: int, clients: int, use_gzip: bool,
               max_seconds: float, expected: dict[str, str]) -> tuple[list[float], dict[str, int], float]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    next_index = 0
    stop_at = time.monotonic() + max_seconds
    headers = {"content-type": "application/gzip" if use_gzip else "text/plain"}
    prepared = [(name, gzip.compress(b) if use_gzip else b) for name, b in bodies]

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal next_index
        while next_index < requests and time.monotonic() < stop_at:
            name, body = prepared[next_index % len(prepared)]
            next_index += 1
            start = time.perf_counter()
            try:
                r = await http.post("/v1/classify?input_format=log", content=body, headers=headers)
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            latencies.append(time.perf_counter() - start)
            if r.status_code != 200:
                errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
            elif r.text != expected[name]:
                errors["different answer"] = errors.get("different answer", 0) + 1

    began = time.perf_counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return latencies, errors, time.perf_counter() - began


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--gzip", action="store_true", help="send every body gzipped")
    ap.add_argument("--max-seconds", type=float, default=170.0, help="stop sending after this long (default 170)")
    ap.add_argument("--max-log-kib", type=int, default=512, help="leave out logs larger than this")
    ap.add_argument("--server-arg", action="append", default=[], help="extra `logclassify serve` argument")
    args = ap.parse_args()

    bodies = real_logs(args.max_log_kib * 1024)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "logclassify", "serve", "--port", str(port), "--no-access-log",
                               *args.server_arg], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            print("the server did not start", file=sys.stderr)
            return 1
        started = rss_mib(server.pid)
        expected: dict[str, str] = {}
        with httpx.Client(base_url=url, timeout=120) as http:  # warm-up, and the answer each body must get
            for name, body in bodies:
                r = http.post("/v1/classify?input_format=log", content=body, headers={"content-type": "text/plain"})
                r.raise_for_status()
                expected[name] = r.text
        before = rss_mib(server.pid)
        latencies, errors, elapsed = asyncio.run(load(url, bodies, args.requests, args.clients, args.gzip,
                                                      args.max_seconds, expected))
        after = rss_mib(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    done = len(latencies) + sum(v for k, v in errors.items() if not k.isdigit() and k != "different answer")
    sizes = [len(b) for _, b in bodies]
    print(f"{len(bodies)} real logs (median {statistics.median(sizes) / 1024:.1f} KiB, largest {max(sizes) / 1024:.0f} KiB), "
          f"{args.clients} clients, {'gzip' if args.gzip else 'plain'} bodies, {os.cpu_count()} CPUs")
    print("| requests | clients | p50 | p90 | p99 | req/s | errors | server RSS: started / warmed / after |")
    print("|---|---|---|---|---|---|---|---|")
    error_text = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "0"
    print(f"| {done} | {args.clients} | {percentile(latencies, 0.5) * 1000:.0f} ms | {percentile(latencies, 0.9) * 1000:.0f} ms "
          f"| {percentile(latencies, 0.99) * 1000:.0f} ms | {len(latencies) / elapsed:.1f} | {error_text} "
          f"| {started:.0f} / {before:.0f} / {after:.0f} MiB |")
    return 1 if errors or done < args.requests else 0


if __name__ == "__main__":
    sys.exit(main())
