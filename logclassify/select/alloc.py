"""The C allocator's policy while a big input is scanned (glibc only; elsewhere nothing changes).

The scan of a big input makes and frees a few blocks of 4-8 MB per chunk (a chunk's copy without digits, numpy's
temporaries, the lists of a chunk's lines). glibc serves a block that large with its own `mmap` and gives it back
to the kernel when freed, so each new one is faulted in again, page by page: a 128 MB crash loop took ~100,000
page faults and ~0.28 s of system time in the scan workers, more than grep's whole run. `keep_freed_blocks()` has
such blocks come from the heap and kept there for the next chunk (mmap threshold 32 MB, trim threshold 128 MB);
the peak memory stays what the live blocks need (tests/test_adversarial.py measures it).

Only processes that logclassify owns call it: the forked workers of a parallel scan, and the command (`allow()`)
once an input passes BIG_INPUT bytes; a program that uses the library keeps its allocator as it is.
"""

from __future__ import annotations

import sys

BIG_INPUT = 16 << 20  # an input this large has read enough chunks for the policy to pay (ctypes: ~2 ms)
MMAP_THRESHOLD = 32 << 20  # glibc's largest (a block at least this large is still mmap'ed)
TRIM_THRESHOLD = 128 << 20  # free memory at the top of the heap kept for reuse up to this much
_M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3

_state = {"allowed": False, "done": False}


def allow() -> None:
    """This process is the command's: `keep_freed_blocks(owned=False)` may change its allocator."""
    _state["allowed"] = True


def keep_freed_blocks(owned: bool = True) -> bool:
    """Keep freed big blocks in the heap for the rest of this process (once; glibc on Linux). `owned`: the caller
    knows the process is logclassify's own (a scan worker); otherwise only after `allow()`. True when applied."""
    if _state["done"] or not (owned or _state["allowed"]) or not sys.platform.startswith("linux"):
        return False
    _state["done"] = True
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
        # the mmap threshold first: setting the trim threshold alone turns glibc's adaptive mmap threshold off
        return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt), or no C library to load
        return False
