"""Nasty inputs, generated rather than committed: each kind at any size, written as a stream (constant memory).

    python tests/adversarial/generate.py KIND OUT [--mb N]      # one input (OUT.gz: gzip-compressed)
    python tests/adversarial/generate.py all DIR [--mb N]       # every kind into DIR

Each kind is what a real failure or an adversary produces: a crash loop (the same traceback 100k times), ranks
interleaving their tracebacks line by line, one line of many MiB, NUL bytes, invalid UTF-8, CR-only line ends,
deeply chained exceptions, a gzip bomb (small on disk), an issue body with thousands of fences. `lines(kind)` gives
the exact number of input lines a reader must count (every kind ends its last line with a newline).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

MiB = 1 << 20

OOM = (
    "ERROR 06-11 03:12:{s:02d} [core.py:{n}] EngineCore failed to start.\n"
    "Traceback (most recent call last):\n"
    '  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py", line 390, in run_engine_core\n'
    "    engine_core = EngineCoreProc(*args, **kwargs)\n"
    '  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/worker/gpu_model_runner.py", line 1570, in _dummy_run\n'
    "    hidden_states = model(input_ids)\n"
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate {n} MiB. GPU 0 has a total capacity of 79.10 GiB "
    "of which 3.06 MiB is free. Process {n} has 79.09 GiB memory in use.\n"
)
RANK_TB = (
    "Traceback (most recent call last):\n",
    '  File "/usr/local/lib/python3.12/dist-packages/torch/distributed/c10d_logger.py", line 81, in wrapper\n',
    "    return func(*args, **kwargs)\n",
    '  File "/usr/local/lib/python3.12/dist-packages/torch/distributed/distributed_c10d.py", line 2806, in all_reduce\n',
    "    work = group.allreduce([tensor], opts)\n",
    "torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:1970, "
    "unhandled system error (run with NCCL_DEBUG=INFO for details), NCCL version 2.20.5\n",
)
FILLER = "INFO 06-11 03:12:44 [loggers.py:123] Engine 000: Avg prompt throughput: 1.0 tokens/s, Running: 3 reqs\n"


def _until(size: int, blocks: Iterator[str]) -> Iterator[bytes]:
    written = 0
    for b in blocks:
        if written >= size:
            return
        data = b.encode()
        written += len(data)
        yield data


def repeated_tracebacks(size: int) -> Iterator[bytes]:
    """A crash loop: the same OOM traceback again and again, numbers varying."""
    return _until(size, (OOM.format(s=n % 60, n=n) for n in itertools.count()))


def interleaved_ranks(size: int, ranks: int = 8) -> Iterator[bytes]:
    """`ranks` processes printing the same traceback line by line into one log, over and over."""

    def blocks() -> Iterator[str]:
        for it in itertools.count():
            for line in RANK_TB:
                for r in range(ranks):
                    yield f"[rank{r}]:{line}" if it % 2 else f"(VllmWorker rank={r} pid={1000 + r}) {line}"

    return _until(size, blocks())


def huge_line(size: int) -> Iterator[bytes]:
    """A short traceback, then one line of `size` bytes (a minified JSON dump), then the failure."""
    yield OOM.format(s=1, n=1).encode()
    piece = b'{"k": "' + b"x" * (MiB - 9) + b'"},'
    for _ in range(size // len(piece)):
        yield piece
    yield b"\n" + OOM.format(s=2, n=2).encode()


def nul_bytes(size: int) -> Iterator[bytes]:
    """NUL bytes inside lines and whole lines of them, around a real failure."""
    body = (b"\x00" * 200 + b"\n") + b"INFO started\x00\x00 ok\n" + OOM.format(s=3, n=3).encode().replace(b"CUDA", b"CU\x00DA", 0)
    return _repeat(size, body)


def _repeat(size: int, body: bytes) -> Iterator[bytes]:
    written = 0
    while written < size:
        yield body
        written += len(body)


def invalid_utf8(size: int) -> Iterator[bytes]:
    """Bytes that are not UTF-8 (lone continuation bytes, truncated sequences, overlongs) on failure lines."""
    oom = OOM.format(s=4, n=4).encode().replace(b"Tried", b"Tr\xe9ed")
    body = b"\xff\xfe bad \x80\x81 bytes \xc3\n" + oom + b"\xed\xa0\x80\n"
    return _repeat(size, body)


def cr_only(size: int) -> Iterator[bytes]:
    """Old-Mac line ends: \\r only, so the whole input is one line to a newline reader."""
    body = OOM.format(s=5, n=5).encode().replace(b"\n", b"\r")
    yield from _repeat(size, body)
    yield b"\n"


def chained(size: int, depth: int = 2000) -> Iterator[bytes]:
    """Exceptions chained `depth` deep ('During handling ... another exception occurred'), repeated."""
    one = (
        'Traceback (most recent call last):\n  File "/a.py", line 1, in f\n    g()\nValueError: level {i}\n\n'
        "During handling of the above exception, another exception occurred:\n\n"
    )
    block = "".join(one.format(i=i) for i in range(depth)) + OOM.format(s=6, n=6)
    return _repeat(size, block.encode())


def gzip_bomb(size: int) -> Iterator[bytes]:
    """The crash loop, meant to be written gzip-compressed (about 1/250 of its size on disk)."""
    return repeated_tracebacks(size)


def markdown_fences(size: int) -> Iterator[bytes]:
    """An issue body with thousands of empty and unclosed ``` fences around a traceback."""
    body = ("```\n```\n```text\n" + OOM.format(s=7, n=7) + "```\n~~~\n").encode()
    yield b"### Your current environment\n\n"
    yield from _repeat(size, body)
    yield b"```\n"


KINDS: dict[str, Callable[[int], Iterator[bytes]]] = {
    "repeated": repeated_tracebacks,
    "ranks": interleaved_ranks,
    "huge-line": huge_line,
    "nul": nul_bytes,
    "utf8": invalid_utf8,
    "cr": cr_only,
    "chained": chained,
    "bomb": gzip_bomb,
    "markdown": markdown_fences,
}
SUFFIX = {"bomb": ".log.gz", "markdown": ".md"}


def write(kind: str, out: str | Path, size: int) -> int:
    """Write one input; a path ending in .gz is compressed. Returns its uncompressed line count."""
    out = Path(out)
    lines = 0
    with gzip.open(out, "wb", compresslevel=9) if out.suffix == ".gz" else out.open("wb") as f:
        for chunk in KINDS[kind](size):
            lines += chunk.count(b"\n")
            f.write(chunk)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=[*KINDS, "all"])
    ap.add_argument("out")
    ap.add_argument("--mb", type=float, default=8)
    a = ap.parse_args()
    size = int(a.mb * MiB)
    if a.kind == "all":
        Path(a.out).mkdir(parents=True, exist_ok=True)
        for kind in KINDS:
            path = Path(a.out) / f"{kind}{SUFFIX.get(kind, '.log')}"
            print(path, write(kind, path, size), "lines")
    else:
        print(a.out, write(a.kind, a.out, size), "lines")


if __name__ == "__main__":
    main()
