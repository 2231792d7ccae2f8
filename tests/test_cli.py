"""The command line, through a real subprocess: formats, stdin, gzip, exit codes, errors, broken pipes."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from conftest import run_cli

LOG = (
    "INFO 06-10 21:32:17 [api_server.py:1] vLLM API server version 0.8.3\n"
    "Traceback (most recent call last):\n"
    '  File "/x/vllm/config.py", line 1550, in __init__\n'
    '    raise RuntimeError("Failed to infer device type")\n'
    "RuntimeError: Failed to infer device type\n"
)
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
    code = ("import sys, pty, os\n"
            "pid, fd = pty.fork()\n"
            "if pid == 0:\n"
            "    os.execv(sys.executable, [sys.executable, '-m', 'logclassify'])\n"
            "out = b''\n"
            "while True:\n"
            "    try:\n"
            "        chunk = os.read(fd, 1024)\n"
            "    except OSError:\n"
            "        break\n"
            "    if not chunk:\n"
            "        break\n"
            "    out += chunk\n"
            "_, status = os.waitpid(pid, 0)\n"
            "print(os.waitstatus_to_exitcode(status)); print(out.decode())\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    text = r.stdout.decode()
    assert text.splitlines()[0] == "2" and "usage: logclassify" in text


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
