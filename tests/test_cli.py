"""The command line, through a real subprocess: formats, stdin, gzip, exit codes, errors, broken pipes."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import DEVICE_INFER_LOG as LOG
from conftest import run_cli

HEALTHY = "INFO 06-10 21:32:17 [api_server.py:1] vLLM API server version 0.8.3\nINFO:     Application startup complete.\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_text_output_names_cause_evidence_fix_and_docs(tmp_path: Path) -> None:
    p = write(tmp_path, "server.log", LOG)
    r = run_cli(str(p), "--color", "never")
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert "device-infer-failed" in out
    assert "     5 │ RuntimeError: Failed to infer device type" in out
    assert "fix" in out and "https://" in out
    assert "\x1b[" not in out
    assert "vLLM 0.8.3" in out.splitlines()[0]


def test_color_always_colours(tmp_path: Path) -> None:
    p = write(tmp_path, "server.log", LOG)
    assert b"\x1b[" in run_cli(str(p), "--color", "always").stdout


def test_json_single_is_object_several_is_array(tmp_path: Path) -> None:
    a = write(tmp_path, "a.log", LOG)
    b = tmp_path / "b.log.gz"
    b.write_bytes(gzip.compress(HEALTHY.encode()))
    one = json.loads(run_cli("--format", "json", str(a)).stdout)
    assert one["source"] == str(a) and one["diagnoses"][0]["evidence"][-1]["line"] == 5
    both = json.loads(run_cli("--format", "json", str(a), str(b)).stdout)
    assert isinstance(both, list) and [x["source"] for x in both] == [str(a), str(b)]
    assert [d for d in both[1]["diagnoses"] if d["severity"] != "info"] == []


def test_jsonl_and_markdown(tmp_path: Path) -> None:
    a = write(tmp_path, "a.log", LOG)
    b = write(tmp_path, "b.log", HEALTHY)
    lines = run_cli("--format", "jsonl", str(a), str(b)).stdout.decode().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["diagnoses"]
    md = run_cli("--format", "markdown", str(a)).stdout.decode()
    assert md.count("### ") >= 1 and "<details>" in md and "1. " in md


def test_stdin_and_dash(tmp_path: Path) -> None:
    r1 = run_cli("--format", "json", stdin=LOG.encode())
    r2 = run_cli("--format", "json", "-", stdin=LOG.encode())
    d1, d2 = json.loads(r1.stdout), json.loads(r2.stdout)
    assert d1["source"] == "<stdin>" and d1["diagnoses"][0]["id"] == d2["diagnoses"][0]["id"]


def test_exit_code_flag(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.log", LOG)
    good = write(tmp_path, "good.log", HEALTHY)
    assert run_cli("--exit-code", str(bad)).returncode == 1
    assert run_cli("--exit-code", str(good)).returncode == 0
    assert run_cli(str(bad)).returncode == 0


def test_missing_file_is_named_and_others_still_reported(tmp_path: Path) -> None:
    good = write(tmp_path, "good.log", LOG)
    r = run_cli("--format", "json", str(tmp_path / "nope.log"), str(good))
    assert r.returncode == 2
    assert b"nope.log: no such file" in r.stderr
    reports = json.loads(r.stdout)
    assert reports[1]["diagnoses"] and reports[0]["error"]


def test_bad_rules_and_usage_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "x.yaml").write_text("id: port-in-use\ntitle: t\n")
    log = write(tmp_path, "a.log", LOG)
    r = run_cli("--rules", str(rules), str(log))
    assert r.returncode == 2 and b"Traceback" not in r.stderr and b"x.yaml" in r.stderr
    r = run_cli("--format", "yaml", str(log))
    assert r.returncode == 2 and b"Traceback" not in r.stderr
    r = run_cli("rules", "validate", str(rules))
    assert r.returncode == 2 and b"rule port-in-use:" in r.stderr


def test_version_and_help() -> None:
    r = run_cli("--version")
    assert r.returncode == 0 and b"logclassify" in r.stdout
    h = run_cli("--help").stdout.decode()
    assert "Examples:" in h and "--format" in h and "rules" in h


def test_no_argument_on_a_terminal_prints_usage() -> None:
    status, text = _on_a_terminal(env={})
    assert status == 2 and "usage: logclassify" in text


def test_broken_pipe_ends_quietly(tmp_path: Path) -> None:
    p = write(tmp_path, "big.log", LOG * 2000)
    cmd = f"{sys.executable} -m logclassify --format jsonl {p} {p} {p} {p} | head -c 10"
    r = subprocess.run(cmd, shell=True, capture_output=True, timeout=60)
    assert b"Traceback" not in r.stderr and b"BrokenPipe" not in r.stderr


def test_rules_list_show_validate_schema(tmp_path: Path) -> None:
    listing = json.loads(run_cli("rules", "list", "--format", "json").stdout)
    ids = {r["id"] for r in listing}
    assert "cudagraph-replay-error" in ids and all("fixtures" in r for r in listing)
    text = run_cli("rules", "list").stdout.decode()
    assert "severity" in text and "fixtures" in text
    show = run_cli("rules", "show", "cudagraph-replay-error").stdout.decode()
    assert "id: cudagraph-replay-error" in show and "# fixtures" in show
    near = run_cli("rules", "show", "cudagraph-replay")
    assert near.returncode == 2 and b"did you mean" in near.stderr
    assert run_cli("rules", "validate", str(Path(__file__).parent.parent / "rules")).returncode == 0
    schema = json.loads(run_cli("rules", "schema").stdout)
    assert schema["title"] == "logclassify rule"


def test_extra_rules_folder_on_the_command_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "mine.yaml").write_text(
        "id: other.mine\ntitle: My failure\nseverity: error\ncause: My own failure happened.\n"
        "fix: [Fix it.]\nmatch: {contains: 'my own failure'}\n")
    log = write(tmp_path, "a.log", "my own failure\n")
    out = json.loads(run_cli("--rules", str(rules), "--format", "json", str(log)).stdout)
    assert out["diagnoses"][0]["id"] == "other.mine"


def test_validate_warns_about_a_regex_the_scan_cannot_find(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "x.yaml").write_text("id: other.x\ntitle: A rule\nseverity: error\ncause: Something broke here.\n"
                                  "fix: [Fix it.]\nmatch: {regex: '\\d+ G'}\n")
    r = run_cli("rules", "validate", str(rules))
    assert r.returncode == 0 and b"warning: regex" in r.stderr and b"no literal" in r.stderr


UNKNOWN = (
    "INFO 06-10 21:32:17 [api_server.py:1] vLLM API server version 0.8.3\n"
    "Traceback (most recent call last):\n"
    '  File "/x/app/flux.py", line 12, in run\n'
    '    raise FluxError("the flux capacitor overheated")\n'
    "flux.FluxError: the flux capacitor overheated\n"
)


def test_exit_code_counts_an_unrecognised_failure(tmp_path: Path) -> None:
    log = write(tmp_path, "unknown.log", UNKNOWN)
    report = json.loads(run_cli("--format", "json", str(log)).stdout)
    assert report["unrecognized"] and not [d for d in report["diagnoses"] if d["severity"] != "info"]
    assert run_cli("--exit-code", str(log)).returncode == 1


def test_hang_after_without_follow_is_a_usage_error(tmp_path: Path) -> None:
    log = write(tmp_path, "a.log", LOG)
    r = run_cli("--hang-after", "60", str(log))
    assert r.returncode == 2 and b"--hang-after" in r.stderr and b"--follow" in r.stderr
    assert b"Traceback" not in r.stderr and r.stdout == b""


def _on_a_terminal(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run the command with stdout and stderr on a pseudo-terminal; (exit status, everything it wrote)."""
    code = ("import sys, pty, os\n"
            "pid, fd = pty.fork()\n"
            "if pid == 0:\n"
            "    os.execv(sys.executable, [sys.executable, '-m', 'logclassify', *sys.argv[1:]])\n"
            "out = b''\n"
            "while True:\n"
            "    try:\n"
            "        chunk = os.read(fd, 4096)\n"
            "    except OSError:\n"
            "        break\n"
            "    if not chunk:\n"
            "        break\n"
            "    out += chunk\n"
            "_, status = os.waitpid(pid, 0)\n"
            "sys.stdout.buffer.write(b'%d\\n' % os.waitstatus_to_exitcode(status) + out)\n")
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI", "TERM")}
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, timeout=60, env={**full_env, **env})
    status, _, out = r.stdout.decode().partition("\n")
    return int(status), out


def test_colour_on_a_terminal_but_not_on_a_dumb_one(tmp_path: Path) -> None:
    log = write(tmp_path, "a.log", LOG)
    status, out = _on_a_terminal(str(log), env={"TERM": "xterm-256color"})
    assert status == 0 and "\x1b[" in out and "device-infer-failed" in out
    status, out = _on_a_terminal(str(log), env={"TERM": "dumb"})
    assert status == 0 and "\x1b" not in out and "device-infer-failed" in out


def test_no_progress_bar_for_a_small_file(tmp_path: Path) -> None:
    log = write(tmp_path, "a.log", LOG)  # well under a kilobyte, read in milliseconds
    status, out = _on_a_terminal("--color", "never", str(log), str(log), env={"TERM": "xterm-256color"})
    assert status == 0 and "device-infer-failed" in out
    assert "[#" not in out and "\r[" not in out and "\x1b[K" not in out


def test_a_slow_input_gets_a_progress_bar_once_it_has_taken_a_while() -> None:
    import io

    from logclassify.batch import Progress

    stream = io.StringIO()
    bar = Progress(10, "files", stream=stream, min_interval=0.0, delay=0.05)
    bar.update(1)
    assert stream.getvalue() == ""  # a fast input never shows one
    import time

    time.sleep(0.06)
    bar.update(2)
    assert "2/10 files" in stream.getvalue()


def test_probe_verdict_is_rendered_as_text_not_a_python_dict() -> None:
    from logclassify.models import Diagnosis, Report, Severity
    from logclassify.render.text import render_text

    verdict = {"verdict": "confirmed", "probe": "nccl", "status": "failed",
               "details": {"reason": "ncclCommInitRank failed: unhandled system error", "stage": "all_reduce",
                           "duration_s": 3.25, "world_size": 2, "gpus": [{"name": "H100", "index": 0}],
                           "log_tail": "NCCL INFO Bootstrap\nNCCL WARN socket failure\n"}}
    d = Diagnosis(id="nccl-system-error-init", title="NCCL could not initialise", severity=Severity.error,
                  confidence=0.9, cause="NCCL failed.", fix=["Fix it."], probe="nccl", probe_result=verdict)
    out = render_text(Report(source="server.log", diagnoses=[d]))
    assert "{" not in out and "'" not in out, out
    assert "confirmed: nccl failed in stage all_reduce (3.2s)" in out
    assert "ncclCommInitRank failed" in out and "world_size: 2" in out and "name=H100" in out
    assert "| NCCL WARN socket failure" in out


def _commands() -> list[tuple[str, object]]:
    import click

    from logclassify.cli import main

    ctx = click.Context(main)
    found: list[tuple[str, object]] = []

    def walk(prefix: str, group: click.Group) -> None:
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            assert cmd is not None
            found.append((f"{prefix} {name}".strip(), cmd))
            if isinstance(cmd, click.Group):
                walk(f"{prefix} {name}", cmd)

    walk("", main)
    return found


def test_every_option_and_command_says_what_it_does() -> None:
    import click

    missing = []
    for name, cmd in _commands():
        assert isinstance(cmd, click.Command)
        if not (cmd.help or "").strip():
            missing.append(f"{name}: no help")
        for param in cmd.params:
            if isinstance(param, click.Option) and not (param.help or "").strip():
                missing.append(f"{name} {param.opts[0]}")
    assert missing == []


def test_help_teaches_by_example() -> None:
    h = run_cli("--help").stdout.decode()
    for example in ("-j 4 logs/", "--exit-code", "--follow", "--probe", "--rules my-rules/", "--hang-after"):
        assert example in h, example
