"""Python tracebacks in free text: frames, the exception's type and message, and the chain of exceptions.

Handles chained tracebacks ("During handling of the above exception..." / "The above exception was the direct
cause..."), multi-line messages (the multiprocessing bootstrapping RuntimeError), caret lines, excerpts that start
in the middle of a traceback, and tracebacks from several processes interleaved line by line: each process tag
(worker tag, `[rankN]:`) has its own parser state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from logclassify.lazyre import lazy
from logclassify.read.logline import LogLine

if TYPE_CHECKING:
    import regex

_HEADER = "Traceback (most recent call last):"
# `File "x.py", line 3, in f` in tracebacks; `File "x.py", line 3 in f` in faulthandler's crash dumps.
_FRAME = lazy(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:,? in (?P<func>.+?))?\s*$')
# A crash (segfault, abort) dumped by faulthandler: the error, then each thread's stack, innermost call first.


def _frame(msg: str) -> regex.Match[str] | None:
    return _FRAME.match(msg) if 'File "' in msg else None  # the literal every frame line has


def _may_name_exception(stripped: str) -> bool:
    """Whether `_BARE_EXC` can match: its type has neither spaces nor ': ', and ': ' follows it."""
    colon = stripped.find(": ")
    return colon > 0 and " " not in stripped[:colon]


# The type given to a faulthandler crash ("Fatal Python error: ..."): named by the parser, spelled by no log line.
FATAL_TYPE = "FatalPythonError"
_FATAL = lazy(r"^Fatal Python error: (?P<msg>.+)$")
_FAULT_STACK = lazy(r"^(?:(?P<current>Current thread)|Thread) 0x[0-9a-fA-F]+ \(most recent call first\):$"
                             r"|^Stack \(most recent call first\):$")
_CHAIN = {
    "During handling of the above exception, another exception occurred:": "context",
    "The above exception was the direct cause of the following exception:": "cause",
}
# After frames, any `dotted.Name: message` or bare `Name` line ends the traceback.
_EXC_AFTER_FRAMES = lazy(
    r"^(?P<type>[A-Za-z_][\w.]*(?:\([\w.]+\))?)(?::(?: (?P<msg>.*)|\s*$)|$)"
)
# Outside a traceback, only lines that clearly name an exception type count.
_BARE_EXC = lazy(
    r"^(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Failed|Timeout)(?:\([\w.]+\))?)"
    r": (?P<msg>\S.*)$"
)
_CARET = lazy(r"^\s*[\^~]+\s*$")
_MAX_MESSAGE_LINES = 40


@dataclass(slots=True)
class Frame:
    file: str
    lineno: int
    function: str
    code: str | None
    line: int  # input line number of the `File ...` line


@dataclass(slots=True)
class ExceptionInfo:
    type: str
    message: str
    line: int  # input line number of the exception line
    text: str
    frames: list[Frame] = field(default_factory=list)
    chained: str | None = None  # "cause" / "context" relation to the previous exception in the chain
    process: str | None = None

    @property
    def short_type(self) -> str:
        base = self.type.split("(", 1)[0]
        return base.rsplit(".", 1)[-1]


@dataclass(slots=True)
class Traceback:
    """A chain of exceptions from one process, root (first raised) first."""

    exceptions: list[ExceptionInfo]
    process: str | None = None

    @property
    def root(self) -> ExceptionInfo:
        return self.exceptions[0]

    @property
    def final(self) -> ExceptionInfo:
        return self.exceptions[-1]


@dataclass
class _State:
    mode: str = "idle"  # idle | frames | message
    frames: list[Frame] = field(default_factory=list)
    current: ExceptionInfo | None = None
    chain: Traceback | None = None
    pending_chain: str | None = None
    message_lines: int = 0
    blank_pending: bool = False
    fatal: ExceptionInfo | None = None  # a "Fatal Python error" waiting for its stack dump
    fatal_current: bool = False  # the stack being read is the crashing thread's


class _Parser:
    def __init__(self) -> None:
        self.states: dict[str | None, _State] = {}
        self.tracebacks: list[Traceback] = []

    def reset(self) -> None:
        """A gap in the input: nothing continues across it."""
        for key in list(self.states):
            st = self.states[key]
            if st.fatal is not None:  # a crash whose dump was cut off still counts
                self._take_fault_frames(st)
                self.tracebacks.append(Traceback([st.fatal], st.fatal.process))
                st.fatal = None
            self._finish(st)
        self.states.clear()

    def feed(self, line: LogLine) -> None:
        st = self.states.get(line.process)
        if st is None:
            st = self.states[line.process] = _State()
        self._step(st, line)

    def _finish(self, st: _State) -> None:
        if st.current is not None:
            self._close_exception(st, st.current)
        elif st.mode == "frames" and st.frames:
            # A traceback pasted without its exception line: keep its frames, under an unnamed exception.
            last = st.frames[-1]
            where = f'File "{last.file}", line {last.lineno}, in {last.function}'  # its line, as evidence can quote it
            cut = ExceptionInfo("", "", last.line, where, st.frames, process=None)
            st.pending_chain = None
            self.tracebacks.append(Traceback([cut], None))
        st.mode = "idle"
        st.frames = []
        st.current = None
        st.blank_pending = False

    def _close_exception(self, st: _State, exc: ExceptionInfo) -> None:
        exc.message = exc.message.rstrip()
        if st.pending_chain and st.chain is not None:
            exc.chained = st.pending_chain
            st.chain.exceptions.append(exc)
        else:
            st.chain = Traceback([exc], exc.process)
            self.tracebacks.append(st.chain)
        st.pending_chain = None
        st.current = None

    def _start_exception(self, st: _State, line: LogLine, type_: str, msg: str) -> None:
        st.current = ExceptionInfo(type_, msg, line.number, line.message.strip(), st.frames, process=line.process)
        st.frames = []
        st.mode = "message"
        st.message_lines = 0
        st.blank_pending = False

    def _step(self, st: _State, line: LogLine) -> None:
        msg = line.message
        stripped = msg.strip()
        if st.mode == "fault" and self._fault_step(st, line, msg, stripped):
            return
        fatal = _FATAL.match(stripped) if stripped.startswith("Fatal Python error: ") else None
        if fatal is not None:
            self._finish(st)
            st.fatal = ExceptionInfo(FATAL_TYPE, fatal["msg"], line.number, stripped, process=line.process)
            return
        if st.mode == "message":
            if self._continue_message(st, msg, stripped):
                return
            self._finish(st)
        if stripped == _HEADER or stripped.endswith(_HEADER):
            if st.mode == "frames" and not st.frames:
                return
            self._finish(st) if st.mode != "idle" else None
            st.mode = "frames"
            st.frames = []
            return
        if st.fatal is not None and _FAULT_STACK.match(stripped):
            st.mode = "fault"
            st.frames = []
            st.fatal_current = "Current thread" in stripped
            return
        if stripped in _CHAIN:
            if st.mode != "idle":
                self._finish(st)
            if st.chain is not None:
                st.pending_chain = _CHAIN[stripped]
            return
        fm = _frame(msg)
        if fm is not None:
            if st.mode == "idle":
                st.mode = "frames"  # an excerpt that starts mid-traceback
                st.frames = []
            st.frames.append(Frame(fm["file"], int(fm["line"]), (fm["func"] or "").strip(), None, line.number))
            return
        if st.mode == "frames":
            if not stripped:
                return
            if msg[:1].isspace():
                if st.frames and st.frames[-1].code is None and not _CARET.match(msg):
                    st.frames[-1].code = stripped
                return
            if stripped.startswith("[Previous line repeated"):
                return
            em = _EXC_AFTER_FRAMES.match(stripped)
            if em is not None:
                self._start_exception(st, line, em["type"], em["msg"] or "")
                return
            self._finish(st)  # not a traceback after all (cut paste, interleaved noise)
            st.pending_chain = None
            return
        bm = _BARE_EXC.match(stripped) if st.mode == "idle" and _may_name_exception(stripped) else None
        if bm is not None:
            st.frames = []
            self._start_exception(st, line, bm["type"], bm["msg"])
            return
        if stripped and st.pending_chain is not None and not msg[:1].isspace():
            st.pending_chain = None

    def _fault_step(self, st: _State, line: LogLine, msg: str, stripped: str) -> bool:
        """Read faulthandler's stack dump; the crashing thread's frames (innermost last) go to the fatal error."""
        fatal = st.fatal
        assert fatal is not None
        fm = _frame(msg)
        if fm is not None:
            frame = Frame(fm["file"], int(fm["line"]), (fm["func"] or "").strip(), None, line.number)
            if st.fatal_current or not fatal.frames:
                st.frames.insert(0, frame)
            return True
        if not stripped or stripped.startswith("Extension modules:"):
            return True
        header = _FAULT_STACK.match(stripped)
        if header is not None:
            self._take_fault_frames(st)
            st.fatal_current = header["current"] is not None
            return True
        self._take_fault_frames(st)
        st.mode = "idle"
        st.fatal = None
        self.tracebacks.append(Traceback([fatal], fatal.process))
        return False

    @staticmethod
    def _take_fault_frames(st: _State) -> None:
        fatal = st.fatal
        if fatal is not None and st.frames and (st.fatal_current or not fatal.frames):
            fatal.frames = st.frames
        st.frames = []

    def _continue_message(self, st: _State, msg: str, stripped: str) -> bool:
        """Whether this line continues the current exception's message (multi-line messages)."""
        cur = st.current
        assert cur is not None
        if not stripped:
            st.blank_pending = True
            return True
        if stripped == _HEADER or stripped in _CHAIN or _frame(msg):
            return False
        if st.message_lines >= _MAX_MESSAGE_LINES:
            return False
        indented = msg[:1].isspace()
        if indented or (not cur.message and not st.blank_pending):
            cur.message = f"{cur.message}\n{stripped}" if cur.message else stripped
            st.message_lines += 1
            st.blank_pending = False
            return True
        return False


def parse_tracebacks(segments: Iterable[Sequence[LogLine]]) -> list[Traceback]:
    """Every traceback (and bare exception line) in the input, in the order their chains began.

    `segments` are runs of consecutive input lines; parsing restarts at each gap between them.
    """
    parser = _Parser()
    for segment in segments:
        for line in segment:
            parser.feed(line)
        parser.reset()
    return parser.tracebacks


def all_exceptions(tracebacks: Iterable[Traceback]) -> list[ExceptionInfo]:
    return [exc for tb in tracebacks for exc in tb.exceptions]


class TracebackWatch:
    """Where tracebacks end in a live stream (`--follow` classifies again the moment one is complete).

    Line by line and per process tag, by the parser's own patterns, without keeping anything: after a traceback's
    exception line, the next line that does not continue it ends it; a chain line continues it. A plain line from
    another process ends it too (interleaved processes rarely split one exception message), and after frames a
    line that names no exception means it was not a traceback after all, as the parser decides.
    """

    def __init__(self) -> None:
        self.state: dict[str | None, str] = {}  # process -> "frames" | "exception"

    def feed(self, line: LogLine) -> bool:
        """True when this line shows that a traceback just ended."""
        msg = line.message
        stripped = msg.strip()
        proc = line.process
        st = self.state.get(proc)
        if stripped.endswith(_HEADER) or (st is None and _frame(msg) is not None):  # an excerpt may start mid-way
            self.state[proc] = "frames"
            return self._end_others(proc) or st == "exception"
        if not stripped or msg[:1].isspace() or _frame(msg) is not None:
            return False  # frames, code lines, a multi-line message: nothing ends here
        if st == "frames":
            if stripped.startswith("[Previous line repeated"):
                return False
            if _EXC_AFTER_FRAMES.match(stripped):
                self.state[proc] = "exception"
            else:
                del self.state[proc]
            return self._end_others(proc)
        if st is None and _may_name_exception(stripped) and _BARE_EXC.match(stripped):
            self.state[proc] = "exception"
            return self._end_others(proc)
        if st == "exception" and stripped in _CHAIN:
            self.state[proc] = "frames"
            return False
        ended = st == "exception"
        if ended:
            del self.state[proc]
        return self._end_others(proc) or ended

    def _end_others(self, process: str | None) -> bool:
        done = [p for p, v in self.state.items() if v == "exception" and p != process]
        for p in done:
            del self.state[p]
        return bool(done)

    @property
    def open(self) -> bool:
        """Whether a traceback is between its header and its exception line (classifying now would cut it)."""
        return any(v == "frames" for v in self.state.values())
