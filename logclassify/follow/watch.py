"""The files `--follow` watches: named paths, folders and globs whose files come and go (a log collector's tail).

A node-level process follows `/var/log/containers/vllm-*.log`: pods start and stop, so the set of files is listed
again every `rescan_s`. A new match is followed from its start (the log of a pod that just started); a file that no
longer matches for `gone_after_s`, and was read to its end, is forgotten, so a day of pod churn leaves nothing
behind. A path named exactly is never forgotten: like `tail -F`, it is waited for until it exists again.
"""

from __future__ import annotations

import glob
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from logclassify.read.live import TICK, FileTail, LiveItem

_MAGIC = re.compile(r"[*?\[]")
# what a folder's files must end with to be followed; rotated copies (.1, .gz, -20240105) are old generations
FOLLOWED = (".log", ".txt", ".out", ".err", ".jsonl", ".ndjson")
# kubelet's name for a container's log: <pod>_<namespace>_<container>-<container id>.log
_CRI_NAME = re.compile(r"^(?P<pod>[^_/]+)_(?P<ns>[^_/]+)_(?P<container>[^/]+)-[0-9a-f]{64}\.log$")


@dataclass(frozen=True)
class CaughtUp:
    """A file was read to its end for the first time; it had not changed for `age` seconds."""

    age: float


@dataclass(frozen=True)
class Gone:
    """A file no longer listed (its pod was deleted) was read to its end: forget it."""


Item = LiveItem | list[bytes] | CaughtUp | Gone  # a list: lines that arrived together (see `batched`)


def batched(name: str, items: list[LiveItem]) -> list[tuple[str, Item]]:
    """A source's items with each run of lines as one list: the follower scans them in one pass."""
    out: list[tuple[str, Item]] = []
    run: list[bytes] = []
    for item in items:
        if isinstance(item, bytes):
            run.append(item)
            continue
        if run:
            out.append((name, run))
            run = []
        out.append((name, item))
    if run:
        out.append((name, run))
    return out


def source_key(name: str) -> str:
    """What repeats are counted by and metrics are labelled with: `namespace/pod/container` for a kubelet container
    log (a restarted container writes a new file with a new container id, still the same crash loop), else the name."""
    m = _CRI_NAME.match(os.path.basename(name))
    return f"{m['ns']}/{m['pod']}/{m['container']}" if m else name


def is_pattern(arg: str) -> bool:
    """Whether a `--follow` argument names a changing set of files (a glob or a folder) rather than one path."""
    return bool(_MAGIC.search(arg)) or os.path.isdir(arg)


def listing(patterns: Sequence[str]) -> list[str]:
    """The files the patterns name now: glob matches, and a folder's files with a followed extension (not hidden,
    not in subfolders: /var/log/containers is flat, and /var/log/pods keeps rotated copies beside the live file)."""
    found: set[str] = set()
    for pattern in patterns:
        if _MAGIC.search(pattern):
            found.update(p for p in glob.glob(pattern) if not os.path.isdir(p))
        else:
            try:
                with os.scandir(pattern) as it:
                    found.update(e.path for e in it if not e.name.startswith(".") and e.name.endswith(FOLLOWED)
                                 and not e.is_dir())
            except OSError:
                continue  # a folder that is not there (yet): listed again at the next rescan
    return sorted(found)


class TailSet:
    """Many `FileTail`s polled in turn; yields (name, item) pairs, and (None, TICK) when a round found nothing."""

    def __init__(
        self,
        args: Sequence[str],
        poll_s: float = 0.25,
        rescan_s: float = 1.0,
        gone_after_s: float = 5.0,
        notice: Callable[[str], None] = lambda _msg: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.patterns = [a for a in args if is_pattern(a)]
        self.named = [a for a in args if not is_pattern(a)]
        self.poll_s, self.rescan_s, self.gone_after_s = poll_s, rescan_s, gone_after_s
        self.notice, self.clock = notice, clock
        self.tails: dict[str, FileTail] = {}
        self.missing_since: dict[str, float] = {}  # listed files absent from the last listing, since when
        self.caught_up: set[str] = set()
        self._scanned_at = -float("inf")

    def rescan(self) -> list[tuple[str, Item]]:
        """Follow the new matches; forget the files gone long enough (after reading what they still hold)."""
        now = self.clock()
        self._scanned_at = now
        listed = listing(self.patterns) if self.patterns else []
        out: list[tuple[str, Item]] = []
        for name in [*self.named, *sorted(listed, key=_mtime)]:
            if name not in self.tails:
                self.tails[name] = FileTail(Path(name), self.notice)
                if name not in self.named:
                    self.notice(f"following {name}")
        listed_now = set(listed)
        for name in list(self.tails):
            tail = self.tails[name]
            if name in self.named or (name in listed_now and os.path.exists(name)):  # a dangling link is gone
                self.missing_since.pop(name, None)
                continue
            since = self.missing_since.setdefault(name, now)
            if now - since >= self.gone_after_s:
                out += batched(name, tail.poll())  # what it still holds, read through the open file
                tail.close()
                del self.tails[name]
                self.missing_since.pop(name)
                self.caught_up.discard(name)
                self.notice(f"{name} is gone; forgotten")
                out.append((name, Gone()))
        return out

    def poll(self) -> list[tuple[str, Item]]:
        """One round: a rescan when due, then what each file has that is new."""
        out = self.rescan() if self.clock() - self._scanned_at >= self.rescan_s else []
        for name, tail in self.tails.items():
            items = tail.poll()
            out += batched(name, items)
            if not items and tail.mtime_age is not None and name not in self.caught_up:
                self.caught_up.add(name)
                out.append((name, CaughtUp(tail.mtime_age)))
        return out

    def items(self) -> Iterator[tuple[str | None, Item]]:
        """Endless: each round's pairs, or (None, TICK) and a pause of `poll_s` when a round found nothing new."""
        while True:
            got = self.poll()
            if got:
                yield from got
            else:
                yield None, TICK
                time.sleep(self.poll_s)

    def close(self) -> None:
        for tail in self.tails.values():
            tail.close()


def _mtime(name: str) -> float:
    """Older files first: a restarted container's previous log is read before the new one (repeats count in order)."""
    try:
        return os.stat(name).st_mtime
    except OSError:
        return 0.0
