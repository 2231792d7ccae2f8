"""Redaction: secrets never reach markdown or JSON output unless --no-redact; --redact-hosts masks addresses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import logclassify
from logclassify.redact import redact_report, redact_text
from tests.conftest import CORPUS, must_exist, run_cli

ROOT = Path(__file__).resolve().parent.parent

HF = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"
SECRETS = {
    "hf token": (f"docker run -e HF_TOKEN={HF} vllm/vllm-openai:v0.8.3", HF),
    "bare hf token": (f"using token {HF} for the download", HF),
    "api key flag": ("vllm serve Qwen/Qwen2-7B --api-key sk-proj-0123456789abcdefghijKLMN", "sk-proj-0123456789"),
    "openai key env": ('export OPENAI_API_KEY="sk-0123456789abcdefghijklmnop"', "sk-0123456789"),
    "bearer": ("curl -H 'Authorization: Bearer eyJhbGciOi.eyJzdWIiOiIx.SflKxwRJSMeKKF2QT4' http://h/v1", "eyJhbGciOi"),
    "url password": ("pip install -i https://alice:s3cr3t-Pa55@pypi.corp.example.com/simple vllm", "s3cr3t-Pa55"),
    "e-mail": ("questions to jane.doe+vllm@example.org please", "jane.doe"),
    "github token": ("GH=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", "ghp_0123456789"),
    "password field": ("redis password=hunter2hunter2 host=cache", "hunter2"),
}


@pytest.mark.parametrize("name", list(SECRETS))
def test_secrets_are_removed(name: str) -> None:
    text, secret = SECRETS[name]
    out = redact_text(text)
    assert secret not in out
    assert "<redacted>" in out or "<email>" in out


def test_labels_and_ordinary_text_survive() -> None:
    out = redact_text(f"docker run -e HF_TOKEN={HF} -e NCCL_DEBUG=INFO vllm/vllm-openai:v0.8.3 --port 8000")
    assert out == "docker run -e HF_TOKEN=<redacted> -e NCCL_DEBUG=INFO vllm/vllm-openai:v0.8.3 --port 8000"


def test_real_logs_change_only_where_a_secret_is() -> None:
    changed: list[str] = []
    logs = sorted(must_exist(CORPUS).glob("*.log"))
    assert len(logs) >= 40, f"{CORPUS}: {len(logs)} logs"
    for log in logs:
        for before in log.read_text(encoding="utf-8").splitlines():
            after = redact_text(before)
            if after != before:
                changed.append(before)
                assert after.count("<redacted>") + after.count("<email>") >= 1
    # the one secret in the corpus: `vllm serve ... --api-key token-abc123` (vLLM #9377)
    assert len(changed) == 1 and "--api-key token-abc123" in changed[0]


def test_hosts_are_masked_only_when_asked() -> None:
    line = ("Jun 10 21:32:17 gpu-node-3 vllm[4121]: connect to 10.20.0.2:29500 and [fe80::1ff:fe23:4567:890a]:80 "
            "and worker-7.cluster.internal failed (NCCL 2.21.5, torch 2.5.1, see https://docs.vllm.ai/en/latest/)")
    assert redact_text(line) == line
    out = redact_text(line, hosts=True)
    for gone in ("gpu-node-3", "10.20.0.2", "fe80::", "worker-7"):
        assert gone not in out
    for kept in ("21:32:17", "2.21.5", "2.5.1", "https://docs.vllm.ai/en/latest/", ":29500"):
        assert kept in out


def _log_with_secrets() -> str:
    return (
        f"$ docker run --gpus all -e HF_TOKEN={HF} vllm/vllm-openai:v0.8.3 --api-key sk-proj-0123456789abcdefghijKLMN\n"
        "INFO 06-10 21:32:17 [api_server.py:1] vLLM API server version 0.8.3\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.12/site-packages/huggingface_hub/utils/_http.py", line 409, in hf_raise_for_status\n'
        "    response.raise_for_status()\n"
        "requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: "
        f"https://user:{HF}@huggingface.co/meta-llama/Llama-3-8B/resolve/main/config.json "
        "(proxy 10.1.2.3:3128, sk-proj-0123456789abcdefghijKLMN, ask ops@example.com)\n"
    )


def test_library_redacts_on_request_and_keeps_rule_text() -> None:
    raw = logclassify.classify(_log_with_secrets())
    for secret in (HF, "sk-proj-0123456789", "ops@example.com", "10.1.2.3"):
        assert secret in raw.model_dump_json()  # the library does not change data unless asked
    clean = logclassify.classify(_log_with_secrets(), redact=True)
    dumped = clean.model_dump_json()
    for secret in (HF, "sk-proj-0123456789", "ops@example.com"):
        assert secret not in dumped
    assert "10.1.2.3" in dumped
    assert clean.facts.get("env", {}).get("HF_TOKEN") == "<redacted>"
    # rule-authored advice such as "export HF_TOKEN=<token with read access>" is not mangled
    rule_fix = [f for d in raw.diagnoses for f in d.fix]
    assert [f for d in clean.diagnoses for f in d.fix] == rule_fix
    assert "10.1.2.3" not in logclassify.classify(_log_with_secrets(), redact_hosts=True).model_dump_json()


def test_redact_report_masks_captures_filled_into_rule_text() -> None:
    report = logclassify.classify(_log_with_secrets())
    d = report.diagnoses[0].model_copy(update={"captures": {"url": HF}, "cause": f"Could not read {HF}."})
    clean = redact_report(report.model_copy(update={"diagnoses": [d]}))
    assert HF not in clean.diagnoses[0].cause and "<redacted>" in clean.diagnoses[0].cause


@pytest.mark.parametrize("fmt", ["json", "jsonl", "markdown", "text"])
def test_cli_output_is_redacted_by_default(tmp_path: Path, fmt: str) -> None:
    log = tmp_path / "server.log"
    log.write_text(_log_with_secrets(), encoding="utf-8")
    out = run_cli("--format", fmt, str(log)).stdout.decode()
    if fmt != "text":  # text cuts long evidence lines to the terminal width
        assert "ops@example.com" in run_cli("--format", fmt, "--no-redact", str(log)).stdout.decode()
    for secret in (HF, "sk-proj-0123456789", "ops@example.com"):
        assert secret not in out
    if fmt == "json":
        assert json.loads(out)["facts"]["env"]["HF_TOKEN"] == "<redacted>"


def test_cli_no_redact_and_redact_hosts(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(_log_with_secrets(), encoding="utf-8")
    raw = run_cli("--format", "json", "--no-redact", str(log)).stdout.decode()
    assert HF in raw
    hosts = run_cli("--format", "json", "--redact-hosts", str(log)).stdout.decode()
    assert "10.1.2.3" not in hosts and HF not in hosts
