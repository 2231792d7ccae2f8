"""Errors and interruptions after a point of the log: a phase with an error after its start failed rather than hung,
and an interruption (Ctrl-C, SIGTERM, Killed) ends the search, since what follows it is the shutdown."""

from __future__ import annotations

from collections.abc import Sequence

from logclassify.parse.phases.candidates import between
from logclassify.parse.phases.markers import ERROR_LEVELS, EXC_LINE, INTERRUPT, MAYBE_BAD, TRACEBACK, WRAPPED_ERROR
from logclassify.read.logline import LogLine


def is_interrupt(ln: LogLine) -> bool:
    """Someone stopped the process on this line (see `markers.INTERRUPT`)."""
    return bool(INTERRUPT.search(ln.message))


def is_error(ln: LogLine) -> bool:
    """An error line: an error level, an exception line, or an error prefix the reader left in the text."""
    if ln.level and ln.level.upper() in ERROR_LEVELS:
        return True
    if EXC_LINE.search(ln.message):
        return True
    # prefixes the reader did not peel (app loggers wrapping vLLM: "... - INFO - ERROR 08-13 ...", "| ERROR | stderr |")
    return bool(WRAPPED_ERROR.search(ln.text))


def first_error(lines: Sequence[LogLine], maybe_bad: Sequence[int], start: int, stop: int | None = None) -> int | None:
    """Index of the first error in `lines[start:stop]`; an interruption (Ctrl-C, SIGTERM, Killed) ends the search.

    `maybe_bad` are the rows `MAYBE_BAD` can match (`Candidates.maybe_bad`): no other line can be either.
    """
    pending_tb: int | None = None
    for i in between(maybe_bad, start, stop):
        ln = lines[i]
        if not MAYBE_BAD.search(ln.text):
            continue
        if is_interrupt(ln):
            return None
        if TRACEBACK.search(ln.message):
            if pending_tb is None:
                pending_tb = i
            continue
        if is_error(ln):
            return i
    return pending_tb  # a traceback cut before its exception line
