"""Support bots: an issue body in, a Markdown reply out (examples/issue_bot.py), with the issue's environment as facts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import logclassify
from logclassify.parse.environment import environment_facts
from logclassify.read.normalize import normalize_line
from tests.conftest import corpus_log, run_cli

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "examples" / "issue_bot.py"
EXAMPLE = ROOT / "examples" / "issue-example.md"

# collect_env before mid-2025 (`key: value`) and after (`key   : value` in sections)
ENV_OLD = """\
Collecting environment information...
PyTorch version: 2.3.1+cu121
CUDA used to build PyTorch: 12.1
OS: Ubuntu 22.04.4 LTS (x86_64)
Python version: 3.10.14 (main, May  6 2024, 19:42:50) [GCC 11.2.0] (64-bit runtime)
CUDA runtime version: 12.1.105
GPU models and configuration:
GPU 0: NVIDIA A100-SXM4-80GB
GPU 1: NVIDIA A100-SXM4-80GB

Nvidia driver version: 535.104.05
[pip3] nvidia-nccl-cu12==2.20.5
[pip3] torch==2.3.1
vLLM Version: 0.5.3
"""
ENV_NEW = """\
==============================
       PyTorch Info
==============================
PyTorch version              : 2.3.1+cu121
CUDA used to build PyTorch   : 12.1
OS                           : Ubuntu 22.04.4 LTS (x86_64)
Python version               : 3.10.14 (main, May  6 2024, 19:42:50) [GCC 11.2.0] (64-bit runtime)
CUDA runtime version         : 12.1.105
GPU models and configuration :
GPU 0: NVIDIA A100-SXM4-80GB
GPU 1: NVIDIA A100-SXM4-80GB
Nvidia driver version        : 535.104.05
[pip3] nvidia-nccl-cu12==2.20.5
==============================
         vLLM Info
==============================
ROCM Version                 : Could not collect
vLLM Version                 : 0.5.3
"""


def issue(env: str, log: str, fence: str = "```") -> str:
    return (
        "### Your current environment\n\n<details>\n<summary>The output of <code>python collect_env.py</code></summary>\n\n"
        f"```text\n{env}```\n\n</details>\n\n### 🐛 Describe the bug\n\nIt fails like this:\n\n{fence}\n{log}\n{fence}\n"
    )


def run_bot(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, str(BOT), *args], input=stdin, capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("env", [ENV_OLD, ENV_NEW], ids=["old-collect-env", "new-collect-env"])
def test_environment_section_becomes_facts(env: str) -> None:
    facts = logclassify.classify_issue(issue(env, "INFO 07-23 18:25:25 [a.py:1] hello")).facts
    assert facts["vllm_version"] == "0.5.3"
    assert facts["torch_version"].startswith("2.3.1")
    assert facts["cuda_version"] == "12.1"
    assert facts["cuda_runtime_version"] == "12.1.105"
    assert facts["driver_version"] == "535.104.05"
    assert facts["python_version"] == "3.10.14"
    assert facts["nccl_version"] == "2.20.5"
    assert facts["os"] == "Ubuntu 22.04.4 LTS"
    assert facts["gpu_names"] == ["NVIDIA A100-SXM4-80GB"] and facts["gpu_count"] == 2


def test_placeholders_are_not_facts() -> None:
    lines = ["ROCM used to build PyTorch: N/A", "vLLM Version                 : Could not collect"]
    assert environment_facts(ln for i, t in enumerate(lines) for ln in normalize_line(i + 1, t)) == []


@pytest.mark.parametrize("env", [ENV_OLD, ENV_NEW], ids=["old-collect-env", "new-collect-env"])
def test_environment_versions_decide_a_version_rule(env: str) -> None:
    """The zmq hang is a known bug of vLLM 0.5.2-0.5.3.post1: the log (vLLM #6700) has no version, the issue does."""
    log = corpus_log("seed-zmq-hang-known-bug-1.log")
    alone = logclassify.classify(log)
    assert not alone.alarms
    report = logclassify.classify_issue(issue(env, log))
    assert report.headline is not None and report.headline.id == "zmq-hang-known-bug"
    assert any(e.text.startswith("vLLM Version") for e in report.headline.evidence)  # the fact's line is evidence


def test_example_bot_replies_with_cause_fix_evidence_docs_and_no_secrets() -> None:
    body = EXAMPLE.read_text(encoding="utf-8")
    assert "hf_aBcDeF" in body and "someone@example.com" in body
    for reply in (run_bot(str(EXAMPLE)), run_bot(stdin=body), run_bot("-", stdin=body)):
        assert reply.splitlines()[0].startswith("<sub><issue>  ·  vLLM 0.11.0")
        assert "### Not enough GPU memory left for the KV cache" in reply  # the headline cause
        assert "**How to fix it**" in reply and "\n1. " in reply
        assert "<details><summary>Evidence" in reply and "</details>" in reply
        assert "](https://docs.vllm.ai/" in reply
        assert "hf_aBcDeF" not in reply and "someone@example.com" not in reply
        assert reply.rstrip().endswith("</sub>")


def test_example_bot_gives_fingerprint_and_nearest_causes_for_unknown_failures() -> None:
    log = corpus_log("beyond-other-5.log")
    reply = run_bot(stdin=issue(ENV_NEW, log))
    (u,) = logclassify.classify(log).unrecognized
    assert "### Unrecognised failure" in reply
    assert f"**Fingerprint:** `{u.fingerprint}`" in reply
    assert "**Related known causes** (suggestions to check, not diagnoses)" in reply
    assert f"`{u.related[0].id}`" in reply


def test_example_bot_asks_for_logs_when_there_is_no_failure() -> None:
    reply = run_bot(stdin="### Your current environment\n\nvLLM 0.8.3\n\n### 🐛 Describe the bug\n\nIt is slow.\n")
    assert "could not find a failure" in reply and "collect_env.py" in reply


def test_example_bot_masks_hosts_on_request() -> None:
    log = "Jun 10 21:32:17 gpu-node-3 vllm[4121]: ERROR 06-10 21:32:17 [a.py:1] Connection to 10.20.0.2:29500 refused"
    assert "10.20.0.2" in run_bot(stdin=issue(ENV_NEW, log))
    masked = run_bot("--hosts", stdin=issue(ENV_NEW, log))
    assert "10.20.0.2" not in masked and "gpu-node-3" not in masked


def test_cli_reads_issue_bodies_like_the_library(tmp_path: Path) -> None:
    body = EXAMPLE.read_text(encoding="utf-8")
    md = tmp_path / "issue.md"
    md.write_text(body, encoding="utf-8")
    by_name = run_cli("--format", "markdown", str(md)).stdout.decode()
    by_flag = run_cli("--format", "markdown", "--input-format", "markdown", "-", stdin=body.encode()).stdout.decode()
    assert "kv-cache-insufficient" in by_name and "hf_aBcDeF" not in by_name
    assert by_flag.split("\n", 1)[1] == by_name.split("\n", 1)[1]  # same reply; only the source name differs
    as_json = json.loads(run_cli("--format", "json", str(md)).stdout)
    assert as_json["facts"] == logclassify.classify_issue(body).facts
