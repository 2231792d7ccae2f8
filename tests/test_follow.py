"""Follow mode: a growing file (rotation, truncation), a pipe and real `journalctl -f` output, diagnosed live.

The Follower is driven with a fake clock for the timing rules (quiet period, hang limits); the CLI is driven for real:
another thread writes the file or the pipe while `logclassify --follow` runs in its own process.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from logclassify import default_classifier
from logclassify.follow import FileFollower, Follower, FollowOptions, parse_hang_after

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"  # a copy of ../shared/corpus: real logs, sources in cases.jsonl
needs_corpus = pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is not available")
JOURNAL_REMOTE = next((p for p in ("/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote")
                       if os.access(p, os.X_OK)), None)


def corpus_lines(name: str) -> list[bytes]:
    return (CORPUS / name).read_bytes().splitlines(keepends=True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def follower(clock: Clock, **opts: float) -> Follower:
    return Follower(default_classifier(), "live.log", FollowOptions(**opts), clock=clock)  # type: ignore[arg-type]


# -- the Follower's timing -------------------------------------------------------------------------------


@needs_corpus
def test_a_completed_traceback_is_reported_at_once_and_only_once() -> None:
    clock = Clock()
    f = follower(clock)
    events = []
    for raw in corpus_lines("seed-none-9.log")[:20] + corpus_lines("seed-cuda-oom-4.log"):
        events += f.feed(raw)
    assert events == []  # the exception line is last: it may still continue
    events += f.feed(b"INFO 05-04 22:52:31 [launcher.py:80] Shutting down FastAPI HTTP server.\n")
    assert [e.diagnosis.id for e in events if e.diagnosis] == ["cuda-oom"]  # no tick needed
    clock.now += 60
    assert f.tick() == [] and f.finish() == []  # never twice for the same evidence


@needs_corpus
def test_a_failure_at_the_end_is_reported_after_a_quiet_period() -> None:
    clock = Clock()
    f = follower(clock, settle_s=2.0)
    for raw in corpus_lines("beyond-port-in-use-1.log"):
        assert f.feed(raw) == []
    clock.now += 1.0
    assert f.tick() == []
    clock.now += 1.5
    (ev,) = f.tick()
    assert ev.kind == "diagnosis" and ev.diagnosis is not None and ev.diagnosis.id == "port-in-use"
    assert ev.to_dict()["diagnosis"]["id"] == "port-in-use"


@needs_corpus
def test_unknown_failures_are_events_too() -> None:
    clock = Clock()
    f = follower(clock)
    # a real worker error with its message swapped for one no rule knows (the LoRA rank error has a rule now)
    unknown = "Loaded adapter has no target modules."
    for raw in corpus_lines("beyond-other-8.log"):
        f.feed(raw.replace(b"LoRA rank 32 is greater than max_lora_rank 16.", unknown.encode()))
    clock.now += 5
    (ev,) = f.tick()
    assert ev.kind == "unrecognized" and ev.unrecognized is not None and "no target modules" in ev.unrecognized.error


@needs_corpus
def test_a_startup_phase_is_a_hang_only_after_its_limit() -> None:
    """vLLM 0.6.1 under TorchServe stops while loading weights: normal for a live server, until it stays silent."""
    clock = Clock()
    f = follower(clock, settle_s=2.0)
    for raw in corpus_lines("seed-none-3.log"):
        assert f.feed(raw) == []
    clock.now += 5
    assert f.tick() == []  # busy loading, not hung
    clock.now += 600
    (ev,) = f.tick()
    d = ev.diagnosis
    assert d is not None and d.id == "model-load-hang" and d.severity.value == "warning"
    assert "no output for" in d.title and d.captures["silent_for"].endswith("s")
    clock.now += 600
    assert f.tick() == []


@needs_corpus
def test_a_stream_that_ends_reads_like_a_file() -> None:
    f = follower(Clock())
    for raw in corpus_lines("seed-none-3.log"):
        f.feed(raw)
    assert [e.diagnosis.id for e in f.finish(eof=True) if e.diagnosis] == ["model-load-hang"]


@needs_corpus
def test_a_serving_log_that_repeats_itself_is_not_classified_again_and_again() -> None:
    clock = Clock()
    f = follower(clock, settle_s=2.0, max_delay_s=10.0)
    checks = 0
    real_check = f.check

    def counting(quiet: bool, eof: bool = False) -> list[object]:
        nonlocal checks
        checks += 1
        return real_check(quiet, eof)  # type: ignore[return-value]

    f.check = counting  # type: ignore[method-assign,assignment]
    for raw in corpus_lines("seed-none-9.log"):
        f.feed(raw)
    clock.now += 3
    f.tick()
    assert checks == 1
    for i in range(2000):
        clock.now += 0.5  # a request every half second, for a quarter of an hour
        f.feed(b"INFO 05-04 22:50:%02d [loggers.py:123] Avg prompt throughput: %d.0 tokens/s\n" % (i % 60, i))
        f.tick()
    assert checks == 1
    events = f.feed(b"ERROR 05-04 23:10:00 [core.py:1] RuntimeError: CUDA error: an illegal memory access\n")
    clock.now += 3
    events += f.tick()
    assert checks == 2 and [e.kind for e in events] == ["unrecognized"]


def test_hang_after_option() -> None:
    assert set(parse_hang_after(["30"]).values()) == {30.0}
    limits = parse_hang_after(["compile=1200"])
    assert limits["compile"] == 1200.0 and limits["load_weights"] == 600.0
    with pytest.raises(ValueError, match="unknown phase"):
        parse_hang_after(["loading=5"])


# -- tail -F on a real file --------------------------------------------------------------------------------


def test_file_follower_survives_rotation_and_truncation(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    notices: list[str] = []
    lines = FileFollower(path, poll_s=0.01, notice=notices.append).lines()

    def take(n: int) -> list[bytes]:
        got: list[bytes] = []
        for item in lines:
            if item is not None:
                got.append(item)
                if len(got) == n:
                    return got
        raise AssertionError("source ended")

    assert next(lines) is None  # the file does not exist yet: wait for it
    path.write_bytes(b"one\ntwo\n")
    assert take(2) == [b"one\n", b"two\n"]
    with path.open("ab") as fh:
        fh.write(b"three\npartial")
    assert take(1) == [b"three\n"]
    path.rename(tmp_path / "app.log.1")
    path.write_bytes(b"new file\n")
    assert take(2) == [b"partial\n", b"new file\n"]  # the old file's last line, then the new file
    path.write_bytes(b"x\n")  # truncated to less than was read, then rewritten
    assert take(1) == [b"x\n"]
    assert any("replaced" in n for n in notices) and any("truncated" in n for n in notices)


@needs_corpus
def test_a_big_file_is_read_at_both_ends_with_exact_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    filler = [b"INFO 05-04 22:50:00 [loggers.py:123] Avg prompt throughput: 0.0 tokens/s, request %d\n" % i
              for i in range(20_000)]
    failure = corpus_lines("beyond-port-in-use-1.log")
    path.write_bytes(b"".join(corpus_lines("seed-none-9.log") + filler + failure))
    source = FileFollower(path, poll_s=0.01, big=256 << 10)
    f = Follower(default_classifier(), str(path))
    events = []
    for item in source.lines():
        if item is None:
            break
        if isinstance(item, int):
            assert 15_000 < item < 20_000  # most of the filler was counted, not read
            f.skip(item)
        else:
            events += f.feed(item)
    events += f.finish()
    (ev,) = [e for e in events if e.diagnosis is not None]
    assert ev.diagnosis is not None and ev.diagnosis.id == "port-in-use"
    text = path.read_text(encoding="utf-8").splitlines()
    for e in ev.diagnosis.evidence:
        assert e.text in text[e.line - 1]  # the line numbers are those of the file


class Running:
    """`logclassify --follow ...` in its own process, its JSON events collected by a thread as they come."""

    def __init__(self, *args: str, stdin: int | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "logclassify", "--format", "jsonl", "--follow", *args],
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
        )
        self.events: queue.Queue[dict[str, object]] = queue.Queue()
        self.seen: list[dict[str, object]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def wait_for(self, rule: str, timeout: float = 30.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ev = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(ev)
            payload = ev.get("diagnosis") or {}
            if isinstance(payload, dict) and payload.get("id") == rule:
                return ev
        raise AssertionError(f"no {rule} event within {timeout}s; saw {[e.get('diagnosis') for e in self.seen]}")

    def stop(self) -> tuple[int, str]:
        try:
            self.proc.wait(timeout=1.0)  # it may be ending by itself (end of its input)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGINT)
        rc = self.proc.wait(timeout=30)
        while not self.events.empty():
            self.seen.append(self.events.get())
        assert self.proc.stderr is not None
        return rc, self.proc.stderr.read().decode()

    def ids(self) -> list[str]:
        return [str(e["diagnosis"]["id"]) for e in self.seen if isinstance(e.get("diagnosis"), dict)]  # type: ignore[index]


def slow_write(path: Path, lines: list[bytes], mode: str = "ab") -> None:
    with path.open(mode) as fh:
        for raw in lines:
            fh.write(raw)
            fh.flush()
            time.sleep(0.005)


@needs_corpus
def test_follow_a_file_written_by_another_thread_through_rotation_and_truncation(tmp_path: Path) -> None:
    log = tmp_path / "vllm.log"
    live = Running(str(log))  # the file does not exist yet, like tail -F
    try:
        startup = corpus_lines("seed-none-9.log")[:30]
        writer = threading.Thread(target=slow_write, args=(log, startup + corpus_lines("seed-cuda-oom-4.log") + startup))
        writer.start()
        writer.join()
        live.wait_for("cuda-oom")

        log.rename(tmp_path / "vllm.log.1")  # logrotate: move away, start a new file
        writer = threading.Thread(target=slow_write, args=(log, corpus_lines("beyond-port-in-use-1.log"), "wb"))
        writer.start()
        writer.join()
        live.wait_for("port-in-use")

        with log.open("r+b") as fh:  # copytruncate / a restart that empties the file
            fh.truncate(0)
        time.sleep(1.0)
        writer = threading.Thread(target=slow_write, args=(log, corpus_lines("beyond-kv-cache-insufficient-3.log")))
        writer.start()
        writer.join()
        live.wait_for("kv-cache-insufficient")
        time.sleep(3.0)  # a quiet period: nothing may be printed again
    finally:
        rc, err = live.stop()
    assert rc == 0 and "Traceback" not in err  # Ctrl-C ends it cleanly
    assert "replaced" in err and "truncated" in err
    ids = live.ids()
    assert sorted(ids) == sorted(set(ids)) and {"cuda-oom", "port-in-use", "kv-cache-insufficient"} <= set(ids)


@needs_corpus
def test_follow_a_pipe_reports_before_the_stream_ends_and_exits_at_eof() -> None:
    live = Running("-", "--hang-after", "load_weights=3", stdin=subprocess.PIPE)
    assert live.proc.stdin is not None
    try:
        for raw in corpus_lines("seed-none-3.log"):  # a start that stops while loading the weights
            live.proc.stdin.write(raw)
        live.proc.stdin.flush()
        ev = live.wait_for("model-load-hang", timeout=20)  # reported after 3 s of silence, stream still open
        assert ev["diagnosis"]["severity"] == "warning"  # type: ignore[index]
        for raw in [*corpus_lines("seed-cuda-oom-4.log"), b"INFO 05-04 22:52:31 [launcher.py:80] Shutting down\n"]:
            live.proc.stdin.write(raw)
        live.proc.stdin.flush()
        live.wait_for("cuda-oom", timeout=20)
        live.proc.stdin.close()  # EOF: the follower says what is left and exits by itself
        assert live.proc.wait(timeout=20) == 0
    finally:
        rc, err = live.stop()
    assert rc == 0 and "Traceback" not in err
    assert sorted(live.ids()) == ["cuda-oom", "model-load-hang"]


# -- real journalctl -f ------------------------------------------------------------------------------------


def _export(message: bytes, usec: int) -> bytes:
    """One entry in the Journal Export Format that systemd-journal-remote reads."""
    fields = [b"__REALTIME_TIMESTAMP=%d" % usec, b"__MONOTONIC_TIMESTAMP=%d" % usec,
              b"_BOOT_ID=0123456789abcdef0123456789abcdef", b"_HOSTNAME=gpu-node-3", b"SYSLOG_IDENTIFIER=vllm",
              b"_PID=4121", b"_SYSTEMD_UNIT=vllm.service", b"MESSAGE=" + message.rstrip(b"\r\n")]
    return b"\n".join(fields) + b"\n\n"


def _entries(lines: list[bytes], start: int) -> Iterator[bytes]:
    for i, raw in enumerate(lines):
        yield _export(raw, start + i * 1000)


@needs_corpus
@pytest.mark.skipif(shutil.which("journalctl") is None or JOURNAL_REMOTE is None,
                    reason="needs journalctl and systemd-journal-remote (apt install systemd-journal-remote)")
def test_follow_real_journalctl_output(tmp_path: Path) -> None:
    journal = tmp_path / "vllm.journal"
    assert JOURNAL_REMOTE is not None
    remote = subprocess.Popen([JOURNAL_REMOTE, "-o", str(journal), "-"], stdin=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    assert remote.stdin is not None
    usec = int(time.time() * 1e6)
    for entry in _entries(corpus_lines("seed-none-9.log"), usec):
        remote.stdin.write(entry)
    remote.stdin.flush()
    deadline = time.monotonic() + 10
    while not journal.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # let the first entries land before journalctl opens the file
    jctl = subprocess.Popen(["journalctl", "--file", str(journal), "-f", "-n", "all", "-o", "short", "--no-pager"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    live = Running("-", stdin=jctl.stdout)  # journalctl -f | logclassify --follow -
    assert jctl.stdout is not None
    jctl.stdout.close()
    try:
        time.sleep(1.0)
        failure = corpus_lines("beyond-cuda-driver-too-old-1.log")
        for entry in _entries(failure, usec + 10_000_000):
            remote.stdin.write(entry)
        remote.stdin.flush()
        try:
            ev = live.wait_for("cuda-driver-too-old", timeout=30)
        except AssertionError:
            jctl.terminate()
            raise AssertionError(f"journalctl said: {jctl.stderr.read()!r}" if jctl.stderr else "") from None
        startup = len(corpus_lines("seed-none-9.log"))
        assert ev["diagnosis"]["evidence"][0]["line"] > startup  # type: ignore[index]  # after the startup entries
    finally:
        remote.stdin.close()
        remote.wait(timeout=10)
        jctl.terminate()
        jctl.wait(timeout=10)
        rc, err = live.stop()
    assert rc == 0 and "Traceback" not in err
    assert live.ids().count("cuda-driver-too-old") == 1
