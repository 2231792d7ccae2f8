"""At most N classifications at once, a bounded queue before them, and a time limit on each request.

A request past the queue's bound is answered 503 with Retry-After at once (a burst never exhausts memory or
threads); one whose time runs out is answered 504 and its scan is told to stop at the next chunk. Its slot is
given back only when its thread has really finished, so the bound on running work is never exceeded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from logclassify.serve.problems import Problem, TimeUp

T = TypeVar("T")


class Gate:
    """Runs blocking work in a pool of `slots` threads, `queue` requests waiting at most."""

    def __init__(self, slots: int, queue: int) -> None:
        self.slots = slots
        self.queue = queue
        self.waiting = 0
        self.running = 0
        self._pool = ThreadPoolExecutor(slots, thread_name_prefix="logclassify-serve")
        self._sem: asyncio.Semaphore | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        if self._sem is None:  # made in the server's event loop, on first use
            self._sem = asyncio.Semaphore(self.slots)
        return self._sem

    async def run(self, work: Callable[[threading.Event], T], deadline: float, timeout_s: float) -> T:
        """`work(stop)` in a thread once a slot is free; Problem 503 when the queue is full, 504 at `deadline`
        (a `time.monotonic()` value)."""
        sem = self._semaphore()
        if sem.locked() and self.waiting >= self.queue:
            raise Problem(503, f"the server is busy: {self.running} classifications running and {self.waiting} "
                               "waiting (the queue is full); try again in a few seconds", {"Retry-After": "5"})
        self.waiting += 1
        try:
            await asyncio.wait_for(sem.acquire(), timeout=max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            raise _late(timeout_s, "waiting for a free slot") from None
        finally:
            self.waiting -= 1
        stop = threading.Event()
        self.running += 1
        future = asyncio.get_running_loop().run_in_executor(self._pool, work, stop)

        def release(done: asyncio.Future[T]) -> None:
            self.running -= 1
            sem.release()
            if not done.cancelled():
                done.exception()  # retrieved: an abandoned request's error is not logged as unhandled

        future.add_done_callback(release)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            stop.set()
            raise _late(timeout_s, "classifying") from None
        except TimeUp:
            raise _late(timeout_s, "classifying") from None
        except BaseException:  # the client went away (cancelled): stop the scan too
            stop.set()
            raise

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _late(timeout_s: float, doing: str) -> Problem:
    return Problem(504, f"the request took longer than this server's time limit of {timeout_s:g} s (it was still "
                        f"{doing}); send a shorter log, or start the server with a larger --timeout")
