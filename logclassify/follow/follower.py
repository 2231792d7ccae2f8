"""The follower: lines and idle ticks in, the events that became certain out.

An operator wants each diagnosis once, as soon as it is certain, not a report when the log ends (it never does).
So the lines read so far are classified again (a bounded head + tail window, with the same engine as a file) when a
traceback has just completed, when the input has been quiet for `settle_s`, or at the latest every `max_delay_s`
while lines keep coming; but only once a line that can change the answer arrived (a literal some rule looks for, in
a shape not seen before), so a busy serving log costs little.

The window holds one run of the server in one file. A new run begins at a restart line (vLLM's start-up lines) that
follows an alarm, and a new file at rotation or truncation (where line numbers start again at 1): the window then
starts afresh, so evidence never mixes two runs or two files. Within a run each cause is printed once (again only if
its severity changes); a cause found in a later run is an occurrence more, printed with its count, at most once per
`repeat_every_s` (see `repeats`). A log that stops inside a startup phase is the normal state of a live server, so
hang rules speak only once it has been silent longer than the phase's limit, and rules with a `none` condition (a
later line could refute them) wait for a quiet moment.
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from logclassify.engine.classifier import Classifier, load_rules
from logclassify.engine.loader import CompiledRule
from logclassify.engine.loader import hang_limits as rule_hang_limits
from logclassify.engine.match import All, AnyOf, Matcher, NoneOf
from logclassify.follow.relevance import relevant_lines
from logclassify.follow.repeats import Repeats
from logclassify.models import Diagnosis, Event, Report
from logclassify.parse.phases import LABELS
from logclassify.parse.phases.markers import RESTART
from logclassify.parse.traceback import TracebackWatch
from logclassify.read.logline import LogLine
from logclassify.read.normalize import normalize_line
from logclassify.read.sources import decode
from logclassify.select import Selection


def hang_limits(rules: Iterable[CompiledRule] | None = None) -> dict[str, float]:
    """Seconds of silence after which each startup phase counts as hung: the rules' `live: {silent_for: N}` (the
    built-in rules when none are given). The one place live mode reads them from."""
    return rule_hang_limits(load_rules() if rules is None else rules)


def parse_hang_after(values: Iterable[str], limits: dict[str, float] | None = None) -> dict[str, float]:
    """`--hang-after 300` (every phase) and `--hang-after compile=1200` (one phase), in seconds, over `limits`
    (by default `hang_limits()`)."""
    limits = hang_limits() if limits is None else dict(limits)
    for value in values:
        name, sep, secs = value.partition("=")
        if sep and name not in limits:
            raise ValueError(f"--hang-after: unknown phase {name!r}; phases: {', '.join(limits)}")
        seconds = parse_seconds(secs if sep else value, "--hang-after")
        limits = {**limits, name: seconds} if sep else dict.fromkeys(limits, seconds)
    return limits


def parse_seconds(text: str, option: str) -> float:
    """A number of seconds given on the command line: 0 or more (`inf`: never)."""
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"{option}: {text!r} is not a number of seconds") from None
    if math.isnan(seconds) or seconds < 0:
        raise ValueError(f"{option}: {text!r} must be 0 or more seconds")
    return seconds


@dataclass
class FollowOptions:
    settle_s: float = 2.0  # quiet time after which what was read is classified
    max_delay_s: float = 10.0  # classify at least this often while lines keep coming
    poll_s: float = 0.25  # how often a file is checked for growth, rotation and truncation
    hang_after: dict[str, float] | None = None  # silence limit per phase; None: `hang_limits` of the rules
    head_lines: int = 2_000  # startup lines always kept (versions, config, phases)
    tail_lines: int = 5_000  # recent lines kept (each check classifies head + tail again)
    repeat_every_s: float = 60.0  # a cause that comes back is printed again at most this often
    redact: bool = False  # as Classifier.classify's options: applied before evidence lines are cut
    redact_hosts: bool = False


def _has_none(m: Matcher) -> bool:
    """Whether the condition holds a `none` condition, itself or in an `all`/`any` group."""
    if isinstance(m, NoneOf):
        return True
    if isinstance(m, (All, AnyOf)):
        return any(_has_none(c) for c in m.children)
    return False


def hang_rules(rules: Iterable[CompiledRule]) -> dict[str, CompiledRule]:
    """Rules marked `live:` (they fire because the log stops in a startup phase, or because some line is absent):
    in live mode the input must be silent longer than `hang_after` first."""
    return {r.id: r for r in rules if r.rule.silent_for is not None}


def provisional_rules(rules: Iterable[CompiledRule]) -> set[str]:
    """Rules with a `none` condition: a later line can still refute them, so they wait for a quiet moment."""
    return {r.id for r in rules if _has_none(r.matcher)}


_VARYING = re.compile(rb"[0-9a-fA-F]*\d[0-9a-fA-F]*")  # numbers, and hex ids (request ids, hashes) with a digit
_MAX_SHAPES = 50_000


class Follower:
    """Feed it lines, new files and idle ticks; it returns the events that became certain. One per input."""

    def __init__(
        self,
        classifier: Classifier,
        source: str,
        options: FollowOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
        repeats: Repeats | None = None,
        on_found: Callable[[Event], None] = lambda _ev: None,
    ) -> None:
        """`repeats`: shared by the files of one source (a restarted container's new log continues its crash loop);
        `on_found`: told of every occurrence of a cause, also those `repeats` holds back (metrics count them)."""
        self.classifier = classifier
        self.source = source
        self.opt = options or FollowOptions()
        self.clock = clock
        self.wallclock = wallclock
        self.hangs = hang_rules(classifier.rules)
        self.provisional = provisional_rules(classifier.rules) - set(self.hangs)
        self.hang_after = self.opt.hang_after if self.opt.hang_after is not None else hang_limits(classifier.rules)
        self.repeats = repeats if repeats is not None else Repeats(self.opt.repeat_every_s)
        self.on_found = on_found
        self.count = 0  # lines of the current file so far: the number of the last line read
        self.last_line_at = clock()
        self._begin(0)

    def _begin(self, before: int) -> None:
        """Start an empty window (a new run or file) whose first line will be line `before + 1`."""
        self.head: list[bytes] = []
        self.head_start = before
        self.head_limit = self.opt.head_lines
        self.tail: deque[bytes] = deque(maxlen=self.opt.tail_lines)
        self.shapes: set[bytes] = set()
        self.watch = TracebackWatch()
        self.printed: dict[str, set[str]] = {}  # cause key -> severities printed in this run
        self.alarmed = False  # an alarm was printed in this run: a restart line now begins the next run
        self.dirty_since: float | None = None
        self.report: Report | None = None
        self._hang_checked: tuple[str, float] | None = None

    # -- input ----------------------------------------------------------------------------------------------
    def feed(self, raw: bytes) -> list[Event]:
        """One input line (with or without its newline)."""
        line = raw if raw.endswith(b"\n") else raw + b"\n"
        return self._feed(line, self.classifier.scanner.hit(line))

    def feed_many(self, raws: Sequence[bytes]) -> list[Event]:
        """Lines that arrived together, as `feed` of each; what rules look for is found in one scan of them all."""
        lines = [raw if raw.endswith(b"\n") else raw + b"\n" for raw in raws]
        events: list[Event] = []
        for line, relevant in zip(lines, relevant_lines(self.classifier.scanner, lines), strict=True):
            events += self._feed(line, relevant)
        return events

    def _feed(self, line: bytes, relevant: bool) -> list[Event]:
        self.count += 1
        parsed = normalize_line(self.count, decode(line).rstrip("\r\n"))
        events: list[Event] = []
        if self.alarmed and relevant and any(RESTART.search(ln.message) for ln in parsed):
            events += self._settle()  # the run that ended: what its last lines still say
            self._begin(self.count - 1)
        if len(self.head) < self.head_limit:
            self.head.append(line)
        else:
            self.tail.append(line)
        now = self.clock()
        self.last_line_at = now
        if self.dirty_since is None and relevant and self._new_shape(line):
            self.dirty_since = now
        ended = False
        for ln in parsed:
            ended = self.watch.feed(ln) or ended
        due = self.dirty_since is not None and now - self.dirty_since >= self.opt.max_delay_s and not self.watch.open
        if ended or due:
            events += self.check(quiet=False)
        return events

    def _new_shape(self, line: bytes) -> bool:
        """Whether a line that holds a literal some rule, fact or phase looks for has a new shape (numbers and hex
        ids aside). A serving log repeats a few shapes forever; a failure brings new ones."""
        shape = _VARYING.sub(b"0", line)
        if shape in self.shapes:
            return False
        if len(self.shapes) >= _MAX_SHAPES:
            self.shapes.clear()
        self.shapes.add(shape)
        return True

    def new_file(self) -> list[Event]:
        """The file was rotated or truncated: what the old one still says, then line numbers start again at 1."""
        events = self._settle()
        self.count = 0
        self._begin(0)
        return events

    def skip(self, lines: int) -> None:
        """`lines` input lines were passed over unread (the middle of a big file): only their count matters."""
        self.head_limit = len(self.head)  # what follows the gap is tail, never head
        self.count += lines
        self.tail.clear()

    def quiet_for(self, seconds: float) -> None:
        """The input was already silent this long when we started (a file's age)."""
        self.last_line_at = min(self.last_line_at, self.clock() - max(0.0, seconds))

    def tick(self) -> list[Event]:
        """Called when no line came for a while: held repeats now due, settled input, hangs now due."""
        now = self.clock()
        events = self.repeats.due(now, self._stamp())
        if self.dirty_since is not None and now - self.last_line_at >= self.opt.settle_s:
            return events + self.check(quiet=True)
        if self.report is not None:
            phase = self._due_hang(now)
            if phase is not None and self._hang_checked != (phase, self.last_line_at):
                self._hang_checked = (phase, self.last_line_at)  # once per silence, not at every tick
                return events + self.check(quiet=True)
        return events

    def finish(self, eof: bool = True, flush: bool = True) -> list[Event]:
        """The input ended (`eof`: the stream closed, so the log really ends here, as a file does; otherwise the
        user stopped following): whatever is left to say, and the held repeats unless `flush` is false (another
        file of the same source still counts them)."""
        events = []
        if self.dirty_since is not None or (eof and self.report is not None):
            events = self.check(quiet=True, eof=eof)
        return events + (self.repeats.flush(self._stamp()) if flush else [])

    def phase(self) -> tuple[str, str] | None:
        """The startup phase the input is in as of the last check (`serving` once up) and its status (running,
        done, or failed: an error came in it), or None before any phase line."""
        if self.report is None or not self.report.timeline:
            return None
        last = self.report.timeline[-1]
        return last.name, last.status

    def _settle(self) -> list[Event]:
        """The window is complete (its run or file ended): classify it if lines came since the last check."""
        return self.check(quiet=True) if self.dirty_since is not None else []

    # -- classification -------------------------------------------------------------------------------------
    def _selection(self) -> Selection:
        segments: list[list[LogLine]] = []
        for block, before in ((self.head, self.head_start), (list(self.tail), self.count - len(self.tail))):
            if not block:
                continue
            sel = self.classifier.scanner.select([b"".join(block)])
            for seg in sel.segments:
                for ln in seg:
                    ln.number += before
                segments.append(seg)
        return Selection(segments=segments, total_lines=self.count)

    def _due_hang(self, now: float) -> str | None:
        """The phase the input stopped in, if it has been silent longer than that phase's limit."""
        assert self.report is not None
        running = [p.name for p in self.report.timeline if p.status == "running"]
        phase = running[-1] if running and running[-1] in self.hang_after else "other"
        return phase if now - self.last_line_at >= self.hang_after[phase] else None

    def _stamp(self) -> str:
        return datetime.fromtimestamp(self.wallclock(), timezone.utc).isoformat(timespec="seconds")

    def check(self, quiet: bool, eof: bool = False) -> list[Event]:
        """Classify what was read and return what was not printed before. `quiet`: the input is silent now."""
        self.dirty_since = None
        report = self.classifier.classify_selection(
            self._selection(), source=self.source, redact=self.opt.redact, redact_hosts=self.opt.redact_hosts
        )
        self.report = report
        now = self.clock()
        hang_phase = self._due_hang(now)
        at = self._stamp()
        found: list[tuple[str, str, Event]] = []
        for d in report.diagnoses:
            if d.id in self.hangs and not eof:
                if hang_phase is None:
                    continue  # a live server is expected to be in some phase: not a hang yet
                d = self._as_hang(d, hang_phase, now)
            elif d.id in self.provisional and not quiet:
                continue  # the next lines may still refute it
            found.append((f"diagnosis:{d.id}", d.severity.value, Event("diagnosis", self.source, at, diagnosis=d)))
        for u in report.unrecognized:
            found.append((f"unrecognized:{u.fingerprint}", "", Event("unrecognized", self.source, at, unrecognized=u)))
        events: list[Event] = []
        for key, severity, ev in found:
            printed = self.printed.setdefault(key, set())
            if severity in printed:
                continue
            new_in_run = not printed
            printed.add(severity)
            self.alarmed = self.alarmed or alarming(ev)
            self.on_found(ev)
            out = self.repeats.occurred(key, ev, now) if new_in_run else ev
            if out is not None:
                events.append(out)
        return events

    def _as_hang(self, d: Diagnosis, phase: str, now: float) -> Diagnosis:
        """Silence beyond the limit is the confirmation a hang rule waits for: report it at the rule's severity."""
        rule = self.hangs[d.id].rule
        silent = round(now - self.last_line_at)
        captures = {**d.captures, "silent_for": f"{silent}s"}
        title = f"{d.title} (no output for {silent}s while {LABELS.get(phase, phase)})"
        return d.model_copy(update={"severity": rule.severity, "confidence": rule.confidence, "captures": captures,
                                    "title": title})


def alarming(ev: Event) -> bool:
    """Whether an event is an alarm (`--exit-code`): an unrecognised failure, or a diagnosis above info."""
    return ev.diagnosis is None or ev.diagnosis.severity.rank > 0
