"""How an issue body is told from a log (`input_format="auto"`): by the same test for a file, stdin, `classify()`
and the service, so the same bytes get the same answer whichever way they come in (README "Answering issues")."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from logclassify import Classifier
from logclassify.read.markdown import ISSUE_BODY_MAX, log_lines_of_markdown
from logclassify.read.normalize import looks_like_log_line
from tests.conftest import run_cli

# An issue body: the prose outside the fence mentions an old error that the fenced log does not show. Read as a
# log, the prose would be taken for a failure; read as an issue body, only the fenced lines count.
BODY = (
    "The server starts and answers, see below.\n"
    "```\n"
    "INFO 06-10 21:32:17 [api_server.py:1034] vLLM API server version 0.8.4\n"
    "INFO:     Application startup complete.\n"
    "```\n"
    "Last week it said torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB, but not now.\n"
)


def _key(report: dict[str, Any]) -> tuple[list[str], list[str | None]]:
    return [d["id"] for d in report["diagnoses"]], [u.get("error") for u in report["unrecognized"]]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier()


def test_a_fenced_body_gets_one_answer_from_a_file_stdin_and_the_library(classifier: Classifier,
                                                                          tmp_path: Path) -> None:
    path = tmp_path / "pasted.log"
    path.write_text(BODY)
    by_file = _key(json.loads(run_cli("--format", "json", str(path)).stdout))
    by_stdin = _key(json.loads(run_cli("--format", "json", "-", stdin=BODY.encode()).stdout))
    assert by_file == by_stdin == ([], []), (by_file, by_stdin)  # the prose is not read as a failure
    for data in (BODY, BODY.encode(), io.StringIO(BODY), io.BytesIO(BODY.encode()), BODY.splitlines(True)):
        assert _key(classifier.classify(data).model_dump()) == by_file, type(data)  # type: ignore[arg-type]
    assert _key(classifier.classify_path(path).model_dump()) == by_file
    # asked for, every line is read: then the prose is a failure, by either path
    forced = run_cli("--format", "json", "--input-format", "log", str(path))
    forced_stdin = run_cli("--format", "json", "--input-format", "log", "-", stdin=BODY.encode())
    assert _key(json.loads(forced.stdout)) == _key(json.loads(forced_stdin.stdout))
    assert _key(json.loads(forced.stdout))[0] == ["cuda-oom"]


def test_an_input_larger_than_an_issue_body_is_a_log_whatever_its_head_holds(tmp_path: Path) -> None:
    """A big log with a stray fence near its start is read whole as a log, on stdin as from a file: never cut to a
    Markdown size limit, nor stripped of the lines that are not log-shaped."""
    filler = "INFO 06-10 21:32:17 [engine.py:1] step\n" * (ISSUE_BODY_MAX // 38 + 10)
    tail = "[2024/06/10 21:40:00] worker0: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
    text = "```\nnvidia-smi\n```\n" + filler + tail
    assert len(text) > ISSUE_BODY_MAX
    path = tmp_path / "big.log"
    path.write_text(text)
    by_stdin = _key(json.loads(run_cli("--format", "json", "-", stdin=text.encode()).stdout))
    by_file = _key(json.loads(run_cli("--format", "json", str(path)).stdout))
    assert by_stdin == by_file and by_stdin[0] == ["cuda-oom"], (by_stdin, by_file)


def test_an_md_name_is_an_issue_body_and_markdown_reading_keeps_what_a_log_prints() -> None:
    body = BODY.replace("```\nINFO", "```\nVLLM_LOGGING_LEVEL=DEBUG vllm serve m --max-model-len 4096\n```\n```\nINFO")
    kept = log_lines_of_markdown(body).split("\n")
    assert kept[0] == "" and kept[-2] == ""  # prose blanked, line count kept
    assert any(line.startswith("VLLM_LOGGING_LEVEL=DEBUG vllm serve") for line in kept)
    for line in ("VLLM_TRACE_FUNCTION=1 vllm serve zai-org/GLM-4.5 -tp 8",
                 "$ python -m vllm.entrypoints.openai.api_server --model m",
                 "2024-06-11 06:33:24.763706 Call to __getitem__ in /x/torch/storage.py:308",
                 "    Processed prompts: 100%|██████| 4/4 [00:00<00:00, 11.76it/s]",
                 "Loading safetensors checkpoint shards:  50% Completed | 1/2 [00:01<00:01,  1.20s/it]"):
        assert looks_like_log_line(line), line
    for prose in ("I ran vllm with tp 2 and it failed.", "python is great", "After loading, it seems to hang"):
        assert not looks_like_log_line(prose), prose
