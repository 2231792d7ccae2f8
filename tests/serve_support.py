"""A real `logclassify serve` on 127.0.0.1 for the service tests: started as the user starts it, stopped after."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


def need_serve_extra() -> None:
    """Skip (with the reason) where the serve extra is not installed; CI installs it."""
    for module in ("fastapi", "uvicorn", "prometheus_client", "fastapi_offline", "httpx"):
        pytest.importorskip(module, reason=f"{module} is missing: pip install -e '.[test,serve]'")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    final: str | None = None  # what it printed, kept once it has stopped (its folder is gone)

    def output(self) -> str:
        if self.final is not None:
            return self.final
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serve(*args: str, env: dict[str, str] | None = None, wait_s: float = 60) -> Iterator[Served]:
    """`python -m logclassify serve --port P ARGS` until /healthz answers; its stderr and stdout go to a file (the
    tests read what the server logged). Stopped with SIGTERM, then killed if it lingers."""
    import httpx

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="logclassify-serve-") as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "logclassify", "serve", "--port", str(port), *args],
                                    stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        served = Served(f"http://127.0.0.1:{port}", proc, log)
        try:
            deadline = time.monotonic() + wait_s
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"logclassify serve exited with {proc.returncode}:\n{served.output()}")
                try:
                    if httpx.get(served.url + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"logclassify serve did not answer within {wait_s} s:\n{served.output()}")
                time.sleep(0.2)
            yield served
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
            served.final = served.output()
