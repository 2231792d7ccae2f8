"""`--follow` of many files: a folder or glob whose files come and go, a collector's records, one diagnosis per source.

Driven in-process with a fake clock (no sleeping): `TailSet` lists and tails real files in a temporary folder, the
`Hub` gives each source its follower. The command itself, with metrics, is tested in test_follow_metrics.py.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from logclassify import default_classifier
from logclassify.follow import Follower, FollowOptions, Hub
from logclassify.follow.records import STDIN, record_items, record_source, split_record
from logclassify.follow.watch import CaughtUp, Gone, Item, TailSet, listing, source_key
from logclassify.models import Event
from logclassify.read.live import NewFile

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is not available")
CRI = b"2024-06-10T21:32:17.123456789Z stderr F "
ID_A, ID_B = "a" * 64, "b" * 64


def corpus(name: str, cri: bool = False) -> bytes:
    lines = (CORPUS / name).read_bytes().splitlines(keepends=True)
    return b"".join(CRI + raw if cri else raw for raw in lines)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def names(pairs: list[tuple[str, Item]]) -> dict[str, list[Item]]:
    """Each file's items (by file name), its batches of lines flattened."""
    out: dict[str, list[Item]] = {}
    for name, item in pairs:
        out.setdefault(Path(name).name, []).extend(item if isinstance(item, list) else [item])
    return out


def items(pairs: list[tuple[str, Item]]) -> list[Item]:
    return [i for batch in names(pairs).values() for i in batch]


def test_new_files_are_picked_up_and_deleted_ones_forgotten(tmp_path: Path) -> None:
    clock = Clock()
    notes: list[str] = []
    tails = TailSet([str(tmp_path / "vllm-*.log")], rescan_s=1.0, gone_after_s=5.0, notice=notes.append, clock=clock)
    assert tails.poll() == []  # nothing yet: waits
    (tmp_path / "vllm-0.log").write_bytes(b"one\n")
    (tmp_path / "other.log").write_bytes(b"not followed\n")
    assert tails.poll() == []  # not listed again before rescan_s
    clock.now += 1
    assert names(tails.poll()) == {"vllm-0.log": [b"one\n"]}
    assert isinstance(names(tails.poll())["vllm-0.log"][0], CaughtUp)  # read to its end, once
    assert tails.poll() == []
    (tmp_path / "vllm-1.log").write_bytes(b"two\n")
    with (tmp_path / "vllm-0.log").open("ab") as fh:
        fh.write(b"three\n")
    clock.now += 1
    got = names(tails.poll())
    assert got["vllm-0.log"] == [b"three\n"] and got["vllm-1.log"] == [b"two\n"]

    with (tmp_path / "vllm-0.log").open("ab") as fh:
        fh.write(b"last words\n")  # written just before the pod was deleted: still read
    os.unlink(tmp_path / "vllm-0.log")
    clock.now += 1
    assert names(tails.poll())["vllm-0.log"] == [b"last words\n"]  # read through the open file; not yet forgotten
    clock.now += 5
    got = names(tails.poll())
    assert got["vllm-0.log"] == [Gone()]
    assert list(map(os.path.basename, tails.tails)) == ["vllm-1.log"]
    assert any("vllm-0.log is gone" in n for n in notes)
    (tmp_path / "vllm-0.log").write_bytes(b"a new pod of the same name\n")
    clock.now += 1
    assert names(tails.poll())["vllm-0.log"] == [b"a new pod of the same name\n"]  # from its start
    tails.close()


def test_a_file_moved_away_and_back_within_the_grace_is_not_forgotten(tmp_path: Path) -> None:
    clock = Clock()
    log = tmp_path / "a.log"
    log.write_bytes(b"x\n")
    tails = TailSet([str(tmp_path)], gone_after_s=5.0, clock=clock)
    assert names(tails.poll())["a.log"] == [b"x\n"]
    log.rename(tmp_path / "a.log.1")  # logrotate: moved away, recreated a moment later
    clock.now += 2
    tails.poll()
    log.write_bytes(b"y\n")
    clock.now += 2
    assert [i for i in names(tails.poll())["a.log"] if not isinstance(i, CaughtUp)] == [NewFile("rotated")]
    clock.now += 10
    assert names(tails.poll())["a.log"] == [b"y\n"]  # still followed; the rotated copy is not
    assert list(tails.tails) == [str(log)]
    tails.close()


def test_kubelet_rotation_and_truncation_behind_a_symlink(tmp_path: Path) -> None:
    """/var/log/containers/X.log is a link to /var/log/pods/.../0.log; kubelet renames 0.log away and the runtime
    opens a new one; a truncated file is read again from its start."""
    pods, containers = tmp_path / "pods", tmp_path / "containers"
    pods.mkdir()
    containers.mkdir()
    real = pods / "0.log"
    real.write_bytes(b"first\n")
    (containers / f"vllm-0_default_vllm-{ID_A}.log").symlink_to(real)
    clock = Clock()
    tails = TailSet([str(containers / "vllm-*.log")], clock=clock)
    assert next(i for i in items(tails.poll()) if not isinstance(i, CaughtUp)) == b"first\n"
    real.rename(pods / "0.log.20240610-213217")
    real.write_bytes(b"second\n")
    clock.now += 1
    got = [i for i in items(tails.poll()) if not isinstance(i, CaughtUp)] + items(tails.poll())
    assert got == [NewFile("rotated"), b"second\n"]
    real.write_bytes(b"3\n")  # shorter than what was read: truncated
    clock.now += 1
    assert items(tails.poll()) + items(tails.poll()) == [NewFile("truncated"), b"3\n"]
    real.unlink()  # the pod is deleted: the link dangles, then goes
    clock.now += 1
    assert Gone() not in items(tails.poll())
    clock.now += 10
    assert items(tails.poll()) == [Gone()] and tails.tails == {}
    tails.close()


def test_a_folder_follows_its_log_files_only(tmp_path: Path) -> None:
    for name in ("a.log", "b.txt", "a.log.1", "a.log.2.gz", ".hidden.log", "notes.md"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.log").write_text("x\n")
    assert [Path(p).name for p in listing([str(tmp_path)])] == ["a.log", "b.txt"]
    assert listing([str(tmp_path / "missing")]) == []


def test_source_keys() -> None:
    assert source_key(f"/var/log/containers/vllm-0_prod_vllm-{ID_A}.log") == "prod/vllm-0/vllm"
    assert source_key(f"vllm-0_prod_vllm-sidecar-{ID_B}.log") == "prod/vllm-0/vllm-sidecar"
    assert source_key("/var/log/vllm/server.log") == "/var/log/vllm/server.log"


# -- the hub: one follower per source -----------------------------------------------------------------------------


def hub(clock: Clock, events: list[Event]) -> Hub:
    opt = FollowOptions(repeat_every_s=0.0)
    return Hub(default_classifier(), opt, events.append, keep_s=60.0, clock=clock, wallclock=clock)


def feed(h: Hub, name: str, text: bytes, clock: Clock) -> None:
    for raw in text.splitlines(keepends=True):
        h.handle(name, raw)
    for _ in range(4):  # quiet for a while: what is certain is said
        clock.now += 1
        h.handle(None, None)


def found(events: list[Event]) -> list[tuple[str, str, int]]:
    return [(Path(e.source).name, e.diagnosis.id, e.occurrence) for e in events if e.diagnosis is not None]


@needs_corpus
def test_each_diagnosis_is_reported_once_per_source(tmp_path: Path) -> None:
    clock = Clock()
    events: list[Event] = []
    h = hub(clock, events)
    a, b = f"vllm-0_default_vllm-{ID_A}.log", f"vllm-1_default_vllm-{ID_B}.log"
    oom = corpus("seed-cuda-oom-4.log", cri=True)
    half = len(oom) // 2
    feed(h, a, oom[:half], clock)
    feed(h, b, oom, clock)  # the same failure in another pod: its own diagnosis
    feed(h, a, oom[half:], clock)
    for _ in range(30):
        clock.now += 1
        h.handle(None, None)
    h.finish(eof=False)
    assert sorted(found(events)) == [(a, "cuda-oom", 1), (b, "cuda-oom", 1)]
    assert h.stats["default/vllm-0/vllm"].diagnoses == {("cuda-oom", "error"): 1}
    assert h.stats["default/vllm-1/vllm"].lines == oom.count(b"\n")
    assert h.stats["default/vllm-1/vllm"].bytes == len(oom)


@needs_corpus
def test_a_crash_loop_across_container_restarts_counts_in_one_source() -> None:
    """A restarted container writes a new file (new container id): the cause is the same crash loop, repeated."""
    clock = Clock()
    events: list[Event] = []
    h = hub(clock, events)
    oom = corpus("seed-cuda-oom-4.log", cri=True)
    first, second = f"vllm-0_default_vllm-{ID_A}.log", f"vllm-0_default_vllm-{ID_B}.log"
    feed(h, first, oom, clock)
    feed(h, second, oom, clock)
    h.handle(first, Gone())  # kubelet removes the older log
    assert found(events) == [(first, "cuda-oom", 1), (second, "cuda-oom", 2)]
    assert h.stats["default/vllm-0/vllm"].diagnoses == {("cuda-oom", "error"): 2}
    feed(h, f"vllm-1_default_vllm-{ID_A}.log", oom, clock)  # another pod: its own first
    assert found(events)[-1][1:] == ("cuda-oom", 1)


@needs_corpus
def test_a_forgotten_source_leaves_nothing_behind() -> None:
    clock = Clock()
    events: list[Event] = []
    h = hub(clock, events)
    for i in range(50):
        name = f"pod-{i}_default_vllm-{ID_A}.log"
        feed(h, name, corpus("beyond-port-in-use-1.log"), clock)
        h.handle(name, Gone())
    assert len(found(events)) == 50 and h.followers == {} and h.repeats == {} and h.forgotten == 50
    kept = h.stats.values()  # a forgotten source's counts stay keep_s (60 s here) for the metrics' last scrapes
    assert 0 < len(kept) < 50 and all(s.forgotten_at is not None and clock.now - s.forgotten_at < 60 for s in kept)
    clock.now += 61
    h.handle(None, None)
    assert h.stats == {}


@needs_corpus
def test_a_diagnosis_pending_when_a_file_is_deleted_is_still_reported() -> None:
    clock = Clock()
    events: list[Event] = []
    h = hub(clock, events)
    name = "crashed.log"
    for raw in corpus("beyond-port-in-use-1.log").splitlines(keepends=True):
        h.handle(name, raw)
    h.handle(name, Gone())  # no quiet period in between
    assert [e.diagnosis.id for e in events if e.diagnosis] == ["port-in-use"]


# -- collectors on stdin ------------------------------------------------------------------------------------------

FLUENT_BIT = {"date": 1718055137.123, "log": "RuntimeError: boom\n", "stream": "stderr", "time": "2024-06-10T21:32:17Z",
              "kubernetes": {"pod_name": "vllm-0", "namespace_name": "prod", "container_name": "vllm",
                             "pod_id": "1f2e", "host": "gpu-node-3"}}
VECTOR = {"message": "RuntimeError: boom", "stream": "stdout", "source_type": "kubernetes_logs",
          "file": "/var/log/pods/prod_vllm-1_1f2e/vllm/0.log",
          "kubernetes": {"pod_name": "vllm-1", "pod_namespace": "prod", "container_name": "vllm"}}


def test_collector_records_name_their_source() -> None:
    assert record_source(FLUENT_BIT) == "prod/vllm-0/vllm"
    assert record_source(VECTOR) == "prod/vllm-1/vllm"
    assert record_source({"log": "x", "pod": "p", "namespace": "n", "container": "c"}) == "n/p/c"
    assert record_source({"log": "x", "filename": f"/var/log/containers/p_n_c-{ID_A}.log"}) == "n/p/c"
    assert record_source({"log": "x", "stream": "stderr"}) == STDIN
    assert split_record(json.dumps(FLUENT_BIT).encode() + b"\n") == ("prod/vllm-0/vllm", [b"RuntimeError: boom\n"])
    assert split_record(json.dumps({"message": "a\nb", "pod_name": "p"}).encode()) == ("-/p/-", [b"a\n", b"b\n"])
    for plain in (b"INFO 06-10 21:32:17 [api_server.py:1] up\n", b'{"MESSAGE": "journald"}\n', b"{not json\n",
                  b'{"log": 3}\n', b"[1, 2]\n"):
        assert split_record(plain) == (STDIN, [plain])


@needs_corpus
def test_collector_stream_interleaving_two_pods_reports_each_with_its_pod() -> None:
    oom = corpus("seed-cuda-oom-4.log").decode().splitlines()
    port = corpus("beyond-port-in-use-1.log").decode().splitlines()
    records = []
    for i in range(max(len(oom), len(port))):  # Fluent Bit for one pod, Vector for the other, interleaved
        if i < len(oom):
            records.append({**FLUENT_BIT, "log": oom[i] + "\n"})
        if i < len(port):
            records.append({**VECTOR, "message": port[i]})
    stream = io.BytesIO(b"".join(json.dumps(r).encode() + b"\n" for r in records))
    clock = Clock()
    events: list[Event] = []
    h = hub(clock, events)
    for name, item in record_items(stream, 0.01):
        h.handle(name, item)
    h.finish(eof=True)
    assert sorted((e.source, e.diagnosis.id) for e in events if e.diagnosis) == [
        ("prod/vllm-0/vllm", "cuda-oom"), ("prod/vllm-1/vllm", "port-in-use")]
    assert h.stats["prod/vllm-0/vllm"].lines == len(oom)


# -- the per-line cost ---------------------------------------------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize("backend", ["auto", "python"])
def test_a_batch_scan_finds_the_lines_that_a_line_by_line_scan_finds(backend: str) -> None:
    from logclassify.follow.relevance import relevant_lines
    from logclassify.select.scanner import Scanner

    scanner = Scanner(default_classifier().scanner.plan, backend=backend)
    lines = [raw if raw.endswith(b"\n") else raw + b"\n"
             for path in sorted(CORPUS.glob("*.log")) for raw in path.read_bytes().splitlines(keepends=True)]
    expected = [scanner.hit(line) for line in lines]
    assert 100 < sum(expected) < len(lines)  # some lines are kept, not all
    for size in (1, 7, 500, len(lines)):
        got = [r for i in range(0, len(lines), size) for r in relevant_lines(scanner, lines[i:i + size])]
        assert got == expected, f"batches of {size}"


def test_request_ids_do_not_make_every_line_new(monkeypatch: pytest.MonkeyPatch) -> None:
    """A busy server's access lines hold request ids: they are one shape, not a reason to classify again."""
    import random

    rng = random.Random(5)
    clock = Clock()
    f = Follower(default_classifier(), "x", FollowOptions(max_delay_s=1.0), clock=clock)
    checks = []
    real = f.check
    monkeypatch.setattr(f, "check", lambda *a, **k: checks.append(1) or real(*a, **k))
    lines = [b'INFO:     10.0.%d.%d:%d - "GET /v1/requests/cmpl-%032x HTTP/1.1" 200 OK\n'
             % (rng.randrange(256), rng.randrange(256), rng.randrange(65536), rng.getrandbits(128)) for _ in range(3000)]
    assert all(default_classifier().scanner.hit(line) for line in lines[:10])  # lines a rule looks for
    for i in range(0, len(lines), 100):
        clock.now += 1
        f.feed_many(lines[i:i + 100])
    assert len(checks) <= 1 and len(f.shapes) <= 2


@needs_corpus
def test_the_counters_see_occurrences_that_repeat_every_holds_back() -> None:
    clock = Clock()
    events: list[Event] = []
    h = Hub(default_classifier(), FollowOptions(repeat_every_s=3600.0), events.append, clock=clock, wallclock=clock)
    oom = corpus("seed-cuda-oom-4.log", cri=True)
    for restart in range(3):  # three containers of one pod crash within the hour
        feed(h, f"vllm-0_default_vllm-{restart:064x}.log", oom, clock)
    assert found(events) == [(f"vllm-0_default_vllm-{0:064x}.log", "cuda-oom", 1)]  # the repeats are held
    assert h.stats["default/vllm-0/vllm"].diagnoses == {("cuda-oom", "error"): 3}
    h.finish(eof=False)
    assert [e.occurrence for e in events] == [1, 3]  # the held repeat, with its count, when following ends
