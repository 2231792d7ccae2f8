"""Follow mode: a growing file (rotation, truncation), a pipe and real `journalctl -f` output, diagnosed live.

The Follower is driven with a fake clock for the timing rules (quiet period, hang limits); the CLI is driven for real:
another thread writes the file or the pipe while `logclassify --follow` runs in its own process.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from logclassify import default_classifier
from logclassify.follow import Follower, FollowOptions, follow, hang_limits, parse_hang_after
from logclassify.models import Event
from logclassify.read.live import FileFollower, LiveItem, NewFile
from logclassify.render.events import render_event

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
    """A follower on the fake clock (its wall clock too: event times are seconds after 1970-01-01 00:16:40)."""
    return Follower(default_classifier(), "live.log", FollowOptions(**opts), clock=clock,  # type: ignore[arg-type]
                    wallclock=clock)


SHUTDOWN = b"INFO 05-04 22:52:31 [launcher.py:80] Shutting down FastAPI HTTP server.\n"


def server_run(*failure: str) -> list[bytes]:
    """One run of a server: its start-up (vLLM's `non-default args` line among it), failures, a line after them."""
    return corpus_lines("seed-none-9.log") + [raw for name in failure for raw in corpus_lines(name)] + [SHUTDOWN]


def diagnoses(events: list[Event]) -> list[tuple[str, int]]:
    return [(e.diagnosis.id, e.occurrence) for e in events if e.diagnosis is not None]


def assert_evidence_from(ev: Event, lines: list[bytes]) -> None:
    """Each evidence line of the event is the line of `lines` that its number names."""
    payload = ev.diagnosis or ev.unrecognized
    assert payload is not None and payload.evidence
    for e in payload.evidence:
        assert 1 <= e.line <= len(lines) and e.text in lines[e.line - 1].decode(), (e.line, e.text)


# -- the Follower's timing -------------------------------------------------------------------------------


@needs_corpus
def test_a_completed_traceback_is_reported_at_once_and_only_once() -> None:
    clock = Clock()
    f = follower(clock)
    events = []
    for raw in corpus_lines("seed-none-9.log")[:20] + corpus_lines("seed-cuda-oom-4.log"):
        events += f.feed(raw)
    assert events == []  # the exception line is last: it may still continue
    events += f.feed(SHUTDOWN)
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


@needs_corpus
def test_a_cause_that_comes_back_after_a_restart_is_reported_again_with_its_count() -> None:
    """A crash loop in one stream: each run ends in an OOM. Each is an alert, counted, with its own run's lines."""
    clock = Clock()
    f = follower(clock)
    run = server_run("seed-cuda-oom-4.log")
    stream: list[bytes] = []
    first: list[Event] = []
    for raw in run:
        stream.append(raw)
        first += f.feed(raw)
    assert diagnoses(first) == [("cuda-oom", 1)] and first[0].first_at is None
    clock.now += 300  # the supervisor restarts the server; five minutes later it runs out of memory again
    second: list[Event] = []
    for raw in run:
        stream.append(raw)
        second += f.feed(raw)
    assert diagnoses(second) == [("cuda-oom", 2)]
    ev = second[0]
    assert ev.first_at == first[0].at and ev.to_dict()["occurrence"] == 2
    assert ev.diagnosis is not None and ev.diagnosis.first_line > len(run)  # this run's OOM, numbered in the stream
    assert_evidence_from(ev, stream)
    assert "cuda-oom again (2nd time in 5 min)" in render_event(ev, "text")
    assert "occurrence" not in first[0].to_dict()  # a first event reads as it always did


@needs_corpus
def test_repeats_are_rate_limited_and_every_occurrence_is_counted() -> None:
    clock = Clock()
    f = follower(clock, repeat_every_s=60.0)
    run = server_run("seed-cuda-oom-4.log")
    events: list[Event] = []
    for _ in range(4):  # a server that dies every five seconds
        for raw in run:
            events += f.feed(raw)
        clock.now += 5
        events += f.tick()
    assert diagnoses(events) == [("cuda-oom", 1)]  # the repeats are held back, not lost
    clock.now += 45
    assert diagnoses(f.tick()) == [("cuda-oom", 4)]  # a minute after the first: one event, the count so far
    for raw in run:
        events += f.feed(raw)
    assert diagnoses(events) == [("cuda-oom", 1)]
    assert diagnoses(f.finish()) == [("cuda-oom", 5)]  # the end says what was still held


@needs_corpus
def test_a_restart_before_any_alarm_keeps_one_run() -> None:
    """vLLM prints its start-up lines more than once (API server, engine core): no alarm yet, so no new run."""
    clock = Clock()
    f = follower(clock)
    lines = corpus_lines("seed-none-9.log") * 2 + corpus_lines("beyond-port-in-use-1.log")
    for raw in lines:
        f.feed(raw)
    clock.now += 5
    (ev,) = f.tick()
    assert ev.diagnosis is not None and ev.diagnosis.id == "port-in-use" and ev.occurrence == 1
    assert f.head_start == 0  # the window still starts at line 1


def scripted(source: Iterator[LiveItem], clock: Clock, steps: list[Callable[[], object]]) -> Iterator[LiveItem]:
    """The source's items, the fake clock moving 1 s per idle tick; after 4 idle ticks (the follower has settled)
    the next step changes the file, and the source ends when no step is left."""
    idle = 0
    for item in source:
        if item is None:
            clock.now += 1.0
            idle += 1
            if idle == 4:
                if not steps:
                    return
                steps.pop(0)()
                idle = 0
        else:
            idle = 0
        yield item


@needs_corpus
def test_after_rotation_and_truncation_evidence_is_from_the_new_file_numbered_from_line_1(tmp_path: Path) -> None:
    path = tmp_path / "vllm.log"
    first = server_run("beyond-port-in-use-1.log")
    second = [*corpus_lines("seed-cuda-oom-4.log"), SHUTDOWN]
    third = server_run("seed-cuda-oom-4.log")  # longer than the file it replaces: rewritten past our position
    path.write_bytes(b"".join(first))
    clock = Clock()
    notices: list[str] = []
    steps = [lambda: (path.rename(tmp_path / "vllm.log.1"), path.write_bytes(b"".join(second))),
             lambda: path.write_bytes(b"".join(third))]
    events: list[Event] = []
    source = FileFollower(path, poll_s=0.001, notice=notices.append).lines()
    follow(follower(clock), scripted(source, clock, steps), events.append)
    assert diagnoses(events) == [("port-in-use", 1), ("cuda-oom", 1), ("cuda-oom", 2)]
    for ev, lines in zip(events, (first, second, third), strict=True):
        assert_evidence_from(ev, lines)
    assert len(notices) == 2 and "replaced" in notices[0] and "truncated" in notices[1]


def test_a_stray_frame_line_does_not_stop_the_periodic_checks() -> None:
    """A `File "..."` line that no exception follows is not a traceback: checks due every `max_delay_s` go on."""
    clock = Clock()
    f = follower(clock, max_delay_s=10.0)
    f.feed(b'  File "/srv/app.py", line 3, in <module>\n')
    events: list[Event] = []
    for i in range(30):
        clock.now += 1
        events += f.feed(b"ERROR 05-04 23:10:%02d [core.py:1] worker %d failed: RuntimeError: CUDA error: an illegal "
                         b"memory access was encountered\n" % (i, i))
    assert [e.kind for e in events] == ["unrecognized"]


def test_the_readme_gives_the_hang_limits_the_rules_give() -> None:
    """The README's defaults are a copy of the rules' `live: {silent_for}`: a changed rule must change it too."""
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    listed = text.split("`live: {silent_for: N}`: ", 1)[1].split("; `--hang-after N`", 1)[0]
    assert {k: float(v) for k, v in (item.split() for item in listed.split(", "))} == hang_limits()


def test_hang_after_option() -> None:
    assert set(parse_hang_after(["30"]).values()) == {30.0}
    limits = parse_hang_after(["compile=1200"])
    assert limits["compile"] == 1200.0 and limits["load_weights"] == 600.0
    with pytest.raises(ValueError, match="unknown phase"):
        parse_hang_after(["loading=5"])
    for bad in ("-5", "compile=-1", "nan", "soon"):
        with pytest.raises(ValueError, match="--hang-after"):
            parse_hang_after([bad])


# -- tail -F on a real file --------------------------------------------------------------------------------


def test_file_follower_survives_rotation_and_truncation(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    notices: list[str] = []
    lines = FileFollower(path, poll_s=0.001, notice=notices.append).lines()

    def take(n: int) -> list[bytes | NewFile]:
        got: list[bytes | NewFile] = []
        for item in itertools.islice(lines, 1000):  # at most a second of idle polls
            assert not isinstance(item, int)
            if item is not None:
                got.append(item)
                if len(got) == n:
                    return got
        raise AssertionError(f"got only {got}")

    assert next(lines) is None  # the file does not exist yet: wait for it
    path.write_bytes(b"one\ntwo\n")
    assert take(2) == [b"one\n", b"two\n"]
    with path.open("ab") as fh:
        fh.write(b"three\npartial")
    assert take(1) == [b"three\n"]
    path.rename(tmp_path / "app.log.1")
    path.write_bytes(b"new file\n")
    # the old file's last line, then word that a new file begins, then the new file
    assert take(3) == [b"partial\n", NewFile("rotated"), b"new file\n"]
    path.write_bytes(b"x\n")  # truncated to less than was read, then rewritten
    assert take(2) == [NewFile("truncated"), b"x\n"]
    path.write_bytes(b"y\nand more than was read\n")  # emptied and rewritten past our position between two polls
    assert take(3) == [NewFile("truncated"), b"y\n", b"and more than was read\n"]
    with path.open("ab") as fh:
        fh.write(b"appended\n")
    assert take(1) == [b"appended\n"]  # growing is not rewriting
    assert [n.split(";")[0].split()[-1] for n in notices] == ["replaced", "truncated", "truncated"]


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
            assert isinstance(item, bytes)
            events += f.feed(item)
    events += f.finish()
    (ev,) = [e for e in events if e.diagnosis is not None]
    assert ev.diagnosis is not None and ev.diagnosis.id == "port-in-use"
    text = path.read_text(encoding="utf-8").splitlines()
    for e in ev.diagnosis.evidence:
        assert e.text in text[e.line - 1]  # the line numbers are those of the file


def _die_with_parent(ignore_sigint: bool) -> Callable[[], None]:
    """In the child before exec: end when the test process dies (Linux), and ignore SIGINT like a background job."""
    def setup() -> None:
        if ignore_sigint:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        if sys.platform == "linux":
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    return setup


def terminate(proc: subprocess.Popen[bytes], grace: float = 10.0) -> int:
    """Stop a child for certain: SIGTERM (the follower's own clean stop), then SIGKILL if it is still there."""
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


class Running:
    """`logclassify --follow ...` in its own process, its JSON events collected by a thread as they come.

    A context manager: however the test ends, the process is stopped (SIGTERM, then SIGKILL) and reaped. It starts
    with SIGINT ignored, as a shell starts `cmd &` (a suite run in the background), so SIGTERM is what must stop it.
    """

    def __init__(self, *args: str, stdin: int | IO[bytes] | None = subprocess.DEVNULL) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "logclassify", "--format", "jsonl", "--follow", *args],
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
            preexec_fn=_die_with_parent(ignore_sigint=True),
        )
        self.events: queue.Queue[dict[str, object]] = queue.Queue()
        self.seen: list[dict[str, object]] = []
        self.result: tuple[int, str] | None = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

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
        """Stop it (once) and return its exit status and stderr."""
        if self.result is None:
            rc = terminate(self.proc)
            self.reader.join(timeout=10)
            while not self.events.empty():
                self.seen.append(self.events.get())
            assert self.proc.stderr is not None
            self.result = (rc, self.proc.stderr.read().decode())
            self.proc.stderr.close()
            assert self.proc.stdout is not None
            self.proc.stdout.close()
        return self.result

    def ids(self) -> list[str]:
        return [str(e["diagnosis"]["id"]) for e in self.seen if isinstance(e.get("diagnosis"), dict)]  # type: ignore[index]


def slow_write(path: Path, lines: list[bytes], mode: str = "ab") -> None:
    """Write like a server: a line at a time, flushed, a few milliseconds apart."""
    with path.open(mode) as fh:
        for raw in lines:
            fh.write(raw)
            fh.flush()
            time.sleep(0.002)


@pytest.mark.slow
@needs_corpus
def test_follow_a_file_written_by_another_thread_through_rotation_and_truncation(tmp_path: Path) -> None:
    log = tmp_path / "vllm.log"
    with Running(str(log)) as live:  # the file does not exist yet, like tail -F
        startup = corpus_lines("seed-none-9.log")
        slow_write(log, startup + corpus_lines("seed-cuda-oom-4.log") + startup)
        live.wait_for("cuda-oom")

        log.rename(tmp_path / "vllm.log.1")  # logrotate: move away, start a new file
        slow_write(log, corpus_lines("beyond-port-in-use-1.log"), "wb")
        port = live.wait_for("port-in-use")

        with log.open("r+b") as fh:  # copytruncate / a restart that empties the file
            fh.truncate(0)
        time.sleep(0.5)
        slow_write(log, corpus_lines("beyond-kv-cache-insufficient-3.log"))
        live.wait_for("kv-cache-insufficient")
        time.sleep(2.5)  # a quiet period: nothing may be printed again
        rc, err = live.stop()  # SIGTERM (SIGINT is ignored, as in a background job)
    assert rc == 0 and "Traceback" not in err  # it ends cleanly
    assert "replaced" in err and "truncated" in err
    ids = live.ids()
    assert sorted(ids) == sorted(set(ids)) and {"cuda-oom", "port-in-use", "kv-cache-insufficient"} <= set(ids)
    lines = corpus_lines("beyond-port-in-use-1.log")  # the new file's own line numbers
    for e in port["diagnosis"]["evidence"]:  # type: ignore[index]
        assert e["text"] in lines[e["line"] - 1].decode()


@pytest.mark.slow
@needs_corpus
def test_follow_a_pipe_reports_before_the_stream_ends_and_exits_at_eof() -> None:
    with Running("-", "--hang-after", "load_weights=3", stdin=subprocess.PIPE) as live:
        stdin = live.proc.stdin
        assert stdin is not None
        for raw in corpus_lines("seed-none-3.log"):  # a start that stops while loading the weights
            stdin.write(raw)
        stdin.flush()
        ev = live.wait_for("model-load-hang", timeout=20)  # reported after 3 s of silence, stream still open
        assert ev["diagnosis"]["severity"] == "warning"  # type: ignore[index]
        for raw in [*corpus_lines("seed-cuda-oom-4.log"), SHUTDOWN]:
            stdin.write(raw)
        stdin.flush()
        live.wait_for("cuda-oom", timeout=20)
        stdin.close()  # EOF: the follower says what is left and exits by itself
        assert live.proc.wait(timeout=20) == 0
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


@pytest.mark.slow
@needs_corpus
@pytest.mark.skipif(shutil.which("journalctl") is None or JOURNAL_REMOTE is None,
                    reason="needs journalctl and systemd-journal-remote (apt install systemd-journal-remote)")
def test_follow_real_journalctl_output(tmp_path: Path) -> None:
    journal = tmp_path / "vllm.journal"
    assert JOURNAL_REMOTE is not None
    children: list[subprocess.Popen[bytes]] = []
    try:
        remote = subprocess.Popen([JOURNAL_REMOTE, "-o", str(journal), "-"], stdin=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent(ignore_sigint=False))
        children.append(remote)
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
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=_die_with_parent(ignore_sigint=False))
        children.append(jctl)
        assert jctl.stdout is not None
        with Running("-", stdin=jctl.stdout) as live:  # journalctl -f | logclassify --follow -
            jctl.stdout.close()
            time.sleep(1.0)
            failure = corpus_lines("beyond-cuda-driver-too-old-1.log")
            for entry in _entries(failure, usec + 10_000_000):
                remote.stdin.write(entry)
            remote.stdin.flush()
            try:
                ev = live.wait_for("cuda-driver-too-old", timeout=30)
            except AssertionError:
                terminate(jctl)
                raise AssertionError(f"journalctl said: {jctl.stderr.read()!r}" if jctl.stderr else "") from None
            startup = len(corpus_lines("seed-none-9.log"))
            assert ev["diagnosis"]["evidence"][0]["line"] > startup  # type: ignore[index]  # after the startup entries
            remote.stdin.close()
            rc, err = live.stop()
    finally:
        for child in children:
            terminate(child)
    assert rc == 0 and "Traceback" not in err
    assert live.ids().count("cuda-driver-too-old") == 1
