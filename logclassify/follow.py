"""Live mode: follow a growing log (like `tail -F`) or a stream (`journalctl -f | logclassify --follow -`).

An operator wants each diagnosis once, as soon as it is certain, not a report when the log ends (it never does).
So the lines read so far are classified again (a bounded head + tail window, with the same engine as a file) when a
traceback has just completed, when the input has been quiet for `settle_s`, or at the latest every `max_delay_s`
while lines keep coming; but only once a line that can change the answer arrived (a literal some rule looks for, in
a shape not seen before), so a busy serving log costs little. What was printed is remembered by (rule id, first
evidence line, severity) or (fingerprint, line): nothing is printed twice. A log that stops inside a startup phase is
the normal state of a live server, so hang rules speak only once it has been silent longer than `hang_after`, and
rules with a `none` condition (a later line could refute them) wait for a quiet moment.
"""

from __future__ import annotations

import os
import re
import select
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Literal

import regex

from logclassify.engine.classifier import Classifier, load_rules
from logclassify.engine.loader import CompiledRule, hang_limits
from logclassify.engine.match import All, AnyOf, LogEndsIn, Matcher, NoneOf
from logclassify.models import Diagnosis, Report, Unrecognized
from logclassify.parse.phases import LABELS
from logclassify.read.logline import LogLine
from logclassify.read.normalize import normalize_line
from logclassify.read.sources import decode
from logclassify.select import Selection

# Seconds a phase may stay silent before it counts as a hang: the built-in rules' `live: {silent_for: N}`.
DEFAULT_HANG_AFTER: dict[str, float] = hang_limits(load_rules())


@dataclass
class FollowOptions:
    settle_s: float = 2.0  # quiet time after which what was read is classified
    max_delay_s: float = 10.0  # classify at least this often while lines keep coming
    poll_s: float = 0.25  # how often a file is checked for growth, rotation and truncation
    hang_after: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_HANG_AFTER))
    head_lines: int = 2_000  # startup lines always kept (versions, config, phases)
    tail_lines: int = 5_000  # recent lines kept (each check classifies head + tail again)
    redact: bool = False  # as Classifier.classify's options: applied before evidence lines are cut
    redact_hosts: bool = False


@dataclass(frozen=True)
class Event:
    """One diagnosis or unrecognised failure, printed the moment it became certain."""

    kind: Literal["diagnosis", "unrecognized"]
    source: str
    at: str  # ISO time it was printed
    diagnosis: Diagnosis | None = None
    unrecognized: Unrecognized | None = None

    def to_dict(self) -> dict[str, Any]:
        payload = self.diagnosis if self.diagnosis is not None else self.unrecognized
        assert payload is not None
        return {"event": self.kind, "source": self.source, "at": self.at, self.kind: payload.model_dump(mode="json")}


# -- when is a traceback complete -------------------------------------------------------------------------

_DIGITS = re.compile(rb"\d+")
_MAX_SHAPES = 50_000
_TB_HEADER = "Traceback (most recent call last)"
_EXC_LINE = regex.compile(r"^[A-Za-z_][\w.]*(?:\([\w.]+\))?(?::|$)")
_BARE_EXC = regex.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Failed|Timeout)(?:\([\w.]+\))?: \S")
_CHAIN = ("During handling of the above exception", "The above exception was the direct cause")


class _TracebackWatch:
    """Per process tag: after a traceback's exception line, the next line that does not continue it ends it.

    A plain line from another process ends it too: interleaved processes rarely split one exception message.
    """

    def __init__(self) -> None:
        self.state: dict[str | None, str] = {}  # process -> "frames" | "exception"

    def feed(self, ln: LogLine) -> bool:
        """True when this line shows that a traceback just ended."""
        msg = ln.message
        stripped = msg.strip()
        st = self.state.get(ln.process)
        if _TB_HEADER in msg or (st is None and stripped.startswith('File "')):  # an excerpt may start mid-traceback
            self.state[ln.process] = "frames"
            return self._end_others(ln.process) or st == "exception"
        if not stripped or msg[:1].isspace() or stripped.startswith('File "'):
            return False  # frames, code lines, a multi-line message: nothing ends here
        if st == "frames" or (st is None and _BARE_EXC.match(stripped)):
            if _EXC_LINE.match(stripped):
                self.state[ln.process] = "exception"
                return self._end_others(ln.process)
            return False
        if st == "exception" and stripped.startswith(_CHAIN):
            self.state[ln.process] = "frames"
            return False
        ended = st == "exception"
        if ended:
            del self.state[ln.process]
        return self._end_others(ln.process) or ended

    def _end_others(self, process: str | None) -> bool:
        done = [p for p, v in self.state.items() if v == "exception" and p != process]
        for p in done:
            del self.state[p]
        return bool(done)

    @property
    def open(self) -> bool:
        return any(v == "frames" for v in self.state.values())


# -- the follower -----------------------------------------------------------------------------------------


def _has(m: Matcher, kind: type[LogEndsIn] | type[NoneOf]) -> bool:
    """Whether the condition holds a `kind` condition, itself or in an `all`/`any` group (not inside a `none`)."""
    if isinstance(m, kind):
        return True
    if isinstance(m, (All, AnyOf)):
        return any(_has(c, kind) for c in m.children)
    return False


def hang_rules(rules: Iterable[CompiledRule]) -> dict[str, CompiledRule]:
    """Rules marked `live:` (they fire because the log stops in a startup phase, or because some line is absent):
    in live mode the input must be silent longer than `hang_after` first."""
    return {
        r.id: r
        for r in rules
        if r.rule.silent_for is not None
    }


def provisional_rules(rules: Iterable[CompiledRule]) -> set[str]:
    """Rules with a `none` condition: a later line can still refute them, so they wait for a quiet moment."""
    return {r.id for r in rules if _has(r.matcher, NoneOf)}


class Follower:
    """Feed it lines and idle ticks; it returns the events that became certain. Not thread-safe: one per input."""

    def __init__(
        self,
        classifier: Classifier,
        source: str,
        options: FollowOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.classifier = classifier
        self.source = source
        self.opt = options or FollowOptions()
        self.clock = clock
        self.count = 0
        self.head: list[bytes] = []
        self.head_limit = self.opt.head_lines
        self.shapes: set[bytes] = set()
        self.tail: deque[bytes] = deque(maxlen=self.opt.tail_lines)
        self.last_line_at = clock()
        self.dirty_since: float | None = None
        self.watch = _TracebackWatch()
        self.printed: set[tuple[str, int, str]] = set()
        self.hangs = hang_rules(classifier.rules)
        self.provisional = provisional_rules(classifier.rules) - set(self.hangs)
        self.report: Report | None = None
        self._hang_checked: tuple[str, float] | None = None

    # -- input ----------------------------------------------------------------------------------------------
    def feed(self, raw: bytes) -> list[Event]:
        """One input line (with or without its newline)."""
        self.count += 1
        line = raw if raw.endswith(b"\n") else raw + b"\n"
        if len(self.head) < self.head_limit:
            self.head.append(line)
        else:
            self.tail.append(line)
        now = self.clock()
        self.last_line_at = now
        if self.dirty_since is None and self._news(line):
            self.dirty_since = now
        ended = False
        for ln in normalize_line(self.count, decode(line).rstrip("\r\n")):
            ended = self.watch.feed(ln) or ended
        due = self.dirty_since is not None and now - self.dirty_since >= self.opt.max_delay_s and not self.watch.open
        if ended or due:
            return self.check(quiet=False)
        return []

    def _news(self, line: bytes) -> bool:
        """Whether a line can change the diagnosis: it holds a literal some rule, fact or phase looks for, and
        its shape (digits aside) is new. A serving log repeats a few shapes forever; a failure brings new ones."""
        if self.classifier.scanner.pattern.search(line) is None:
            return False
        shape = _DIGITS.sub(b"0", line)
        if shape in self.shapes:
            return False
        if len(self.shapes) >= _MAX_SHAPES:
            self.shapes.clear()
        self.shapes.add(shape)
        return True

    def skip(self, lines: int) -> None:
        """`lines` input lines were passed over unread (the middle of a big file): only their count matters."""
        self.head_limit = len(self.head)  # what follows the gap is tail, never head
        self.count += lines
        self.tail.clear()

    def quiet_for(self, seconds: float) -> None:
        """The input was already silent this long when we started (a file's age)."""
        self.last_line_at = min(self.last_line_at, self.clock() - max(0.0, seconds))

    def tick(self) -> list[Event]:
        """Called when no line came for a while: classify settled input, report hangs that are now due."""
        now = self.clock()
        if self.dirty_since is not None and now - self.last_line_at >= self.opt.settle_s:
            return self.check(quiet=True)
        if self.report is not None:
            phase = self._due_hang(now)
            if phase is not None and self._hang_checked != (phase, self.last_line_at):
                self._hang_checked = (phase, self.last_line_at)  # once per silence, not at every tick
                return self.check(quiet=True)
        return []

    def finish(self, eof: bool = True) -> list[Event]:
        """The input ended (`eof`: the stream closed, so the log really ends here, as a file does; otherwise the
        user stopped following): whatever is left to say."""
        if self.dirty_since is None and not (eof and self.report is not None):
            return []
        return self.check(quiet=True, eof=eof)

    # -- classification -------------------------------------------------------------------------------------
    def _selection(self) -> Selection:
        segments: list[list[LogLine]] = []
        first_tail = len(self.head) + 1 + (self.count - len(self.head) - len(self.tail))
        for block, offset in ((self.head, 0), (list(self.tail), first_tail - 1)):
            if not block:
                continue
            sel = self.classifier.scanner.select([b"".join(block)])
            for seg in sel.segments:
                for ln in seg:
                    ln.number += offset
                segments.append(seg)
        return Selection(segments=segments, total_lines=self.count)

    def _due_hang(self, now: float) -> str | None:
        """The phase the input stopped in, if it has been silent longer than that phase's limit."""
        assert self.report is not None
        running = [p.name for p in self.report.timeline if p.status == "running"]
        phase = running[-1] if running and running[-1] in self.opt.hang_after else "other"
        return phase if now - self.last_line_at >= self.opt.hang_after[phase] else None

    def check(self, quiet: bool, eof: bool = False) -> list[Event]:
        """Classify what was read and return what was not printed before. `quiet`: the input is silent now."""
        self.dirty_since = None
        report = self.classifier.classify_selection(
            self._selection(), source=self.source, redact=self.opt.redact, redact_hosts=self.opt.redact_hosts
        )
        self.report = report
        now = self.clock()
        hang_phase = self._due_hang(now)
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        events: list[Event] = []
        for d in report.diagnoses:
            if d.id in self.hangs and not eof:
                if hang_phase is None:
                    continue  # a live server is expected to be in some phase: not a hang yet
                d = self._as_hang(d, hang_phase, now)
            elif d.id in self.provisional and not quiet:
                continue  # the next lines may still refute it
            key = (d.id, d.first_line, d.severity.value)
            if key not in self.printed:
                self.printed.add(key)
                events.append(Event("diagnosis", self.source, at, diagnosis=d))
        for u in report.unrecognized:
            key = (u.fingerprint, u.line, "unrecognized")
            if key not in self.printed:
                self.printed.add(key)
                events.append(Event("unrecognized", self.source, at, unrecognized=u))
        return events

    def _as_hang(self, d: Diagnosis, phase: str, now: float) -> Diagnosis:
        """Silence beyond the limit is the confirmation a hang rule waits for: report it at the rule's severity."""
        rule = self.hangs[d.id].rule
        silent = round(now - self.last_line_at)
        captures = {**d.captures, "silent_for": f"{silent}s"}
        title = f"{d.title} (no output for {silent}s while {LABELS.get(phase, phase)})"
        return d.model_copy(update={"severity": rule.severity, "confidence": rule.confidence, "captures": captures,
                                    "title": title})


# -- inputs -----------------------------------------------------------------------------------------------

Tick = None  # what a line source yields when nothing new arrived during one poll interval


def stream_lines(stream: IO[bytes], poll_s: float) -> Iterator[bytes | None]:
    """Lines of a pipe or stdin as they arrive, and None after each `poll_s` without one. Ends at EOF.

    select() on the file descriptor keeps the caller responsive to Ctrl-C and to its own timers without a reader
    thread (a thread blocked in a buffered read makes the interpreter abort at exit).
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # an in-memory stream: everything is there already
        yield from iter(stream.readline, b"")
        return
    pending = b""
    while True:
        ready, _, _ = select.select([fd], [], [], poll_s)
        if not ready:
            yield Tick
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            if pending:
                yield pending + b"\n"
            return
        *complete, pending = (pending + chunk).split(b"\n")
        for raw in complete:
            yield raw + b"\n"


@dataclass
class FileFollower:
    """`tail -F` for one path: waits for it to exist, reopens it when rotated, rereads it when truncated."""

    path: Path
    poll_s: float = 0.25
    notice: Callable[[str], None] = lambda _msg: None
    mtime_age: float | None = None  # seconds since the file last changed, when first caught up
    big: int = 16 << 20  # a file already this large is read at its start and end only; the middle is counted

    def lines(self) -> Iterator[bytes | int | None]:
        """Lines, None when idle, and once for a big file an int: how many lines were skipped unread."""
        fh: IO[bytes] | None = None
        pending = b""
        caught_up = False
        first = True
        while True:
            if fh is None:
                fh = self._open()
                if fh is None:
                    yield Tick
                    time.sleep(self.poll_s)
                    continue
                if first:
                    first = False
                    yield from self._head_and_skip(fh)
            chunk = fh.read(1 << 20)
            if chunk:
                data = pending + chunk
                *complete, pending = data.split(b"\n")
                for raw in complete:
                    yield raw + b"\n"
                continue
            if not caught_up:
                caught_up = True
                self.mtime_age = max(0.0, time.time() - os.fstat(fh.fileno()).st_mtime)
            state = self._changed(fh)
            if state is not None:
                if pending:
                    yield pending + b"\n"
                    pending = b""
                if state == "rotated":
                    fh.close()
                    fh = None
                    self.notice(f"{self.path} was replaced; following the new file")
                    continue
                fh.seek(0)
                self.notice(f"{self.path} was truncated; reading it from the start")
                continue
            yield Tick
            time.sleep(self.poll_s)

    def _head_and_skip(self, fh: IO[bytes]) -> Iterator[bytes | int]:
        """A long-running server's log can be gigabytes: read its first and last MiBs, count the lines between."""
        size = os.fstat(fh.fileno()).st_size
        if size <= self.big:
            return
        part = self.big // 4
        head = fh.read(part)
        head = head[: head.rfind(b"\n") + 1]
        yield from (raw + b"\n" for raw in head.split(b"\n")[:-1])
        fh.seek(size - part)
        tail_start = size - part + fh.read(1 << 20).find(b"\n") + 1
        fh.seek(len(head))
        skipped, pos = 0, len(head)
        while pos < tail_start:
            block = fh.read(min(4 << 20, tail_start - pos))
            skipped += block.count(b"\n")
            pos += len(block)
        yield skipped

    def _open(self) -> IO[bytes] | None:
        try:
            return self.path.open("rb")
        except FileNotFoundError:
            return None

    def _changed(self, fh: IO[bytes]) -> str | None:
        """'rotated' when the path now names another file, 'truncated' when the file shrank below what was read."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None  # moved away and not yet recreated: keep reading the old file
        own = os.fstat(fh.fileno())
        if (st.st_ino, st.st_dev) != (own.st_ino, own.st_dev):
            return "rotated"
        if own.st_size < fh.tell():
            return "truncated"
        return None


def follow(
    follower: Follower,
    source: Iterable[bytes | int | None],
    emit: Callable[[Event], None],
    on_caught_up: Callable[[], float | None] = lambda: None,
) -> None:
    """Drive a follower from a line source until it ends (a stream's EOF) or Ctrl-C (KeyboardInterrupt propagates).

    `on_caught_up` is asked once, at the first idle tick, how long the input had already been silent.
    """
    asked = False
    for item in source:
        if item is Tick:
            if not asked:
                asked = True
                age = on_caught_up()
                if age is not None:
                    follower.quiet_for(age)
            events = follower.tick()
        elif isinstance(item, int):
            follower.skip(item)
            continue
        else:
            events = follower.feed(item)
        for ev in events:
            emit(ev)
    for ev in follower.finish():
        emit(ev)


def parse_hang_after(values: Iterable[str]) -> dict[str, float]:
    """`--hang-after 300` (every phase) and `--hang-after compile=1200` (one phase), in seconds."""
    limits = dict(DEFAULT_HANG_AFTER)
    for value in values:
        name, sep, secs = value.partition("=")
        if not sep:
            limits = dict.fromkeys(limits, float(value))
            continue
        if name not in limits:
            raise ValueError(f"unknown phase {name!r}; phases: {', '.join(limits)}")
        limits[name] = float(secs)
    return limits


# -- output -----------------------------------------------------------------------------------------------


def render_event(ev: Event, fmt: str) -> str:
    """One event as text (a few lines), one JSON object on one line (jsonl/json), or a Markdown reply."""
    if fmt in ("json", "jsonl"):
        import json

        return json.dumps(ev.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"
    if fmt == "markdown":
        from logclassify.render.markdown import render_markdown

        report = Report(
            source=ev.source,
            diagnoses=[ev.diagnosis] if ev.diagnosis else [],
            unrecognized=[ev.unrecognized] if ev.unrecognized else [],
        )
        return render_markdown(report) + "\n"
    return _text(ev)


def _text(ev: Event) -> str:
    stamp = ev.at[11:19]
    if ev.diagnosis is not None:
        d = ev.diagnosis
        mark = {"critical": "✖", "error": "✖", "warning": "▲"}.get(d.severity.value, "·")
        out = [f"{stamp} {mark} {d.id}  {d.title}  ({ev.source} line {d.first_line}, confidence {d.confidence:.2f})"]
        out += [f"    {e.line:>7} │ {e.text[:150]}" for e in d.evidence[:4]]
        out.append(f"    why   {' '.join(d.cause.split())[:400]}")
        out += [f"    fix   {i}. {step}" if i == 1 else f"          {i}. {step}" for i, step in enumerate(d.fix, 1)]
        if d.docs:
            out.append(f"    docs  {d.docs[0]}")
    else:
        u = ev.unrecognized
        assert u is not None
        out = [f"{stamp} ? unrecognised failure  {u.error[:200]}  ({ev.source} line {u.line})"]
        out += [f"    {e.line:>7} │ {e.text[:150]}" for e in u.evidence]
        out.append(f"    fingerprint  {u.fingerprint}")
        if u.related:
            rel = " · ".join(f"{r.id} ({r.score:.2f})" for r in u.related)
            out.append(f"    related      {rel}  — suggestions, not diagnoses")
    return "\n".join(out) + "\n\n"
