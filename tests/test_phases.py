"""Startup phases, the phase a log ends in, and hang evidence, on real vLLM log snippets."""

# ruff: noqa: E501

from __future__ import annotations

import pytest

from logclassify.models import Phase
from logclassify.parse import phases
from logclassify.parse.phases import LITERALS, build_timeline, elapsed, ending_phase, hang_evidence, parse_time
from logclassify.read.logline import LogLine
from logclassify.read.normalize import normalize_line


def _lines(text: str) -> list[LogLine]:
    out: list[LogLine] = []
    for n, raw in enumerate(text.strip("\n").split("\n"), 1):
        out.extend(normalize_line(n, raw))
    return out


def _names(tl: list[Phase]) -> list[tuple[str, str]]:
    return [(p.name, p.status) for p in tl]


def _sparse(lines: list[LogLine]) -> list[LogLine]:
    """What the engine's literal prefilter keeps: only lines containing a phase literal."""
    return [ln for ln in lines if any(lit in ln.text for lit in LITERALS)]


# vLLM 0.6.5 (V0, TP=2, multiproc workers) -- vllm-project/vllm#10909, completed with the API-server lines of a 0.6
# server (vllm-project/vllm#8791) and a throughput line.
V0_06 = """\
INFO 12-13 02:08:40 api_server.py:651] vLLM API server version 0.6.5.dev
INFO 12-13 02:08:52 llm_engine.py:249] Initializing an LLM engine (v0.6.5.dev) with config: model='ibm-ai-platform/Bamba-9B', speculative_config=None, tokenizer='ibm-ai-platform/Bamba-9B', enforce_eager=False, kv_cache_dtype=auto
INFO 12-13 02:08:58 model_runner.py:1092] Starting to load model ibm-ai-platform/Bamba-9B...
(VllmWorkerProcess pid=1587462) INFO 12-13 02:08:58 model_runner.py:1092] Starting to load model ibm-ai-platform/Bamba-9B...
INFO 12-13 02:08:59 weight_utils.py:243] Using model weights format ['*.safetensors']
Loading safetensors checkpoint shards:   0% Completed | 0/4 [00:00<?, ?it/s]
Loading safetensors checkpoint shards: 100% Completed | 4/4 [00:14<00:00,  3.60s/it]
INFO 12-13 02:09:14 model_runner.py:1094] Loading model weights took 18.4902 GB
(VllmWorkerProcess pid=1587462) INFO 12-13 02:09:16 model_runner.py:1094] Loading model weights took 18.4902 GB
(VllmWorkerProcess pid=1587462) INFO 12-13 02:10:28 worker.py:237] Memory profiling results: duration=71.88 seconds, total_gpu_memory=79.15GiB, initial_memory_usage=19.68GiB, peak_torch_memory=34.32GiB, kv_cache_size=34.96GiB, gpu_memory_utilization=0.90.
INFO 12-13 02:10:28 worker.py:237] Memory profiling results: duration=72.36 seconds, total_gpu_memory=79.15GiB, initial_memory_usage=19.68GiB, peak_torch_memory=34.50GiB, kv_cache_size=34.78GiB, gpu_memory_utilization=0.90.
INFO 12-13 02:10:29 distributed_gpu_executor.py:58] # GPU blocks: 189945, # CPU blocks: 21845
INFO 12-13 02:10:29 distributed_gpu_executor.py:62] Maximum concurrency for 1024 tokens per request: 2967.89x
INFO 12-13 02:10:32 model_runner.py:1409] Capturing cudagraphs for decoding. This may lead to unexpected consequences if the model is not static. To run the model in eager mode, set 'enforce_eager=True' or use '--enforce-eager' in the CLI.
INFO 12-13 02:10:57 model_runner.py:1537] Graph capturing finished in 25 secs, took 0.40 GiB
INFO 12-13 02:10:58 api_server.py:597] Starting vLLM API server on http://0.0.0.0:8000
INFO 12-13 02:10:58 launcher.py:19] Available routes are:
INFO 12-13 02:10:58 launcher.py:27] Route: /v1/completions, Methods: POST
INFO:     Started server process [1587300]
INFO:     Waiting for application startup.
INFO:     Application startup complete.
INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)
INFO 12-13 02:11:08 metrics.py:449] Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 0.0 tokens/s, Running: 0 reqs, Swapped: 0 reqs, Pending: 0 reqs, GPU KV cache usage: 0.0%, CPU KV cache usage: 0.0%.
"""

# vLLM V1 (2026 release, single GPU, docker) -- a healthy start with torch.compile and CUDA graphs; the uvicorn lines
# are those of the same release's 0.20 log (fixtures/healthy/healthy-v1-0.20-compose-timestamps-gencfg.log).
V1 = """\
(EngineCore pid=134) INFO 07-02 21:27:44 [parallel_state.py:1588] world_size=1 rank=0 local_rank=0 distributed_init_method=tcp://172.18.0.2:47525 backend=nccl
(EngineCore pid=134) INFO 07-02 21:27:53 [gpu_model_runner.py:5160] Starting to load model nvidia/Qwen3.6-27B-NVFP4...
(EngineCore pid=134) INFO 07-02 21:27:55 [weight_utils.py:811] Prefetching checkpoint files into page cache started (in background, num_threads=8, block_size=16777216 bytes)
(EngineCore pid=134) INFO 07-02 21:30:01 [default_loader.py:430] Loading weights took 125.41 seconds
(EngineCore pid=134) INFO 07-02 21:30:03 [gpu_model_runner.py:5255] Model loading took 19.78 GiB memory and 129.689615 seconds
(EngineCore pid=134) INFO 07-02 21:30:22 [backends.py:1089] Using cache directory: /root/.cache/vllm/torch_compile_cache/558c916507/rank_0_0/backbone for vLLM's torch.compile
(EngineCore pid=134) INFO 07-02 21:30:22 [backends.py:1148] Dynamo bytecode transform time: 10.78 s
(EngineCore pid=134) INFO 07-02 21:31:22 [backends.py:393] Compiling a graph for compile range (1, 65536) takes 59.23 s
(EngineCore pid=134) INFO 07-02 21:31:27 [monitor.py:53] torch.compile took 75.32 s in total
(EngineCore pid=134) INFO 07-02 21:33:25 [monitor.py:81] Initial profiling/warmup run took 117.91 s
(EngineCore pid=134) INFO 07-02 21:33:32 [gpu_worker.py:515] Available KV cache memory: 47.84 GiB
(EngineCore pid=134) INFO 07-02 21:33:32 [kv_cache_utils.py:2146] GPU KV cache size: 1,505,068 tokens
(EngineCore pid=134) INFO 07-02 21:33:32 [kv_cache_utils.py:2147] Maximum concurrency for 262,144 tokens per request: 5.74x
(EngineCore pid=134) INFO 07-02 21:37:26 [gpu_model_runner.py:6656] Graph capturing finished in 3 secs, took 0.62 GiB
(EngineCore pid=134) INFO 07-02 21:37:27 [core.py:337] init engine (profile, create kv cache, warmup model) took 443.17 s (compilation: 75.32 s)
(APIServer pid=1) INFO 07-02 21:37:27 [api_server.py:619] Supported tasks: ['generate']
(APIServer pid=1) INFO 07-02 21:37:45 [api_server.py:623] Starting vLLM server on http://0.0.0.0:8000
(APIServer pid=1) INFO 07-02 21:37:45 [launcher.py:37] Available routes are:
(APIServer pid=1) INFO 07-02 21:37:45 [launcher.py:46] Route: /v1/chat/completions, Methods: POST
(APIServer pid=1) INFO:     Started server process [1]
(APIServer pid=1) INFO:     Waiting for application startup.
(APIServer pid=1) INFO:     Application startup complete.
(APIServer pid=1) INFO:     172.18.0.3:45834 - "POST /v1/chat/completions HTTP/1.1" 200 OK
(APIServer pid=1) INFO 07-02 21:38:56 [loggers.py:273] Engine 000: Avg prompt throughput: 5.3 tokens/s, Avg generation throughput: 6.8 tokens/s, Running: 1 reqs, Waiting: 0 reqs, GPU KV cache usage: 0.4%, Prefix cache hit rate: 0.0%
"""


def test_v0_startup_timeline() -> None:
    lines = _lines(V0_06)
    tl = build_timeline(lines)
    assert _names(tl) == [
        ("init", "done"),
        ("download", "done"),
        ("load_weights", "done"),
        ("profile", "done"),
        ("cuda_graphs", "done"),
        ("api_server", "done"),
        ("serving", "running"),
    ]
    by = {p.name: p for p in tl}
    assert by["download"].start_time == "12-13 02:08:58"  # from "Starting to load model" to the first shard
    assert by["load_weights"].start_time == "12-13 02:08:59"
    assert by["cuda_graphs"].duration_s == 25.0  # printed by vLLM
    assert by["profile"].duration_s == 72.36
    assert by["load_weights"].duration_s == pytest.approx(17.0)  # from the timestamps, up to the last worker
    assert ending_phase(lines, tl) is None


def test_v1_startup_timeline() -> None:
    lines = _lines(V1)
    tl = build_timeline(lines)
    assert [p.name for p in tl] == ["init", "load_weights", "compile", "profile", "cuda_graphs", "api_server", "serving"]
    by = {p.name: p for p in tl}
    assert by["load_weights"].duration_s == pytest.approx(129.69, abs=0.01)
    assert by["compile"].duration_s == 75.32
    assert by["cuda_graphs"].status == "done"
    assert ending_phase(lines, tl) is None
    assert hang_evidence(lines, tl) == []


def test_sparse_lines_give_the_same_timeline() -> None:
    for text in (V0_06, V1):
        full = _lines(text)
        sparse = _sparse(full)
        assert len(sparse) < len(full) or text is V0_06
        assert [(p.name, p.status, p.start_line) for p in build_timeline(sparse)] == [
            (p.name, p.status, p.start_line) for p in build_timeline(full)
        ]


def test_v1_log_cut_after_loading_ends_in_compile() -> None:
    lines = _lines(V1.split("Using cache directory")[0].rsplit("\n", 1)[0])
    tl = build_timeline(lines)
    assert tl[-1].name == "compile" and tl[-1].status == "running"
    end = ending_phase(lines, tl)
    assert end is not None and end.name == "compile"


def test_eager_v1_log_cut_after_loading_ends_in_profile() -> None:
    text = (
        "(EngineCore_0 pid=9) INFO 08-19 14:58:20 [core.py:69] Initializing a V1 LLM engine (v0.10.1) with config: "
        "model='Qwen/Qwen3-8B', enforce_eager=True, kv_cache_dtype=auto\n"
        "(EngineCore_0 pid=9) INFO 08-19 14:58:21 [gpu_model_runner.py:1913] Starting to load model Qwen/Qwen3-8B...\n"
        "(EngineCore_0 pid=9) INFO 08-19 14:58:39 [gpu_model_runner.py:1960] Model loading took 15.27 GiB and "
        "17.4 seconds\n"
    )
    lines = _lines(text)
    end = ending_phase(lines, build_timeline(lines))
    assert end is not None and end.name == "profile"


# A log that stops while loading weights: vllm-project/vllm PR #38476 (Worker_TP0 loading at ~30 s a shard).
LOAD_CRAWL = """\
(Worker_TP0 pid=1700) INFO 05-06 06:14:58 [gpu_model_runner.py:4812] Starting to load model /models/GLM-5-FP8...
(Worker_TP0 pid=1700) INFO 05-06 06:15:01 [weight_utils.py:849] Filesystem type for checkpoints: NFS. Checkpoint size: 704.12 GiB. Available RAM: 1007.52 GiB.
Loading safetensors checkpoint shards:  26% Completed | 22/85 [09:23<29:54, 28.49s/it]
(Worker_TP0 pid=1700)
Loading safetensors checkpoint shards:  27% Completed | 23/85 [09:54<29:59, 29.02s/it]
(Worker_TP0 pid=1700)
Loading safetensors checkpoint shards:  28% Completed | 24/85 [10:26<30:24, 29.91s/it]
(Worker_TP0 pid=1700)
Loading safetensors checkpoint shards:  29% Completed | 25/85 [10:56<30:02, 30.04s/it]
(Worker_TP0 pid=1700)
Loading safetensors checkpoint shards:  31% Completed | 26/85 [11:27<29:54, 30.42s/it]
"""


def test_log_ending_in_load_weights_with_crawl() -> None:
    lines = _lines(LOAD_CRAWL)
    tl = build_timeline(lines)
    assert _names(tl) == [("load_weights", "running")]
    end = ending_phase(lines, tl)
    assert end is not None and end.name == "load_weights" and end.status == "running"
    assert end.duration_s is not None and end.duration_s >= 11 * 60  # the progress bar's elapsed time
    facts = {f.name: f for f in hang_evidence(lines, tl)}
    assert "hang.crawl" in facts
    assert "30.4 s per item" in facts["hang.crawl"].value
    assert facts["hang.crawl"].line == lines[-1].number


def test_error_after_load_means_no_ending_phase() -> None:
    text = """\
INFO 12-13 02:08:58 model_runner.py:1092] Starting to load model meta-llama/Llama-2-70b-hf...
INFO 12-13 02:09:14 model_runner.py:1094] Loading model weights took 18.4902 GB
ERROR 12-13 02:09:20 engine.py:366] CUDA out of memory. Tried to allocate 1.96 GiB.
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/dist-packages/vllm/worker/worker.py", line 195, in determine_num_available_blocks
    self.model_runner.profile_run()
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.96 GiB.
"""
    lines = _lines(text)
    tl = build_timeline(lines)
    assert _names(tl) == [("load_weights", "done"), ("profile", "failed")]
    assert ending_phase(lines, tl) is None


def test_cut_traceback_counts_as_an_error() -> None:
    text = """\
INFO 12-13 02:08:58 model_runner.py:1092] Starting to load model meta-llama/Llama-2-70b-hf...
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/dist-packages/vllm/model_executor/model_loader/loader.py", line 375, in load_model
"""
    lines = _lines(text)
    assert ending_phase(lines, build_timeline(lines)) is None


def test_journald_download_lock_and_interrupt() -> None:
    text = """\
Aug 19 18:30:11 gpu1 vllm[8707]: (EngineCore_0 pid=8801) INFO 08-19 18:30:11 [gpu_model_runner.py:1913] Starting to load model Qwen/Qwen2.5-72B-Instruct...
Aug 19 18:30:12 gpu1 vllm[8707]: (EngineCore_0 pid=8801) INFO 08-19 18:30:12 [weight_utils.py:296] Using model weights format ['*.safetensors']
Aug 19 18:31:12 gpu1 vllm[8707]: Still waiting to acquire lock on /root/.cache/huggingface/hub/.locks/models--Qwen--Qwen2.5-72B-Instruct/3f2a.lock (elapsed: 60.1 seconds)
Aug 19 18:32:12 gpu1 vllm[8707]: Still waiting to acquire lock on /root/.cache/huggingface/hub/.locks/models--Qwen--Qwen2.5-72B-Instruct/3f2a.lock (elapsed: 120.1 seconds)
Aug 19 18:52:40 gpu1 vllm[8707]: ^CTraceback (most recent call last):
Aug 19 18:52:40 gpu1 vllm[8707]: KeyboardInterrupt
"""
    lines = _lines(text)
    tl = build_timeline(lines)
    assert tl[-1].name == "download" and tl[-1].status == "running"
    end = ending_phase(lines, tl)
    assert end is not None and end.name == "download"
    assert end.duration_s == pytest.approx(22 * 60 + 29)  # from "Starting to load model"
    facts = {f.name: f.value for f in hang_evidence(lines, tl)}
    assert "hang.waiting" in facts and "repeated 2 times" in facts["hang.waiting"]
    assert "hang.interrupted" in facts and "20 min" in facts["hang.interrupted"]


def test_stuck_download_bar() -> None:
    text = """\
INFO 01-17 13:17:16 weight_utils.py:251] Using model weights format ['*.safetensors']
model-00003-of-00006.safetensors:  41%|████      | 2.01G/4.90G [00:21<00:30, 95.2MB/s]
model-00003-of-00006.safetensors:  41%|████      | 2.01G/4.90G [02:21<03:30, 13.7MB/s]
model-00003-of-00006.safetensors:  41%|████      | 2.01G/4.90G [09:48<14:30, 3.4MB/s]
"""
    lines = _lines(text)
    tl = build_timeline(lines)
    facts = {f.name: f.value for f in hang_evidence(lines, tl)}
    assert "hang.stuck_progress" in facts and "41%" in facts["hang.stuck_progress"]


def test_slow_download_is_a_crawl() -> None:
    text = """\
INFO 01-17 13:17:16 weight_utils.py:251] Using model weights format ['*.safetensors']
model-00001-of-00004.safetensors:  12%|█▏        | 598M/4.98G [10:12<1:13:25, 976kB/s]
"""
    lines = _lines(text)
    facts = {f.name: f.value for f in hang_evidence(lines, build_timeline(lines))}
    assert facts.get("hang.crawl", "").endswith("976kB/s")


def test_healthy_fast_load_has_no_evidence() -> None:
    text = """\
INFO 01-31 10:27:32 model_runner.py:1110] Starting to load model meta-llama/Meta-Llama-3-8B...
INFO 01-31 10:27:32 weight_utils.py:251] Using model weights format ['*.safetensors']
Loading safetensors checkpoint shards:   0% Completed | 0/4 [00:00<?, ?it/s]
Loading safetensors checkpoint shards:  25% Completed | 1/4 [00:00<00:00,  3.92it/s]
Loading safetensors checkpoint shards:  50% Completed | 2/4 [00:00<00:00,  2.90it/s]
"""
    lines = _lines(text)
    tl = build_timeline(lines)
    end = ending_phase(lines, tl)
    assert end is not None and end.name == "load_weights"
    assert hang_evidence(lines, tl) == []


def test_shm_broadcast_waiting_during_compile() -> None:
    text = """\
(Worker_TP0 pid=173) INFO 11-09 04:43:58 [gpu_model_runner.py:2653] Model loading took 11.62 GiB and 95.163 seconds
(Worker_TP0 pid=173) INFO 11-09 04:44:35 [backends.py:634] Dynamo bytecode transform time: 28.50 s
(EngineCore_DP0 pid=155) INFO 11-09 04:44:39 [shm_broadcast.py:501] No available shared memory broadcast block found in 60 seconds. This typically happens when some processes are hanging or doing some time-consuming work (e.g. compilation, weight/kv cache quantization).
(EngineCore_DP0 pid=155) INFO 11-09 04:45:39 [shm_broadcast.py:501] No available shared memory broadcast block found in 60 seconds. This typically happens when some processes are hanging or doing some time-consuming work (e.g. compilation, weight/kv cache quantization).
(EngineCore_DP0 pid=155) INFO 11-09 04:46:39 [shm_broadcast.py:501] No available shared memory broadcast block found in 60 seconds. This typically happens when some processes are hanging or doing some time-consuming work (e.g. compilation, weight/kv cache quantization).
"""
    lines = _lines(text)
    tl = build_timeline(lines)
    end = ending_phase(lines, tl)
    assert end is not None and end.name == "compile"
    facts = {f.name: f.value for f in hang_evidence(lines, tl)}
    assert "hang.waiting" in facts and "3 times" in facts["hang.waiting"]


def test_log_cut_after_engine_ready_ends_in_api_server() -> None:
    text = """\
(EngineCore_0 pid=1399537) INFO 08-19 14:58:40 [gpu_worker.py:277] Available KV cache memory: 112.61 GiB
(EngineCore_0 pid=1399537) INFO 08-19 14:58:40 [core.py:215] init engine (profile, create kv cache, warmup model) took 1.06 seconds
(APIServer pid=1391815) INFO 08-19 14:58:41 [api_server.py:1639] Supported_tasks: ['generate']
"""
    lines = _lines(text)
    tl = build_timeline(lines)
    assert tl[-1].name == "api_server"
    end = ending_phase(lines, tl)
    assert end is not None and end.name == "api_server" and end.duration_s == 1.0
    late = _lines(
        text
        + "(APIServer pid=1391815) INFO 08-19 15:08:41 [api_server.py:1700] Using default chat sampling params from model: {}\n"
    )
    end = ending_phase(late, build_timeline(late))
    assert end is not None and end.name == "api_server" and end.duration_s == 601.0


def test_enforce_eager_on_the_command_line_and_not_in_the_hint() -> None:
    hint = "INFO 12-19 22:58:27 model_runner.py:1415] Capturing cudagraphs for decoding. To run the model in eager mode, set 'enforce_eager=True' or use '--enforce-eager' in the CLI."
    cfg = phases._Config()
    for ln in _lines(hint):
        phases._read_config(cfg, ln)
    assert not cfg.eager
    text = """\
$ vllm serve Qwen/Qwen3-30B-A3B --tensor-parallel-size 2 --distributed-executor-backend ray --enforce-eager
(EngineCore pid=51) INFO 04-13 10:02:11 [gpu_model_runner.py:2392] Starting to load model Qwen/Qwen3-30B-A3B...
(EngineCore pid=51) INFO 04-13 10:05:03 [gpu_model_runner.py:2441] Model loading took 14.53 GiB memory and 172.4 seconds
"""
    lines = _lines(text)
    end = ending_phase(lines, build_timeline(lines))
    assert end is not None and end.name == "profile"


def test_restart_starts_a_new_timeline() -> None:
    text = V0_06 + V0_06.split("Loading model weights took")[0].rsplit("\n", 1)[0] + "\n"
    lines = _lines(text)
    tl = build_timeline(lines)
    assert all(p.start_line > V0_06.count("\n") for p in tl)
    end = ending_phase(lines, tl)
    assert end is not None and end.name == "load_weights"


def test_marker_literals_are_exported() -> None:
    for mk in phases._MARKERS:
        assert mk.literal in LITERALS


@pytest.mark.parametrize(
    ("a", "b", "diff"),
    [
        ("12-13 02:08:58", "12-13 02:10:58", 120.0),
        ("2024-10-07T22:54:54,595", "2024-10-07T22:54:57,365", 2.77),
        ("Aug 19 23:59:50", "Aug 20 00:00:10", 20.0),
        ("12-31 23:59:30", "01-01 00:00:30", 60.0),
        ("Dec 31 23:59:30", "Jan  1 00:00:30", 60.0),
        ("23:59:50", "00:00:10", 20.0),
        ("2024-06-11 06:33:24.763706", "2024-06-11 06:33:25.763706", 1.0),
        ("06-11 06:33:24", "2024-06-11T06:33:54Z", 30.0),
        ("04/Oct/2024 20:05:20", "04/Oct/2024 20:06:20", 60.0),
    ],
)
def test_parse_time_differences(a: str, b: str, diff: float) -> None:
    ta, tb = parse_time(a), parse_time(b)
    assert ta is not None and tb is not None
    assert elapsed(ta, tb) == pytest.approx(diff, abs=0.01)


def test_parse_time_rejects_garbage() -> None:
    assert parse_time("") is None
    assert parse_time("not a time") is None


@pytest.mark.parametrize(
    ("line", "interrupt"),
    [
        ("KeyboardInterrupt", True),
        ("^CTraceback (most recent call last):", True),
        ("INFO 08-19 18:52:40 [launcher.py:80] Received SIGTERM, shutting down.", True),
        ("./serve.sh: line 3: 48121 Killed                  python -m vllm.entrypoints.openai.api_server", True),
        ("Killed", True),
        (
            "W0714 23:06:54.603780 torch/distributed/elastic/multiprocessing/api.py:858] Sending process 1234 closing signal SIGTERM",
            False,
        ),
        ("(raylet) SIGTERM handler is not set because current thread is not the main thread.", False),
        ("INFO 07-17 23:41:30 multiproc_worker_utils.py:120] Killing local vLLM worker processes", False),
    ],
)
def test_interrupt_lines(line: str, interrupt: bool) -> None:
    (ln,) = _lines(line)[:1]
    assert phases._is_interrupt(ln) is interrupt


def test_zero_progress_for_minutes_is_stuck_and_retries_are_evidence() -> None:
    text = """\
INFO 05-17 10:02:11 weight_utils.py:251] Using model weights format ['*.safetensors']
Fetching 17 files:   0%|          | 0/17 [07:41<?, ?it/s]
WARNING 05-17 10:09:52 file_download.py:1688] Error while downloading from https://cdn-lfs.hf.co/repos/7a/3b/model-00003-of-00017.safetensors: HTTPSConnectionPool(host='cdn-lfs.hf.co', port=443): Read timed out.
Trying to resume download...
"""
    lines = _lines(text)
    tl = build_timeline(lines)
    end = ending_phase(lines, tl)
    assert end is not None and end.name == "download"
    facts = {f.name: f.value for f in hang_evidence(lines, tl)}
    assert "0/17 after 8 min" in facts["hang.stuck_progress"]
    assert "retried" in facts["hang.retrying"]


def test_other_ranks_start_lines_do_not_end_the_download() -> None:
    text = """\
INFO 01-31 10:27:32 model_runner.py:1110] Starting to load model meta-llama/Meta-Llama-3-70B...
INFO 01-31 10:27:32 weight_utils.py:251] Using model weights format ['*.safetensors']
(VllmWorkerProcess pid=1152873) INFO 01-31 10:27:33 model_runner.py:1110] Starting to load model meta-llama/Meta-Llama-3-70B...
(VllmWorkerProcess pid=1152873) INFO 01-31 10:27:33 weight_utils.py:251] Using model weights format ['*.safetensors']
"""
    lines = _lines(text)
    tl = build_timeline(lines)
    assert _names(tl) == [("download", "running")]
    end = ending_phase(lines, tl)
    assert end is not None and end.name == "download" and end.start_line == 1


def test_a_log_that_stops_while_the_engine_initialises_ends_in_init() -> None:
    lines = _lines(
        "INFO 08-08 10:00:01 llm_engine.py:176] Initializing an LLM engine (v0.5.4) with config: model='m', "
        "tensor_parallel_size=1, enforce_eager=False\n"
        "WARNING 08-08 10:00:03 selector.py:80] Flashinfer will be stuck on llama-2-7b\n"
    )
    tl = build_timeline(lines)
    ending = ending_phase(lines, tl)
    assert ending is not None and ending.name == "init"


@pytest.mark.parametrize(
    "last",
    [
        # eval/random3 001 and 079: the engine's config line, cut by the paste inside its values
        "INFO 11-22 07:19:19 llm_engine.py:237] Initializing an LLM engine (v0.6.3.post1) with config: model='m', "
        "max_seq_len=4096, tensor_parallel_size=",
        "INFO 02-26 16:06:22 llm_engine.py:234] Initializing an LLM engine (v0.6.6.post1) with config: model='m', "
        'compilation_config={"splitting_ops":["vllm.unified_attention",',
        # eval/random3 039: a record cut inside its own prefix
        "(APIServer pid=1) INFO 09-08",
    ],
)
def test_a_paste_cut_inside_its_last_record_ends_in_no_phase(last: str) -> None:
    """An excerpt that stops in the middle of a line was cut by whoever pasted it: where it stops is not where the
    process stopped, so it says nothing about a hang (the same log with that line whole still ends in the phase)."""
    head = "INFO 11-22 07:19:14 llm_engine.py:237] Initializing an LLM engine (v0.6.3.post1) with config: model='m', tensor_parallel_size=1\n"
    whole = _lines(head)
    assert ending_phase(whole, build_timeline(whole)) is not None
    lines = _lines(head + last)
    assert ending_phase(lines, build_timeline(lines)) is None
    assert phases.timeline.cut_mid_record(lines)
    assert not phases.timeline.cut_mid_record(whole)
