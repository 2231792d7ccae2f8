"""The allocator policy of big scans (`select/alloc.py`) is applied only in processes logclassify owns: a program
using the library keeps its allocator, the command and the forked scan workers change theirs, once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")


def _run(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_library_scan_of_a_big_input_leaves_the_allocator_alone() -> None:
    code = (
        "from logclassify import Classifier\n"
        "from logclassify.select import alloc\n"
        "from tests.adversarial.generate import repeated_tracebacks\n"
        "data = b''.join(repeated_tracebacks(alloc.BIG_INPUT + (4 << 20)))\n"
        "Classifier().classify(data)\n"
        "print(alloc._state['done'])\n"
    )
    assert _run(code) == ["False"]


def test_the_command_process_applies_it_once_after_allow() -> None:
    code = (
        "from logclassify.select import alloc\n"
        "print(alloc.keep_freed_blocks(owned=False))\n"  # not allowed: nothing
        "alloc.allow()\n"
        "print(alloc.keep_freed_blocks(owned=False))\n"  # the command's process: applied (glibc)
        "print(alloc.keep_freed_blocks(owned=False))\n"  # once
    )
    assert _run(code) == ["False", "True", "False"]


def test_a_scan_worker_applies_it_itself() -> None:
    code = (
        "from logclassify.select import alloc, parallel\n"
        "parallel._start_worker(None, None)\n"
        "print(alloc._state['done'])\n"
    )
    assert _run(code) == ["True"]
