"""Worker processes in which a dead worker costs only the input it was on.

`multiprocessing.Pool` waits forever for the result of a worker that the OOM killer or a signal ended. Here each
worker holds one input at a time, and the parent watches the workers' pipes and their process sentinels together:
a worker that dies before answering has its input reported as lost (`lost(item, why)`), a fresh worker takes its
place, and every other input still gets its result, in input order.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _serve(conn: Connection, work: Callable[[Any], Any], init: Callable[..., None], init_args: tuple[Any, ...]) -> None:
    """A worker: initialise, then answer (index, item) with (index, result) until the parent says stop or leaves."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops the workers
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
        # not a daemon: a worker may itself fork (the parallel scan of a large file); it leaves when the pipe closes
        self.proc = ctx.Process(target=_serve, args=(child, work, init, init_args), daemon=False)
        self.proc.start()
        child.close()
        self.task: tuple[int, T] | None = None

    def give(self, index: int, item: T) -> None:
        self.task = (index, item)
        with contextlib.suppress(OSError):  # the worker died after its last answer: its sentinel reports it
            self.conn.send(self.task)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.conn.close()
        self.proc.join(1.0)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def run_ordered(
    items: Sequence[T],
    work: Callable[[T], R],
    lost: Callable[[T, str], R],
    *,
    jobs: int,
    ctx: Any,
    init: Callable[..., None],
    init_args: tuple[Any, ...] = (),
) -> Iterator[R]:
    """`work(item)` for every item in `jobs` processes of the multiprocessing context `ctx`, yielded in input order;
    `lost(item, why)` stands in for the result of an item whose worker died or raised."""
    pending = iter(enumerate(items))
    done: dict[int, R] = {}
    workers: list[_Worker[T]] = []
    next_out = 0

    def feed(w: _Worker[T]) -> None:
        task = next(pending, None)
        w.task = None
        if task is not None:
            w.give(*task)

    try:
        for _ in range(min(jobs, len(items))):
            workers.append(_Worker(ctx, work, init, init_args))
            feed(workers[-1])
        while next_out < len(items):
            busy = [w for w in workers if w.task is not None]
            wait([w.conn for w in busy] + [w.proc.sentinel for w in busy])
            for w in busy:
                assert w.task is not None
                index, item = w.task
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
                    done[index] = lost(item, f"the worker process reading it {death_reason(w.proc.exitcode)}")
                    w.stop()
                    workers[workers.index(w)] = fresh = _Worker(ctx, work, init, init_args)
                    feed(fresh)
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
    finally:
        for w in workers:
            w.stop()
