"""Nasty inputs (tests/adversarial/generate.py) through the command and the library: memory and time stay bounded
whatever the input repeats, line numbers stay exact, nothing crashes (issue 10, docs/limits.md).

The command runs in a subprocess under an address-space limit (setrlimit) and a timeout; its peak resident memory
is read from the kernel's accounting of that one process (wait4, in a small launcher: see `_LAUNCH`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from logclassify.engine.classifier import Classifier
from logclassify.select import budget
from tests.adversarial import generate

MiB = 1 << 20
PEAK_MB = 150  # the bound on a whole command's peak memory
ADDRESS_SPACE = 1 << 30  # a runaway is stopped by the kernel, not the machine's OOM killer
TIMEOUT_S = 60  # per input; a loaded CI machine is slow, a hang or a quadratic blow-up is slower still
SIZES = {  # uncompressed bytes: big enough to exceed every budget in budget.py, small enough for CI
    "repeated": 8 * MiB,
    "ranks": 8 * MiB,
    "huge-line": 24 * MiB,
    "nul": 2 * MiB,
    "utf8": 2 * MiB,
    "cr": 8 * MiB,
    "chained": 2 * MiB,
    "bomb": 24 * MiB,
    "markdown": 2 * MiB,
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    """kind -> (path, its newline count)."""
    folder = tmp_path_factory.mktemp("adversarial")
    out = {}
    for kind, size in SIZES.items():
        path = folder / f"{kind}{generate.SUFFIX.get(kind, '.log')}"
        out[kind] = (path, generate.write(kind, path, size))
    return out


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier()


# The command is started by a small launcher process, not forked from pytest: Linux carries a process's peak RSS
# (ru_maxrss) across fork and exec, so a child forked from a pytest process grown to 150 MB by earlier tests reported
# that as its own peak. The launcher is a fresh interpreter (~10 MB); it sets the limit, forks and execs the
# command, and writes the command's own ru_maxrss (KB) to the pipe it is given.
_LAUNCH = """
import os, resource, sys
limit, report = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
pid = os.fork()
if pid == 0:
    os.close(report)
    os.execv(sys.executable, [sys.executable, "-m", "logclassify", *sys.argv[3:]])
_, status, usage = os.wait4(pid, 0)
os.write(report, str(usage.ru_maxrss).encode())
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


def run_bounded(*args: str) -> tuple[int, bytes, bytes, float, float]:
    """(exit status, stdout, stderr, peak RSS in MB, seconds) of `logclassify ARGS` under the limits."""
    start = time.monotonic()
    read_fd, write_fd = os.pipe()
    try:
        with open(os.devnull, "rb") as devnull:
            proc = subprocess.Popen(
                [sys.executable, "-c", _LAUNCH, str(ADDRESS_SPACE), str(write_fd), *args], stdin=devnull,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(write_fd,), start_new_session=True,
                env={**os.environ, "NO_COLOR": "1"},
            )
    finally:
        os.close(write_fd)
    timer = threading.Timer(TIMEOUT_S, lambda: os.killpg(proc.pid, 9))  # the launcher and the command
    timer.start()
    try:
        got: dict[str, bytes] = {}
        readers = [threading.Thread(target=lambda k=k, f=f: got.__setitem__(k, f.read()))  # type: ignore[misc]
                   for k, f in (("out", proc.stdout), ("err", proc.stderr))]
        for t in readers:
            t.start()
        with os.fdopen(read_fd, "rb") as report:
            peak_kb = report.read()
        proc.wait()
        for t in readers:
            t.join()
    finally:
        timer.cancel()
    return proc.returncode, got["out"], got["err"], int(peak_kb or 0) / 1024, time.monotonic() - start


@pytest.mark.parametrize("kind", sorted(SIZES))
def test_command_bounded_memory_time_and_line_count(kind: str, inputs: dict[str, tuple[Path, int]]) -> None:
    path, lines = inputs[kind]
    rc, out, err, peak_mb, seconds = run_bounded("--format", "json", str(path))
    assert rc == 0, err.decode()
    assert seconds < TIMEOUT_S
    assert peak_mb <= PEAK_MB, f"{kind}: peak {peak_mb:.0f} MB"
    report = json.loads(out)
    if kind != "markdown":  # an issue body counts the lines of its logs
        assert report["lines"] == lines
    for d in report["diagnoses"]:
        assert all(1 <= e["line"] <= lines for e in d["evidence"])


def test_crash_loop_keeps_first_and_last_occurrences_and_says_what_it_skipped(
    inputs: dict[str, tuple[Path, int]], classifier: Classifier
) -> None:
    path, lines = inputs["repeated"]
    report = classifier.classify_path(path)
    assert report.lines == lines
    (oom,) = [d for d in report.diagnoses if d.id == "cuda-oom"]
    evidence = [e.line for e in oom.evidence]
    assert evidence[0] == 7 and evidence[-1] == lines  # the first occurrence and the last
    assert report.warnings and "not examined" in report.warnings[0]
    assert any("more like it: torch.OutOfMemoryError" in w for w in report.warnings)


def test_kept_lines_are_bounded_whatever_repeats(inputs: dict[str, tuple[Path, int]], classifier: Classifier) -> None:
    bound = budget.FIRST_LINES + budget.NEW_LINES + budget.LAST_LINES + 1000  # + markers and the tail
    for kind in ("repeated", "ranks", "bomb"):
        from logclassify.read.sources import iter_chunks, open_binary

        with open_binary(inputs[kind][0]) as f:
            sel = classifier.scanner.select(iter_chunks(f))
        assert sum(len(s) for s in sel.segments) <= bound, kind
        assert sel.dropped.lines > 0


def test_a_new_failure_inside_a_crash_loop_is_still_found(classifier: Classifier) -> None:
    """The first occurrence of each distinct failure is kept past the budget of first lines."""
    loop = b"".join(generate.repeated_tracebacks(4 * MiB))
    other = (b"Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n"
             b"RuntimeError: Failed to infer device type\n")
    middle = loop.rfind(b"ERROR", 0, len(loop) // 2)
    data = loop[:middle] + other + loop[middle:]
    report = classifier.classify(data)
    ids = {d.id for d in report.diagnoses}
    assert {"cuda-oom", "device-infer-failed"} <= ids
    line = data[:middle].count(b"\n") + 3
    (dev,) = [d for d in report.diagnoses if d.id == "device-infer-failed"]
    assert line in [e.line for e in dev.evidence]


def test_huge_line_keeps_exact_line_numbers(inputs: dict[str, tuple[Path, int]], classifier: Classifier) -> None:
    path, lines = inputs["huge-line"]
    report = classifier.classify_path(path)
    assert report.lines == lines == 15
    (oom,) = [d for d in report.diagnoses if d.id == "cuda-oom"]
    assert [e.line for e in oom.evidence if "OutOfMemoryError" in e.text] == [7, 15]
    assert any("longer than" in w for w in report.warnings)


def test_huge_line_costs_linear_time(classifier: Classifier) -> None:
    """A line of 64 MiB (an error word every few bytes) is read once, never matched whole."""
    line = b"ERROR x RuntimeError: y " * (64 * MiB // 24)
    start = time.perf_counter()
    report = classifier.classify(line + b"\nlast\n")
    assert time.perf_counter() - start < 10
    assert report.lines == 2


def test_library_on_every_kind(inputs: dict[str, tuple[Path, int]], classifier: Classifier) -> None:
    for kind, (path, lines) in inputs.items():
        report = classifier.classify_path(path)
        if kind != "markdown":
            assert report.lines == lines, kind


# -- adversarial rules: slow patterns and oversized rule files ------------------------------------------------------

RULE = """id: {id}
title: A user's rule
severity: error
confidence: 0.9
cause: Something.
fix: [Do this.]
match:
  regex: '{regex}'
"""


def _rule_dir(tmp_path: Path, regex: str, rule_id: str = "user-slow") -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    (folder / f"{rule_id}.yaml").write_text(RULE.format(id=rule_id, regex=regex))
    return folder


@pytest.mark.parametrize("pattern", [r"slow (a+)+$", r"slow (a|a)*$", r"slow (\s*\w+)*$", r"^(\d+)*$", r"x(a|aa)+$"])
def test_catastrophic_pattern_refused_at_load(tmp_path: Path, pattern: str) -> None:
    rc, _, err, _, _ = run_bounded("rules", "validate", str(_rule_dir(tmp_path, pattern)))
    assert rc != 0
    text = err.decode()
    assert "user-slow.yaml:8: rule user-slow: match.regex:" in text and "catastrophic" in text


@pytest.mark.parametrize(("pattern", "what"), [("a" * 5000, "characters"), ("|".join(["ab"] * 600), "alternatives")])
def test_pattern_limits_checked_before_compiling(tmp_path: Path, pattern: str, what: str) -> None:
    rc, _, err, _, _ = run_bounded("rules", "validate", str(_rule_dir(tmp_path, pattern)))
    assert rc != 0 and f"match.regex: pattern {'of' if what == 'characters' else 'with'}" in err.decode()
    assert what in err.decode() and "user-slow.yaml" in err.decode()


def test_huge_rule_file_refused_quickly(tmp_path: Path) -> None:
    """A 10 MB rule with a 500k-alternative regex took 96 s and 2.4 GB to validate."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "huge.yaml").write_text(RULE.format(id="huge", regex="|".join(f"w{i}" for i in range(500_000))))
    rc, _, err, peak_mb, seconds = run_bounded("rules", "validate", str(folder))
    assert rc != 0 and "huge.yaml" in err.decode() and "limit" in err.decode()
    assert seconds < 20 and peak_mb <= PEAK_MB


def test_slow_user_pattern_runs_out_of_its_budget_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pattern the load check does not recognise still costs at most its budget per input, never 0.25 s a line,
    and the report names the rule (before: 100 lines took 25 s and the rule silently did not match)."""
    from logclassify.engine import match, regexcheck
    from logclassify.engine.classifier import load_rules

    monkeypatch.setenv("LOGCLASSIFY_NO_CACHE", "1")
    monkeypatch.setattr(regexcheck, "catastrophic", lambda pattern, flags=0: None)
    rules = load_rules(_rule_dir(tmp_path, r"slowpattern (a|a)*$"))
    clf = Classifier(rules)
    text = "".join(f"INFO line {i}\nslowpattern {'a' * 40}!\n" for i in range(100))
    start = time.perf_counter()
    report = clf.classify(text)
    assert time.perf_counter() - start < 8 * match.RULE_BUDGET_S + 3  # the scan's verifier gives up after 3 lines
    (warning,) = [w for w in report.warnings if "user-slow" in w]
    assert "time budget at line 2" in warning


def test_repeated_phase_lines_without_timestamps_take_linear_time(classifier: Classifier) -> None:
    """Found by bench/fuzz.py: 12,000 phase lines with no timestamp took 100 s (a backward walk per line)."""
    line = "(EngineCore pid=...) INFO ... Model loading took 14.53 GiB memory and 172.4 seconds\n"
    start = time.perf_counter()
    report = classifier.classify(line * 12_000, input_format="log")
    assert time.perf_counter() - start < 5
    assert report.lines == 12_000


def test_long_line_of_spaces_normalises_in_linear_time(classifier: Classifier) -> None:
    """Found by bench/fuzz.py: Ray's repeat marker was stripped with `\\s*...\\s*$`, 2 s on a 64 KiB line of spaces."""
    line = "(RayWorkerWrapper pid=301) ERROR x" + " \t" * 30_000 + "y [repeated 2x across cluster]"
    start = time.perf_counter()
    report = classifier.classify(line + "\n", input_format="log")
    assert time.perf_counter() - start < 1
    assert report.lines == 1


def test_text_and_markdown_answers_say_what_was_not_examined(tmp_path: Path) -> None:
    """A person or a bot's reader sees the bound in the answer itself, not only a script on stderr."""
    from logclassify.render.markdown import render_markdown
    from logclassify.render.text import render_text

    path = tmp_path / "loop.log"
    path.write_bytes(b"".join(generate.repeated_tracebacks(4 * MiB)))
    report = Classifier().classify_path(path)
    assert report.warnings
    text = render_text(report)
    markdown = render_markdown(report)
    for warning in report.warnings:
        assert " ".join(warning.split()) in " ".join(text.split())
        assert f"> **Note:** {warning}" in markdown
    rc, out, err, _, _ = run_bounded(str(path))
    assert rc == 0 and b"not examined" in out and b"warning:" not in err  # said once, in the answer
    rc, out, err, _, _ = run_bounded("--format", "json", str(path))
    assert rc == 0 and b"warning: memory bound" in err  # a script reading JSON gets it on stderr as well
