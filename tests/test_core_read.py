"""The reader and normaliser: every prefix format, decoding, and records that lost their newlines."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from logclassify.read.markdown import log_lines_of_markdown, looks_like_markdown
from logclassify.read.normalize import normalize_line, strip_ansi
from logclassify.read.sources import LONG_KEEP, MAX_LINE, ReadStats, chunks_from, decode, iter_chunks, open_binary


def one(raw: str, number: int = 7):  # type: ignore[no-untyped-def]
    records = list(normalize_line(number, raw))
    assert len(records) == 1, records
    return records[0]


@pytest.mark.parametrize(
    ("raw", "message", "level", "ts", "process", "origin"),
    [
        # vLLM, current and older forms
        ("INFO 06-10 21:32:17 [api_server.py:88] vLLM API server version 0.8.3", "vLLM API server version 0.8.3",
         "INFO", "06-10 21:32:17", None, "api_server.py:88"),
        ("WARNING 06-10 21:32:17 llm_engine.py:161] Possibly too large swap space.", "Possibly too large swap space.",
         "WARNING", "06-10 21:32:17", None, "llm_engine.py:161"),
        ("INFO 06-10 21:32:17.123 [core.py:58] Initializing a V1 LLM engine", "Initializing a V1 LLM engine",
         "INFO", "06-10 21:32:17.123", None, "core.py:58"),
        # worker tags before the vLLM prefix
        ("(VllmWorkerProcess pid=123) INFO 06-10 21:32:17 [model_runner.py:1] Loading model",
         "Loading model", "INFO", "06-10 21:32:17", "VllmWorkerProcess pid=123", "model_runner.py:1"),
        ("(RayWorkerWrapper pid=1, ip=10.0.0.2) ERROR 06-10 21:32:17 [worker_base.py:464] boom",
         "boom", "ERROR", "06-10 21:32:17", "RayWorkerWrapper pid=1, ip=10.0.0.2", "worker_base.py:464"),
        ("(EngineCore_0 pid=7) ERROR 06-10 21:32:17 [core.py:700] EngineCore failed to start.",
         "EngineCore failed to start.", "ERROR", "06-10 21:32:17", "EngineCore_0 pid=7", "core.py:700"),
        ("(VllmWorker rank=1 pid=9) INFO 06-10 21:32:17 [parallel_state.py:1] world", "world", "INFO",
         "06-10 21:32:17", "VllmWorker rank=1 pid=9", "parallel_state.py:1"),
        ("(APIServer pid=3) INFO 06-10 21:32:17 [api_server.py:1] Starting", "Starting", "INFO", "06-10 21:32:17",
         "APIServer pid=3", "api_server.py:1"),
        # Ray Serve's replica tag names the app and the deployment with colons (ray-project/ray#50275)
        ("(ServeReplica:default:VLLMDeployment pid=1328933) AttributeError: 'str' object has no attribute 'name'",
         "AttributeError: 'str' object has no attribute 'name'", None, None, "ServeReplica:default:VLLMDeployment pid=1328933",
         None),
        # journald short and short-iso
        ("Jun 10 21:32:17 gpu-node-3 vllm[4121]: INFO 06-10 21:32:17 [a.py:1] hello", "hello", "INFO",
         "06-10 21:32:17", None, "a.py:1"),
        ("2024-06-10T21:32:17+0000 gpu-node-3 vllm[4121]: plain message", "plain message", None,
         "2024-06-10T21:32:17+0000", None, None),
        # docker / kubectl --timestamps, Kubernetes CRI
        ("2024-06-10T21:32:17.123456789Z INFO 06-10 21:32:17 [a.py:1] hi", "hi", "INFO", "06-10 21:32:17", None,
         "a.py:1"),
        ("2024-06-10T21:32:17.123456789Z stdout F RuntimeError: boom", "RuntimeError: boom", None,
         "2024-06-10T21:32:17.123456789Z", None, None),
        # docker compose, torch rank, glog, Buildkite
        ("vllm-1  | INFO 06-10 21:32:17 [a.py:1] composed", "composed", "INFO", "06-10 21:32:17", None, "a.py:1"),
        ("[rank0]: Traceback (most recent call last):", "Traceback (most recent call last):", None, None, "rank0",
         None),
        ("[rank1]:[W1022 12:34:56.789012 123 ProcessGroupNCCL.cpp:4115] [PG 0 Rank 1] using GPU 1",
         "[PG 0 Rank 1] using GPU 1", "WARNING", None, "rank1", "ProcessGroupNCCL.cpp:4115"),
        ("[2024-06-10T21:32:17Z] INFO 06-10 21:32:17 [a.py:1] from CI", "from CI", "INFO", "06-10 21:32:17", None,
         "a.py:1"),
        # uvicorn
        ("INFO:     Uvicorn running on http://0.0.0.0:8000", "Uvicorn running on http://0.0.0.0:8000", "INFO", None,
         None, None),
    ],
)
def test_prefixes(raw: str, message: str, level: str | None, ts: str | None, process: str | None,
                  origin: str | None) -> None:
    line = one(raw)
    assert line.message == message
    assert line.level == level
    assert line.timestamp == ts
    assert line.process == process
    assert line.origin == origin
    assert line.number == 7


def test_stacked_prefixes_ray_then_vllm_inside_journald() -> None:
    raw = ("Jun 10 21:32:17 host vllm[1]: (RayWorkerWrapper pid=5, ip=10.1.2.3) "
           "ERROR 06-10 21:32:17 [worker_base.py:1] RuntimeError: NCCL error [repeated 3x across cluster]")
    line = one(raw)
    assert line.message == "RuntimeError: NCCL error"
    assert line.process == "RayWorkerWrapper pid=5, ip=10.1.2.3"
    assert line.level == "ERROR"


@pytest.mark.parametrize(
    "coloured",
    [
        "\x1b[0;36m(VllmWorker rank=0 pid=1)\x1b[0;0m INFO 06-10 21:32:17 [a.py:1] colour",
        "^[[0;36m(VllmWorker rank=0 pid=1)^[[0;0m INFO 06-10 21:32:17 [a.py:1] colour",
        "#033[1;36m(VllmWorker rank=0 pid=1)#033[0;0m INFO 06-10 21:32:17 [a.py:1] colour",
        "\\033[1;36m(VllmWorker rank=0 pid=1)\\033[0;0m INFO 06-10 21:32:17 [a.py:1] colour",
    ],
)
def test_colour_codes_real_and_pasted(coloured: str) -> None:
    line = one(coloured)
    assert line.message == "colour"
    assert line.process == "VllmWorker rank=0 pid=1"


def test_strip_ansi_keeps_brackets_that_are_not_colours() -> None:
    assert strip_ansi("[rank0]: x [1, 2]") == "[rank0]: x [1, 2]"


def test_carriage_returns_and_syslog_escapes_split_records() -> None:
    records = list(normalize_line(3, "Loading: 10%#015Loading: 50%#015Loading: 90%"))
    assert [r.message for r in records] == ["Loading: 10%", "Loading: 50%", "Loading: 90%"]
    assert {r.number for r in records} == {3}
    records = list(normalize_line(4, "ERROR 06-10 21:32:17 [a.py:1] x\r"))
    assert [r.message for r in records] == ["x"]


def test_lost_newlines_are_split_back_into_records() -> None:
    glued = (
        "INFO 06-10 21:32:17 [a.py:1] Starting to load model facebook/opt-125m... "
        "INFO 06-10 21:32:19 [a.py:2] Loading weights took 0.24 GB "
        "ERROR 06-10 21:32:20 [a.py:3] RuntimeError: Failed to infer device type"
    )
    records = list(normalize_line(1, glued))
    assert [r.level for r in records] == ["INFO", "INFO", "ERROR"]
    assert records[2].message == "RuntimeError: Failed to infer device type"


@pytest.mark.parametrize("tag", ["VllmWorker rank=0 pid=80696", "Worker_TP0_EP0 pid=2116241"])
def test_a_long_tagged_record_is_not_split_after_its_own_tag(tag: str) -> None:
    # vLLM issue #13629 / #40000: a worker's long `File ...` line (over 200 characters) was cut after its process
    # tag, so the frame lost the tag and fell apart from the worker's exception line
    path = "/home/user/anaconda3/envs/vllm1/lib/python3.11/site-packages/vllm/v1/worker/gpu_model_runner.py"
    raw = f'({tag}) ERROR 02-21 04:40:48 multiproc_executor.py:374]   File "{path}", line 331, in _update_states'
    assert len(raw) > 200
    (record,) = normalize_line(1, raw)
    assert record.process == tag
    assert record.message.startswith('  File "/home/user/')
    # a record glued after the tagged one is still split off
    glued = list(normalize_line(2, raw + " (EngineCore_DP0 pid=7) ERROR 02-21 04:40:49 a.py:1] IndexError: x"))
    assert [r.process for r in glued] == [tag, "EngineCore_DP0 pid=7"]


def test_journalctl_json_records() -> None:
    rec = {"MESSAGE": "ERROR 06-10 21:32:17 [a.py:1] boom", "__REALTIME_TIMESTAMP": "1718054537000000",
           "_PID": "12", "SYSLOG_IDENTIFIER": "vllm"}
    line = one(json.dumps(rec))
    assert line.message == "boom" and line.level == "ERROR"
    # journald stores non-UTF-8 messages as byte arrays
    rec = {"MESSAGE": list("bad \xff byte".encode("latin-1")), "__REALTIME_TIMESTAMP": "1718054537000000"}
    line = one(json.dumps(rec))
    assert line.message.startswith("bad ") and line.timestamp is not None


def test_decode_never_fails() -> None:
    assert decode(b"ok \xff\xfe \x00nul") == "ok \ufffd\ufffd nul"


def test_chunks_end_on_newlines_and_shorten_huge_lines() -> None:
    """A huge line stays one line (its head and tail, joined by a CR): no phantom lines (issue 10)."""
    huge = b"h" + b"x" * (MAX_LINE * 2 + 10) + b"t"
    data = b"a\n" * 10 + huge + b"\nlast"
    for size in (4096, 1 << 16, 1 << 22):
        stats = ReadStats()
        chunks = list(iter_chunks(io.BytesIO(data), chunk_size=size, stats=stats))
        out = b"".join(chunks)
        assert out.count(b"\n") == data.count(b"\n")
        lines = out.split(b"\n")
        assert lines[:10] == [b"a"] * 10 and lines[-1] == b"last"
        assert lines[10] == b"h" + b"x" * (LONG_KEEP - 1) + b"\r" + b"x" * (LONG_KEEP - 1) + b"t"
        assert all(len(line) < MAX_LINE for line in lines)
        assert all(c.endswith(b"\n") for c in chunks[:-1])
        assert stats.long_lines == 1 and stats.skipped_bytes == len(huge) - 2 * LONG_KEEP


def test_multibyte_characters_survive_long_line_cut() -> None:
    data = ("é" * (MAX_LINE)).encode()  # 2 bytes each: a cut must not split one
    text = "".join(decode(c) for c in iter_chunks(io.BytesIO(data), chunk_size=1 << 16))
    assert "\ufffd" not in text


def test_gzip_detected_by_content(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "server.log.gz"
    p.write_bytes(gzip.compress(b"hello\nworld\n"))
    with open_binary(p) as f:
        assert b"".join(iter_chunks(f)) == b"hello\nworld\n"


def test_chunks_from_accepts_str_bytes_and_lines() -> None:
    assert b"".join(chunks_from("a\nb")) == b"a\nb"
    assert b"".join(chunks_from(b"a\nb\n")) == b"a\nb\n"
    assert b"".join(chunks_from(["a", "b\n"])) == b"a\nb\n"


def test_markdown_keeps_code_blocks_and_details_with_line_numbers() -> None:
    body = "\n".join([
        "### Your current environment",  # 1
        "I run vLLM and it fails.",  # 2
        "```text",  # 3
        "RuntimeError: Failed to infer device type",  # 4
        "```",  # 5
        "<details><summary>log</summary>",  # 6
        "",  # 7
        "ERROR in details",  # 8
        "</details>",  # 9
        "Thanks",  # 10
    ])
    assert looks_like_markdown(body)
    out = log_lines_of_markdown(body).split("\n")
    assert len(out) == 10
    assert out[3] == "RuntimeError: Failed to infer device type"
    assert out[7] == "ERROR in details"
    assert out[1] == "" and out[9] == ""
    assert not looks_like_markdown("INFO 06-10 21:32:17 [a.py:1] plain log\n")


def test_markdown_one_line_backtick_span_is_not_a_fence() -> None:
    # CommonMark: a backtick fence's info string holds no backtick, so "```...```" on one line is inline code, and
    # the code block after it still opens and closes where it should (vllm#9426 pasted its 400 error this way).
    body = (
        "Error Message:\n"
        "```openai.BadRequestError: Error code: 400 - {'message': 'Value error, bad'}```\n"
        "```\n"
        "RuntimeError: inside a real block\n"
        "```\n"
        "prose after the block\n"
    )
    out = log_lines_of_markdown(body).split("\n")
    assert out[1] == "openai.BadRequestError: Error code: 400 - {'message': 'Value error, bad'}"
    assert out[2] == "" and out[3] == "RuntimeError: inside a real block" and out[4] == ""
    assert out[5] == ""  # prose stays blanked: the one-line span did not leave a fence open
    # an ordinary fence with an info string (no backtick in it) still opens a block
    assert log_lines_of_markdown("```python\nValueError: x\n```").split("\n") == ["", "ValueError: x", ""]


def test_buildkite_timestamp_escapes() -> None:
    assert one("\x1b_bk;t=1718000000000\x07INFO 06-10 21:32:17 [a.py:1] from buildkite").message == "from buildkite"


def test_indented_paste_keeps_prefixes_recognised() -> None:
    line = one("    (VllmWorkerProcess pid=6923) INFO 07-17 23:41:16 model_runner.py:559] Loading model weights took 6 GB")
    assert line.process == "VllmWorkerProcess pid=6923" and line.timestamp == "07-17 23:41:16"


def test_raw_log_with_a_stray_fence_is_not_reduced_to_the_fence() -> None:
    text = "WARNING 06-11 06:20:42 logger.py:125] VLLM_TRACE_FUNCTION is enabled.\n```\ntail -f x.log\n```\n"
    kept = log_lines_of_markdown(text).split("\n")
    assert kept[0].startswith("WARNING") and kept[2] == "tail -f x.log"


def test_dated_python_logging_with_pid_and_origin() -> None:
    line = one("2024-12-19 21:40:35 ERROR 56542 [async_llm_engine.py:64] RuntimeError: Error in model execution")
    assert line.message == "RuntimeError: Error in model execution"
    assert line.level == "ERROR" and line.origin == "async_llm_engine.py:64"
    ray = one("2024-06-10 21:32:17,123\tINFO worker.py:1234 -- Connecting to existing Ray cluster")
    assert ray.message == "Connecting to existing Ray cluster" and ray.level == "INFO"


def test_fastchat_and_python_logging_wrappers() -> None:
    line = one("2024-04-27 10:13:05 | ERROR | stderr | ValueError: x")
    assert line.message == "ValueError: x" and line.level == "ERROR"
    nested = one("2025-08-13 04:39:39,465 - __main__ - INFO - WARNING 08-13 04:39:39 [a.py:1] inner")
    assert nested.message == "inner" and nested.level == "WARNING" and nested.origin == "a.py:1"


def test_first_chars_of_each_prefix_are_exact() -> None:
    """FIRST_CHARS (which spares compiling prefixes a log never starts with) must agree with the patterns."""
    from logclassify.read.normalize import _PREFIXES, FIRST_CHARS

    assert len(FIRST_CHARS) == len(_PREFIXES)
    for k, prefix in enumerate(_PREFIXES):
        can_start = {chr(c) for c in range(128) if prefix.compiled.match(chr(c), partial=True) is not None}
        assert can_start == set(FIRST_CHARS[k]), (k, prefix.source)


def test_a_paste_quoted_in_an_issue_comment_is_read_like_the_log() -> None:
    from logclassify.read.normalize import normalize_line

    (frame,) = normalize_line(2, '>   File "/x/vllm/_custom_ops.py", line 106, in rms_norm')
    assert frame.message == '  File "/x/vllm/_custom_ops.py", line 106, in rms_norm'
    (nested,) = normalize_line(3, "> > ERROR 04-20 10:00:00 [core.py:1] NameError: name 'vllm_ops' is not defined")
    assert nested.level == "ERROR" and nested.message == "NameError: name 'vllm_ops' is not defined"


def test_a_file_that_grows_while_it_is_read_is_read_to_its_end(tmp_path: Path) -> None:
    """A plain file's blocks are sized to what it holds (no 4 MiB buffer per small log): what is appended after a
    block was read still comes, in lines, and so does a BytesIO read from the middle."""
    path = tmp_path / "grow.log"
    path.write_bytes(b"first\n" * 10)
    with open_binary(path) as f:
        chunks = iter_chunks(f, chunk_size=1 << 20)  # type: ignore[arg-type]
        got = [next(chunks)]
        with path.open("ab") as w:
            w.write(b"appended line\n" * 20_000)  # more than the slack read past the size first seen
        got += list(chunks)
    assert b"".join(got) == path.read_bytes()
    assert all(c.endswith(b"\n") for c in got)
    buf = io.BytesIO(b"x\n" * 1000)
    buf.seek(1000)
    assert b"".join(iter_chunks(buf, chunk_size=64)) == b"x\n" * 500
