"""No hangs, nothing lost: a dead worker, a named pipe, an unreadable or damaged input costs only that input.

Every test runs the command in a subprocess with a timeout, so a regression shows as a failure, not a hung suite.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from logclassify import batch
from tests.conftest import DEVICE_INFER_LOG as LOG
from tests.conftest import run_cli

CAUSE = "device-infer-failed"
LIMIT = 60  # seconds: far above what each command needs, far below "forever"


def _ids(report: dict[str, object]) -> list[str]:
    return [d["id"] for d in report["diagnoses"]]  # type: ignore[attr-defined, index]


# -- a worker process that dies ------------------------------------------------------------------------------

_DRIVER = textwrap.dedent("""\
    import os, signal, sys
    from logclassify.engine.classifier import Classifier

    real = Classifier.classify_path

    def dying(self, path, **kw):
        if str(path).endswith("boom.log"):  # the OOM killer, as the worker sees it
            if sys.argv[1] == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(3)
        return real(self, path, **kw)

    Classifier.classify_path = dying
    from logclassify.cli import main
    main(sys.argv[2:], prog_name="logclassify")
""")


@pytest.mark.parametrize("how", ["kill", "exit"])
def test_a_dead_worker_fails_its_input_and_every_other_input_is_reported(tmp_path: Path, how: str) -> None:
    names = []
    for name in ("a.log", "b.log", "boom.log", "c.log", "d.log", "e.log"):
        (tmp_path / name).write_text(LOG)
        names.append(str(tmp_path / name))
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER)
    r = subprocess.run([sys.executable, str(driver), how, "-j", "2", "--format", "jsonl", *names],
                       capture_output=True, timeout=LIMIT, cwd=Path(__file__).parent.parent)
    assert r.returncode == 2, r.stderr
    err = r.stderr.decode()
    assert "boom.log" in err and "worker" in err, err
    reports = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [x["source"] for x in reports] == names  # input order, none missing
    for report in reports:
        if report["source"].endswith("boom.log"):
            assert report["error"] and "worker" in report["error"]
        else:
            assert _ids(report) == [CAUSE] and report["error"] is None


def test_a_worker_may_scan_a_large_file_in_parallel_itself(tmp_path: Path) -> None:
    """Pool workers used to be daemons, which may not start processes: with -j, a file large enough for the
    parallel byte-range scan failed every input ("daemonic processes are not allowed to have children")."""
    pytest.importorskip("hyperscan")  # the parallel scan needs it
    names = []
    for name in ("a.log", "b.log"):
        (tmp_path / name).write_text(LOG + "INFO 06-10 21:32:18 [engine.py:9] step\n" * 5000)
        names.append(str(tmp_path / name))
    driver = tmp_path / "driver.py"
    driver.write_text("import sys\nfrom logclassify.select import window\nwindow.PARALLEL_MIN_BYTES = 4096\n"
                      "from logclassify.cli import main\nmain(sys.argv[1:], prog_name='logclassify')\n")
    r = subprocess.run([sys.executable, str(driver), "-j", "2", "--format", "jsonl", *names],
                       capture_output=True, timeout=LIMIT, cwd=Path(__file__).parent.parent)
    assert r.returncode == 0, r.stderr
    assert [_ids(json.loads(line)) for line in r.stdout.decode().splitlines()] == [[CAUSE], [CAUSE]]


# -- named pipes -------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _pipe_fed_with(text: str, folder: Path) -> Iterator[Path]:
    """A named pipe that a writer process fills with `text` once; the writer is stopped for certain."""
    source = folder / "source.log"
    source.write_text(text)
    fifo = folder / "pipe.log"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat '{source}' > '{fifo}'"])
    try:
        yield fifo
    finally:
        writer.kill()
        writer.wait()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_a_named_pipe_given_by_name_is_read_once(tmp_path: Path) -> None:
    with _pipe_fed_with(LOG, tmp_path) as fifo:
        r = run_cli("--format", "json", str(fifo), timeout=LIMIT)
    assert r.returncode == 0, r.stderr
    assert _ids(json.loads(r.stdout)) == [CAUSE]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_a_named_pipe_is_not_opened_again_for_a_parallel_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second open is what hangs (once the writer is gone, it waits for a new one), so it must not happen."""
    from logclassify.engine.classifier import Classifier

    clf = Classifier()

    def second_open(*_args: object, **_kw: object) -> None:
        raise AssertionError("the named pipe was opened a second time")

    monkeypatch.setattr(clf.scanner, "select_file", second_open)
    with _pipe_fed_with(LOG, tmp_path) as fifo:
        report = clf.classify_path(fifo)
    assert _ids(report.model_dump()) == [CAUSE]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_special_files_in_a_folder_are_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(LOG)
    os.mkfifo(tmp_path / "pipe.log")  # nobody writes to it: opening it would wait forever
    r = run_cli("--format", "jsonl", str(tmp_path), timeout=LIMIT)
    assert r.returncode == 0, r.stderr
    reports = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [x["source"] for x in reports] == [str(tmp_path / "a.log")]
    assert "pipe.log" in r.stderr.decode() and "not a regular file" in r.stderr.decode()


# -- unreadable and damaged inputs -------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc: a file that opens but cannot be read")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_unreadable_file_costs_only_itself(tmp_path: Path, jobs: str) -> None:
    good = tmp_path / "good.log"
    good.write_text(LOG)
    bad = "/proc/self/mem"  # opens, then every read fails with EIO (also for root, who can open anything)
    r = run_cli("-j", jobs, "--format", "json", bad, str(good), timeout=LIMIT)
    assert r.returncode == 2
    err = r.stderr.decode()
    assert "Traceback" not in err and f"{bad}:" in err, err
    reports = json.loads(r.stdout)
    assert reports[0]["error"] and _ids(reports[1]) == [CAUSE]


def _damaged_gzip(tmp_path: Path) -> Path:
    rng = random.Random(3)
    filler = "".join(f"INFO 06-10 21:32:18 [engine.py:9] step {rng.getrandbits(64):x}\n" for _ in range(20000))
    whole = gzip.compress((LOG + filler).encode())
    path = tmp_path / "server.log.gz"
    path.write_bytes(whole[: len(whole) // 2])  # the download broke off half-way
    return path


def test_a_truncated_gzip_is_classified_up_to_the_damage(tmp_path: Path) -> None:
    path = _damaged_gzip(tmp_path)
    r = run_cli("--format", "json", str(path), timeout=LIMIT)
    assert r.returncode == 2
    err = r.stderr.decode()
    assert f"{path}:" in err and "damaged" in err, err
    report = json.loads(r.stdout)
    assert _ids(report) == [CAUSE]
    assert 1000 < report["lines"] < 20005 and "damaged" in report["error"]


def test_a_truncated_gzip_in_text_output_still_shows_its_cause(tmp_path: Path) -> None:
    path = _damaged_gzip(tmp_path)
    r = run_cli("--color", "never", str(path), timeout=LIMIT)
    assert r.returncode == 2 and CAUSE in r.stdout.decode()


def test_the_library_reports_the_damage_with_the_partial_report(tmp_path: Path) -> None:
    import logclassify

    report = logclassify.default_classifier().classify_path(_damaged_gzip(tmp_path))
    assert _ids(report.model_dump()) == [CAUSE]
    assert report.error is not None and "damaged" in report.error and report.lines > 1000


# -- what a folder scan reads, and what it says it skipped ----------------------------------------------------


def test_folder_scan_reads_rotated_and_common_logs_and_names_what_it_skipped(tmp_path: Path) -> None:
    logs = ["server.log", "server.log.1", "server.log.2.gz", "worker.out", "worker.err", "run.txt",
            "journal.jsonl", "app.log-20240105", "app.log.2024-01-05.gz", "sub/rank0.log"]
    others = ["model.safetensors", "config.json", "notes.md", "archive.tar.gz"]
    for name in logs + others:
        p = tmp_path / name
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(gzip.compress(LOG.encode()) if name.endswith(".gz") else LOG.encode())
    r = run_cli("--format", "jsonl", str(tmp_path), timeout=LIMIT)
    assert r.returncode == 0, r.stderr
    read = sorted(Path(json.loads(line)["source"]).relative_to(tmp_path).as_posix()
                  for line in r.stdout.decode().splitlines())
    assert read == sorted(logs)
    err = r.stderr.decode()
    assert "skipped 4 files" in err, err
    for name in others:
        assert name in err


def test_an_unreadable_subfolder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.log").write_text(LOG)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "b.log").write_text(LOG)
    real = os.scandir

    def scandir(path: str) -> object:  # root reads any folder, so the refusal is simulated
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = batch.expand_inputs([str(tmp_path)], notice=print)
    assert found == [str(tmp_path / "a.log")]
    out = capsys.readouterr().out
    assert str(locked) in out and "Permission denied" in out
    failures: list[str] = []
    assert batch.expand_inputs([str(tmp_path)], notice=print, failed=failures.append) == found
    assert len(failures) == 1 and str(locked) in failures[0] and "not read" in failures[0]
    from click.testing import CliRunner

    from logclassify.cli import main

    r = CliRunner().invoke(main, ["--format", "jsonl", str(tmp_path)])
    assert r.exit_code == 2 and str(locked) in r.stderr  # the logs in it were not read: not a clean run
    assert [json.loads(line)["source"] for line in r.stdout.splitlines()] == found


# -- the pool itself, under both start methods --------------------------------------------------------------------


def _square_or_die(n: int) -> int:
    if n == 3:
        os._exit(7)  # a worker that vanishes mid-task
    if n == 5:
        raise ValueError("five")
    return n * n


def _no_init() -> None:
    pass


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_the_pool_reports_a_lost_item_and_keeps_the_order(method: str) -> None:
    import multiprocessing

    from logclassify.pool import run_ordered

    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} on this platform")
    ctx = multiprocessing.get_context(method)
    got = list(run_ordered(list(range(8)), _square_or_die, lambda n, why: f"{n}: {why}", jobs=2, ctx=ctx,
                           init=_no_init))
    assert got[:3] == [0, 1, 4] and got[4] == 16 and got[6:] == [36, 49]
    assert got[3] == "3: the worker process reading it exited with status 7"
    assert got[5] == "5: worker error: ValueError: five"
    assert multiprocessing.active_children() == []  # every worker was stopped


def test_a_bug_met_on_one_input_costs_only_that_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from logclassify.engine.classifier import Classifier

    real = Classifier.classify_path

    def buggy(self: Classifier, path: str, **kw: object) -> object:
        if str(path).endswith("bug.log"):
            raise KeyError("a rule nobody tested")
        return real(self, path, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Classifier, "classify_path", buggy)
    for name in ("a.log", "bug.log", "c.log"):
        (tmp_path / name).write_text(LOG)
    names = [str(tmp_path / n) for n in ("a.log", "bug.log", "c.log")]
    results = list(batch.classify_many(Classifier(), names))
    assert [_ids(r.model_dump()) for r, _ in results] == [[CAUSE], [], [CAUSE]]
    error = results[1][1]
    assert error is not None and "bug.log" in error and "KeyError" in error and "internal error" in error


# -- an input that runs into a memory cap ---------------------------------------------------------------------------

_CAPPED = textwrap.dedent("""\
    import resource, sys
    from logclassify.engine.classifier import Classifier

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # a container's memory limit, as the process meets it
    real = Classifier.classify_path

    def greedy(self, path, **kw):
        if str(path).endswith("huge.log"):
            bytearray(4 << 30)  # more than the cap allows: the interpreter raises a real MemoryError
        return real(self, path, **kw)

    Classifier.classify_path = greedy
    from logclassify.cli import main
    main(sys.argv[1:], prog_name="logclassify")
""")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_input_that_hits_the_memory_cap_fails_alone(tmp_path: Path, jobs: str) -> None:
    names = []
    for name in ("a.log", "huge.log", "c.log"):
        (tmp_path / name).write_text(LOG)
        names.append(str(tmp_path / name))
    driver = tmp_path / "capped.py"
    driver.write_text(_CAPPED)
    r = subprocess.run([sys.executable, str(driver), "-j", jobs, "--format", "jsonl", *names],
                       capture_output=True, timeout=LIMIT, cwd=Path(__file__).parent.parent)
    assert r.returncode == 2, r.stderr
    err = r.stderr.decode()
    assert "huge.log" in err and "MemoryError" in err, err
    reports = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [x["source"] for x in reports] == names
    assert [_ids(x) for x in reports] == [[CAUSE], [], [CAUSE]]
    assert "MemoryError" in reports[1]["error"]
