"""Worker processes in which a dead or hung worker costs only the input it was on.

`multiprocessing.Pool` waits forever for the result of a worker that the OOM killer or a signal ended, and for one
that hangs (a named pipe nobody writes to, a stuck network mount). Here each worker holds one input at a time, and
the parent watches the workers' pipes and their process sentinels together: a worker that dies before answering has
its input reported as lost (`lost(item, why)`), a fresh worker takes its place, and every other input still gets its
result, in input order. With `stall_s`, a worker whose `heartbeat()` has not moved for that long is killed and its
input reported the same way; `work` calls `heartbeat()` as it makes progress (batch: each chunk of bytes read).

Generic (it knows nothing of logs), so both the front end (`batch`, one input per worker) and the scan of one large
file (`select.parallel`, one byte range per worker) use it.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_BEAT: Any = None  # in a worker: the shared counter that `heartbeat` moves; None in any other process


def heartbeat() -> None:
    """Tell the parent that this worker is making progress (a no-op outside a worker of `run_ordered`)."""
    if _BEAT is not None:
        _BEAT.value += 1


def _serve(
    conn: Connection, beat: Any, work: Callable[[Any], Any], init: Callable[..., None], init_args: tuple[Any, ...]
) -> None:
    """A worker: initialise, then answer (index, item) with (index, result) until the parent says stop or leaves."""
    global _BEAT
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops the workers
    _BEAT = beat
    init(*init_args)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, item = task
        try:
            conn.send((index, work(item), None))
        except Exception as exc:  # a bug in `work`: name it for this input, keep serving the others
            conn.send((index, None, f"{type(exc).__name__}: {exc}"))


def death_reason(exitcode: int | None) -> str:
    """`was killed by SIGKILL (the out-of-memory killer sends this)` or `exited with status 3`."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (the out-of-memory killer sends this)" if -exitcode == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with status {exitcode}"


class _Worker(Generic[T]):
    def __init__(self, ctx: Any, work: Callable[[T], Any], init: Callable[..., None], init_args: tuple[Any, ...]):
        self.conn, child = ctx.Pipe()
        self.beat = ctx.RawValue("q", 0)  # shared memory: moved by `heartbeat` in the worker, read here
        # not a daemon: a worker may itself fork (the parallel scan of a large file); it leaves when the pipe closes
        self.proc = ctx.Process(target=_serve, args=(child, self.beat, work, init, init_args), daemon=False)
        self.proc.start()
        child.close()
        self.task: tuple[int, T] | None = None
        self.seen = 0  # the heartbeat last read, and when it last moved
        self.since = time.monotonic()

    def give(self, index: int, item: T) -> None:
        self.task = (index, item)
        self.seen, self.since = self.beat.value, time.monotonic()
        with contextlib.suppress(OSError):  # the worker died after its last answer: its sentinel reports it
            self.conn.send(self.task)

    def stalled(self, now: float, stall_s: float) -> bool:
        """Whether the heartbeat has not moved for stall_s seconds (read now)."""
        beat = self.beat.value
        if beat != self.seen:
            self.seen, self.since = beat, now
        return now - self.since >= stall_s

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.conn.close()
        self.proc.join(1.0)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5.0)  # a process stuck in the kernel (a dead network mount) may not go: left behind


def run_ordered(
    items: Sequence[T],
    work: Callable[[T], R],
    lost: Callable[[T, str], R],
    *,
    jobs: int,
    ctx: Any,
    init: Callable[..., None],
    init_args: tuple[Any, ...] = (),
    stall_s: float | None = None,
    tick: Callable[[], None] | None = None,
    tick_s: float = 0.1,
) -> Iterator[R]:
    """`work(item)` for every item in `jobs` processes of the multiprocessing context `ctx`, yielded in input order;
    `lost(item, why)` stands in for the result of an item whose worker died, raised, or (with `stall_s`) made no
    progress for stall_s seconds. `tick()` is called about every tick_s seconds while the workers are busy."""
    pending = iter(enumerate(items))
    done: dict[int, R] = {}
    workers: list[_Worker[T]] = []
    next_out = 0

    def feed(w: _Worker[T]) -> None:
        task = next(pending, None)
        w.task = None
        if task is not None:
            w.give(*task)

    def replace(w: _Worker[T], why: str, kill: bool = False) -> None:
        assert w.task is not None
        index, item = w.task
        w.stop(kill)
        done[index] = lost(item, why)
        workers[workers.index(w)] = fresh = _Worker(ctx, work, init, init_args)
        feed(fresh)

    timeout = min(tick_s if tick is not None else 3600.0, stall_s / 4 if stall_s else 3600.0)
    try:
        for _ in range(min(jobs, len(items))):
            workers.append(_Worker(ctx, work, init, init_args))
            feed(workers[-1])
        while next_out < len(items):
            busy = [w for w in workers if w.task is not None]
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout)
            if tick is not None:
                tick()
            now = time.monotonic()
            for w in busy:
                assert w.task is not None
                index, item = w.task
                if w.conn not in ready and w.proc.sentinel not in ready:
                    if stall_s and w.stalled(now, stall_s):
                        replace(w, f"made no progress for {stall_s:g} s and was stopped (a named pipe nobody "
                                   "writes to, a stuck network mount?)", kill=True)
                    continue
                answer = None
                if w.conn.poll():  # an answer, even from a worker that died right after giving it
                    try:
                        answer = w.conn.recv()
                    except (EOFError, OSError):
                        answer = None
                if answer is not None:
                    _, result, error = answer
                    done[index] = lost(item, f"worker error: {error}") if error is not None else result
                    feed(w)
                elif not w.proc.is_alive():
                    w.proc.join()
                    replace(w, f"the worker process reading it {death_reason(w.proc.exitcode)}")
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
    finally:
        for w in workers:
            w.stop()
