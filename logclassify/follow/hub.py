"""Many live inputs at once: one `Follower` per file or collector record source, events out, counts kept.

The hub is what `--follow` drives whatever the input: one file, a folder or glob whose files come and go
(`watch.TailSet`), or a collector's JSON records on stdin (`records`). It ticks every follower at least every
`poll_s`, so a source that went quiet is settled and checked for hangs while others keep writing. Followers of one
source key (a container's successive logs) share their repeat counts. What it counted per source (`SourceStats`) is
what `--metrics-port` exports; a forgotten source's counts are kept `keep_s` longer, so that a scrape sees its last
increments, then dropped: memory stays flat however many pods come and go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from logclassify.engine.classifier import Classifier
from logclassify.follow.follower import Follower, FollowOptions
from logclassify.follow.repeats import Repeats
from logclassify.follow.watch import CaughtUp, Gone, Item, source_key
from logclassify.models import Event
from logclassify.read.live import NewFile


@dataclass
class SourceStats:
    """What one source key did: read, found, and the phase it is in (times from the wall clock)."""

    lines: int = 0
    bytes: int = 0
    diagnoses: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule id, severity) -> times found
    unrecognized: int = 0
    phase: tuple[str, str] | None = None  # (name, status) as `Follower.phase` gives it
    phase_since: float = 0.0
    last_line_at: float = 0.0
    forgotten_at: float | None = None  # no file of it is followed any more


class Hub:
    """Routes (name, item) pairs to their followers and events to `emit`; `stats` is read by the metrics thread
    under `lock` (it changes shape only under the lock)."""

    def __init__(
        self,
        classifier: Classifier,
        opt: FollowOptions,
        emit: Callable[[Event], None],
        *,
        keep_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
    ) -> None:
        self.classifier, self.opt, self.emit = classifier, opt, emit
        self.keep_s, self.clock, self.wallclock = keep_s, clock, wallclock
        self.followers: dict[str, Follower] = {}
        self.keys: dict[str, str] = {}  # follower name -> source key
        self.repeats: dict[str, Repeats] = {}
        self.stats: dict[str, SourceStats] = {}
        self.forgotten = 0
        self.lock = threading.Lock()
        self._ticked_at = clock()

    def follower(self, name: str) -> Follower:
        f = self.followers.get(name)
        if f is None:
            key = source_key(name)
            repeats = self.repeats.setdefault(key, Repeats(self.opt.repeat_every_s))
            with self.lock:
                stats = self.stats.setdefault(key, SourceStats())
                stats.forgotten_at = None
            f = Follower(self.classifier, name, self.opt, clock=self.clock, wallclock=self.wallclock, repeats=repeats,
                         on_found=lambda ev: self._count(stats, ev))
            with self.lock:
                self.followers[name], self.keys[name] = f, key
        return f

    def handle(self, name: str | None, item: Item) -> None:
        """One item of a source (`name` None: an idle round of all of them)."""
        if name is not None:
            if isinstance(item, Gone):
                self.forget(name)
            else:
                f = self.follower(name)
                events: list[Event] = []
                if isinstance(item, (bytes, list)):
                    lines = [item] if isinstance(item, bytes) else item
                    stats = self.stats[self.keys[name]]
                    stats.lines += len(lines)
                    stats.bytes += sum(map(len, lines))
                    stats.last_line_at = self.wallclock()
                    events = f.feed_many(lines) if len(lines) > 1 else f.feed(lines[0])
                elif isinstance(item, NewFile):
                    events = f.new_file()
                elif isinstance(item, CaughtUp):
                    f.quiet_for(item.age)
                elif isinstance(item, int):
                    f.skip(item)
                self._send(name, events)
        if self.clock() - self._ticked_at >= self.opt.poll_s:
            self.tick()

    def tick(self) -> None:
        """Every follower's idle work (settling, hangs, held repeats), the phases, and old counts dropped."""
        self._ticked_at = self.clock()
        for name, f in list(self.followers.items()):
            self._send(name, f.tick())
        now = self.wallclock()
        expired = [k for k, s in self.stats.items() if s.forgotten_at is not None and now - s.forgotten_at >= self.keep_s]
        if expired:
            with self.lock:
                for key in expired:
                    del self.stats[key]

    def forget(self, name: str) -> None:
        """A file that is gone: what it still had to say, then nothing of it is kept (its counts for `keep_s`)."""
        f = self.followers.get(name)
        if f is None:
            return
        key = self.keys[name]
        shared = sum(k == key for k in self.keys.values()) > 1
        self._send(name, f.finish(eof=False, flush=not shared))
        with self.lock:
            del self.followers[name], self.keys[name]
            self.forgotten += 1
            if not shared:
                self.repeats.pop(key, None)
                self.stats[key].forgotten_at = self.wallclock()
                self.stats[key].phase = None

    def finish(self, eof: bool) -> None:
        """The input ended (`eof`) or the user stopped following: what every follower still has to say."""
        for name, f in list(self.followers.items()):
            self._send(name, f.finish(eof=eof))

    def _send(self, name: str, events: list[Event]) -> None:
        for ev in events:
            self.emit(ev)
        stats = self.stats.get(self.keys.get(name, ""))
        f = self.followers.get(name)
        if stats is not None and f is not None:
            phase = f.phase()
            if phase != stats.phase:
                stats.phase, stats.phase_since = phase, self.wallclock()

    def _count(self, stats: SourceStats, ev: Event) -> None:
        """A cause was found (once per run of the server; again if its severity changes), printed or held back by
        --repeat-every: the counters see every occurrence when it happens."""
        if ev.diagnosis is None:
            stats.unrecognized += 1
            return
        label = (ev.diagnosis.id, ev.diagnosis.severity.value)
        with self.lock:
            stats.diagnoses[label] = stats.diagnoses.get(label, 0) + 1
