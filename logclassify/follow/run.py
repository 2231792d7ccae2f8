"""Driving followers from live sources, and `logclassify --follow` itself (the command's entry point)."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Generator, Iterable, Sequence

from logclassify.engine.classifier import Classifier
from logclassify.follow.follower import (
    Follower,
    FollowOptions,
    alarming,
    hang_limits,
    parse_hang_after,
    parse_seconds,
)
from logclassify.follow.hub import Hub
from logclassify.follow.records import record_items
from logclassify.follow.watch import Item, TailSet
from logclassify.models import Event
from logclassify.read.live import TICK, LiveItem, NewFile
from logclassify.render.events import render_event


def follow(
    follower: Follower,
    source: Iterable[LiveItem],
    emit: Callable[[Event], None],
    on_caught_up: Callable[[], float | None] = lambda: None,
) -> None:
    """Drive one follower from one line source until it ends (a stream's EOF) or Ctrl-C (KeyboardInterrupt
    propagates): the library's form of following one input.

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


def inputs(args: Sequence[str], opt: FollowOptions, notice: Callable[[str], None]) -> Generator[tuple[str | None, Item]]:
    """The (source, item) pairs of what `--follow` was given: `-` alone is stdin (plain lines or collector
    records); anything else is files, folders and globs, followed until stopped."""
    if list(args) == ["-"]:
        yield from record_items(sys.stdin.buffer, opt.poll_s)
        return
    tails = TailSet(args, opt.poll_s, notice=notice)
    try:
        yield from tails.items()
    finally:
        tails.close()


def run(
    args: Sequence[str],
    classifier: Classifier,
    opt: FollowOptions,
    *,
    fmt: str,
    write: Callable[[str], None],
    notice: Callable[[str], None],
    on_hub: Callable[[Hub], None] | None = None,
) -> bool:
    """`logclassify --follow PATH...` (`-`: stdin): print events until the stream ends, Ctrl-C or SIGTERM.
    `on_hub` is given the hub before the first line (the metrics server reads its counts).

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
    hub = Hub(classifier, opt, emit)
    if on_hub is not None:
        on_hub(hub)
    source = inputs(args, opt, notice)
    try:
        for name, item in source:
            hub.handle(name, item)
        hub.finish(eof=True)
    except KeyboardInterrupt:
        with contextlib.suppress(KeyboardInterrupt):  # say what was still pending, then stop; a 2nd Ctrl-C skips it
            hub.finish(eof=False)
    finally:
        source.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a late Ctrl-C must not turn a clean exit into a traceback
    return alarmed
