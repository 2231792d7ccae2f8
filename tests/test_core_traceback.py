"""Tracebacks in free text: chained, multi-line messages, carets, prefixed lines, interleaved processes."""

from __future__ import annotations

from logclassify.parse.traceback import Traceback, parse_tracebacks
from logclassify.read.normalize import normalize_line


def parse(text: str) -> list[Traceback]:
    lines = [rec for i, raw in enumerate(text.split("\n"), 1) for rec in normalize_line(i, raw)]
    return parse_tracebacks([lines])


SIMPLE = '''\
Traceback (most recent call last):
  File "/usr/lib/python3.12/site-packages/vllm/engine/arg_utils.py", line 1090, in create_engine_config
    device_config = DeviceConfig(device=self.device)
                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3.12/site-packages/vllm/config.py", line 1550, in __init__
    raise RuntimeError("Failed to infer device type")
RuntimeError: Failed to infer device type'''


def test_simple_traceback_frames_code_and_carets() -> None:
    (tb,) = parse(SIMPLE)
    exc = tb.final
    assert exc.type == "RuntimeError"
    assert exc.message == "Failed to infer device type"
    assert exc.line == 7
    assert [f.function for f in exc.frames] == ["create_engine_config", "__init__"]
    assert exc.frames[0].code == "device_config = DeviceConfig(device=self.device)"
    assert exc.frames[1].lineno == 1550 and exc.frames[1].line == 5


CHAINED = '''\
Traceback (most recent call last):
  File "a.py", line 1, in inner
    open(path)
FileNotFoundError: [Errno 2] No such file or directory: 'x'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "b.py", line 2, in outer
    load()
OSError: could not load

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "c.py", line 3, in main
    run()
RuntimeError: giving up'''


def test_chained_tracebacks_keep_order_and_relation() -> None:
    (tb,) = parse(CHAINED)
    assert [e.type for e in tb.exceptions] == ["FileNotFoundError", "OSError", "RuntimeError"]
    assert [e.chained for e in tb.exceptions] == [None, "context", "cause"]
    assert tb.root.type == "FileNotFoundError" and tb.final.message == "giving up"


BOOTSTRAP = '''\
Traceback (most recent call last):
  File "<string>", line 1, in <module>
  File "/usr/lib/python3.12/multiprocessing/spawn.py", line 122, in spawn_main
    exitcode = _main(fd, parent_sentinel)
RuntimeError:
        An attempt has been made to start a new process before the
        current process has finished its bootstrapping phase.

        This probably means that you are not using fork to start your
        child processes and you have forgotten to use the proper idiom
        in the main module:

            if __name__ == '__main__':
                freeze_support()
                ...
INFO 06-10 21:32:17 [a.py:1] next record'''


def test_multiline_message_spans_blank_lines() -> None:
    (tb,) = parse(BOOTSTRAP)
    exc = tb.final
    assert exc.type == "RuntimeError"
    assert exc.message.startswith("An attempt has been made to start a new process")
    assert "bootstrapping phase" in exc.message and "if __name__ == '__main__':" in exc.message
    assert "next record" not in exc.message


def test_every_line_prefixed_by_vllm_logger() -> None:
    prefixed = "\n".join(
        f"(EngineCore_0 pid=7) ERROR 06-10 21:32:17 [core.py:700] {line}" for line in SIMPLE.split("\n")
    )
    (tb,) = parse(prefixed)
    assert tb.process == "EngineCore_0 pid=7"
    assert tb.final.message == "Failed to infer device type"
    assert len(tb.final.frames) == 2


def test_interleaved_processes_are_separated_by_tag() -> None:
    a = [f"[rank0]: {ln}" for ln in SIMPLE.split("\n")]
    b = [f"[rank1]: {ln}" for ln in CHAINED.split("\n")[:4]]
    mixed: list[str] = []
    for i in range(max(len(a), len(b))):
        if i < len(a):
            mixed.append(a[i])
        if i < len(b):
            mixed.append(b[i])
    tbs = parse("\n".join(mixed))
    by_proc = {tb.process: tb for tb in tbs}
    assert by_proc["rank0"].final.type == "RuntimeError"
    assert by_proc["rank1"].final.type == "FileNotFoundError"
    assert len(by_proc["rank0"].final.frames) == 2


def test_excerpt_starting_mid_traceback_and_bare_exception_lines() -> None:
    excerpt = '''\
    raise ValueError(
ValueError: Bfloat16 is only supported on GPUs with compute capability of at least 8.0.'''
    (tb,) = parse(excerpt)
    assert tb.final.type == "ValueError"
    cut = '''  File "/x/vllm/worker/worker.py", line 189, in _check_if_gpu_supports_dtype
    raise ValueError(
ValueError: Bfloat16 is only supported'''
    (tb,) = parse(cut)
    assert tb.final.frames[0].function == "_check_if_gpu_supports_dtype"


def test_ray_wrapper_and_dotted_types() -> None:
    text = '''\
ray.exceptions.RayTaskError(ValueError): ray::RayWorkerWrapper.execute_method() (pid=1, ip=10.0.0.1)
Traceback (most recent call last):
  File "/x/vllm/worker/worker_base.py", line 10, in execute_method
    raise e
torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/NCCLUtils.hpp:275, unhandled system error'''
    tbs = parse(text)
    types = [e.type for tb in tbs for e in tb.exceptions]
    assert "ray.exceptions.RayTaskError(ValueError)" in types
    dist = next(e for tb in tbs for e in tb.exceptions if e.type.endswith("DistBackendError"))
    assert dist.short_type == "DistBackendError"
    assert "unhandled system error" in dist.message


def test_gap_between_segments_resets_state() -> None:
    lines = [rec for i, raw in enumerate(SIMPLE.split("\n"), 1) for rec in normalize_line(i, raw)]
    first, second = lines[:3], lines[5:]  # the header and first frame, then (after a gap) the end
    tbs = parse_tracebacks([first, second])
    runtime = next(tb.final for tb in tbs if tb.final.type == "RuntimeError")
    assert all(f.line != 2 for f in runtime.frames)  # frames before the gap do not join the exception after it
    cut = next(tb.final for tb in tbs if tb.final.type == "")
    assert [f.line for f in cut.frames] == [2]  # they are kept as a traceback cut before its exception


def test_prose_is_not_an_exception() -> None:
    assert parse("The model failed: check the logs\nNote: nothing here\nINFO: all good") == []


def test_faulthandler_crash_dump_gives_a_fatal_error_with_the_crashing_threads_frames() -> None:
    text = '''\
Fatal Python error: Segmentation fault

Thread 0x00007f0000000001 (most recent call first):
  File "/usr/lib/python3.10/threading.py", line 324 in wait

Current thread 0x00007f0000000002 (most recent call first):
  File "/x/triton/compiler/compiler.py", line 114 in ttgir_to_llir
  File "/x/triton/compiler/compiler.py", line 417 in <lambda>
  File "/x/vllm/model_executor/layers/fused_moe/fused_moe.py", line 246 in invoke_fused_moe_kernel

Extension modules: numpy.core._multiarray_umath, torch._C (total: 2)
INFO 06-10 21:32:17 [a.py:1] after'''
    (tb,) = parse(text)
    exc = tb.final
    assert exc.type == "FatalPythonError" and exc.message == "Segmentation fault"
    assert [f.function for f in exc.frames] == ["invoke_fused_moe_kernel", "<lambda>", "ttgir_to_llir"]
    stack = parse("Fatal Python error: Aborted\n\nStack (most recent call first):\n"
                  '  File "/x/a.py", line 3 in f\n  File "/x/b.py", line 9 in <module>\n')
    assert [f.function for f in stack[0].final.frames] == ["<module>", "f"]
