"""Driving a follower from a live source, and `logclassify --follow` itself (the command's entry point)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from logclassify.engine.classifier import Classifier
from logclassify.follow.follower import (
    Follower,
    FollowOptions,
    alarming,
    hang_limits,
    parse_hang_after,
    parse_seconds,
)
from logclassify.models import Event
from logclassify.read.live import TICK, FileFollower, LiveItem, NewFile, stream_lines
from logclassify.render.events import render_event


def follow(
    follower: Follower,
    source: Iterable[LiveItem],
    emit: Callable[[Event], None],
    on_caught_up: Callable[[], float | None] = lambda: None,
) -> None:
    """Drive a follower from a line source until it ends (a stream's EOF) or Ctrl-C (KeyboardInterrupt propagates).

    `on_caught_up` is asked once, at the first idle tick, how long the input had already been silent.
    """
    asked = False
    for item in source:
        if item is TICK:
            if not asked:
                asked = True
                age = on_caught_up()
                if age is not None:
                    follower.quiet_for(age)
            events = follower.tick()
        elif isinstance(item, NewFile):
            events = follower.new_file()
        elif isinstance(item, int):
            follower.skip(item)
            continue
        else:
            events = follower.feed(item)
        for ev in events:
            emit(ev)
    for ev in follower.finish():
        emit(ev)


def options(
    classifier: Classifier,
    hang_after: Sequence[str] = (),
    repeat_every: str | None = None,
    *,
    redact: bool = True,
    redact_hosts: bool = False,
) -> FollowOptions:
    """The options from the command line's values (hang limits over those of the classifier's rules); a ValueError
    names the option that is wrong."""
    opt = FollowOptions(hang_after=parse_hang_after(hang_after, hang_limits(classifier.rules)), redact=redact,
                        redact_hosts=redact_hosts)
    if repeat_every is not None:
        opt.repeat_every_s = parse_seconds(repeat_every, "--repeat-every")
    return opt


def run(
    path: str,
    classifier: Classifier,
    opt: FollowOptions,
    *,
    fmt: str,
    write: Callable[[str], None],
    notice: Callable[[str], None],
) -> bool:
    """`logclassify --follow PATH` (`-`: stdin): print events until the stream ends, Ctrl-C or SIGTERM.

    Returns whether an alarm was printed (for --exit-code).
    """
    alarmed = False

    def emit(ev: Event) -> None:
        nonlocal alarmed
        alarmed = alarmed or alarming(ev)
        write(render_event(ev, fmt))

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    follower = Follower(classifier, "<stdin>" if path == "-" else path, opt)
    try:
        if path == "-":
            follow(follower, stream_lines(sys.stdin.buffer, opt.poll_s), emit)
        else:
            tail = FileFollower(Path(path), opt.poll_s, notice)
            follow(follower, tail.lines(), emit, on_caught_up=lambda: tail.mtime_age)
    except KeyboardInterrupt:
        try:  # say what was still pending, then stop; a second Ctrl-C skips that
            for ev in follower.finish(eof=False):
                emit(ev)
        except KeyboardInterrupt:
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a late Ctrl-C must not turn a clean exit into a traceback
    return alarmed
