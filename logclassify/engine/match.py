"""Evaluate a rule's conditions against one parsed input.

Rules are compiled once into a tree of matcher objects (one class per condition kind). Evaluating a condition gives
whether it holds and its hits: the lines that prove it, with named captures.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import regex

from logclassify.engine.literals import every_required_literal_set, plain_alternatives, required_literals
from logclassify.lazyre import LazyPattern, lazy
from logclassify.models import Phase
from logclassify.parse.facts import Fact
from logclassify.parse.traceback import FATAL_TYPE, ExceptionInfo, Traceback
from logclassify.read.lineindex import LineIndex
from logclassify.read.logline import LogLine

if TYPE_CHECKING:  # the schema (pydantic) is needed to compile rules, not to run compiled ones
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    from logclassify.engine import schema
    from logclassify.select import Presence

RULE_BUDGET_S = 0.5  # a rule's regexes together, on one input: a pathological one gives up, and the report says so


@dataclass(slots=True, frozen=True)
class Hit:
    line: int
    text: str
    captures: tuple[tuple[str, str], ...] = ()
    weight: int = 0  # 0: the failure's own line, 1: a traceback frame, 2: a fact or phase (context)
    message: str | None = None  # the line without its prefixes, when it differs from `text`


@dataclass(slots=True)
class Result:
    ok: bool
    hits: list[Hit] = field(default_factory=list)


_FALSE = Result(False)


@dataclass
class Context:
    """What the matcher knows about one input."""

    lines: Sequence[LogLine]
    tracebacks: list[Traceback]
    exceptions: list[ExceptionInfo]
    facts: dict[str, list[Fact]]
    timeline: list[Phase]
    ending: Phase | None
    index: LineIndex
    text_by_line: dict[int, str] = field(default_factory=dict)
    timeouts: int = 0
    presence: Presence | None = None  # the rule literals found in the whole lines in one pass, when known
    rule: str = ""  # the rule being evaluated (`begin`) ...
    deadline: float = float("inf")  # ... and when its time budget on this input ends
    out_of_time: dict[str, int] = field(default_factory=dict)  # rule id -> the input line its budget ran out on

    def begin(self, rule: str) -> None:
        """Rule `rule` is evaluated next, with RULE_BUDGET_S for all its regexes on this input."""
        self.rule = rule
        self.deadline = time.perf_counter() + RULE_BUDGET_S

    def impossible(self, needs: Sequence[Literals] | None) -> bool:
        """True when one of the literal sets a condition needs occurs nowhere in the lines (whole lines, prefixes
        included, since `scope: line` conditions look there): the condition cannot hold."""
        for lit in needs or ():
            alts = lit.alternatives
            if not alts or "" in alts:
                continue
            found = self.presence.any_of(alts, lit.ignore_case) if self.presence is not None else None
            if found is None:
                found = any(self.index.lines_with(a, lit.ignore_case) for a in alts)
            if not found:
                return True
        return False


@dataclass(frozen=True)
class Literals:
    """What the prefilter needs: literal alternatives (one must occur) or None when the condition has none."""

    alternatives: frozenset[str] | None
    ignore_case: bool = False

    def __post_init__(self) -> None:
        if self.ignore_case and self.alternatives:  # compared against lowercased text
            object.__setattr__(self, "alternatives", frozenset(a.lower() for a in self.alternatives))


class Matcher:
    def evaluate(self, ctx: Context) -> Result:
        raise NotImplementedError

    def literals(self) -> list[Literals] | None:
        """Alternatives, one of which must appear for this condition to hold; None when always possible."""
        return None


def _captures(m: regex.Match[str]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in m.groupdict().items() if v is not None)


def _search(
    pattern: LazyPattern, text: str, ctx: Context, line: int, whole: bool = False
) -> regex.Match[str] | None:
    """`pattern.search` (`fullmatch` with `whole`) within what is left of the rule's time budget. When it runs out,
    the rule matches nothing more in this input, and `ctx.out_of_time` says where (a warning in the report)."""
    if ctx.rule in ctx.out_of_time:
        return None
    left = ctx.deadline - time.perf_counter()
    try:
        if left > 0:
            return pattern.fullmatch(text, timeout=left) if whole else pattern.search(text, timeout=left)
    except TimeoutError:
        pass
    ctx.timeouts += 1
    ctx.out_of_time[ctx.rule] = line
    return None


class LineRegex(Matcher):
    """A `regex` or `contains` condition: some line's message (or whole line) matches.

    Only lines holding one of the pattern's best literals are visited (from the input's `LineIndex`); a line must
    also hold every literal the pattern requires before the regex runs, and a pattern that is only literals joined
    by `|` (or a `contains`) matches on those tests alone.
    """

    def __init__(self, pattern: str, ignore_case: bool, literal: bool = False, on: str = "message") -> None:
        self.whole_line = on == "line"
        flags = regex.V0 | (regex.IGNORECASE if ignore_case else 0)
        self.source = regex.escape(pattern) if literal else pattern
        self.pattern = lazy(self.source, flags)  # compiled when a line first passes the literal test
        self.literal = pattern if literal else None
        self.ignore_case = ignore_case
        alts = frozenset([pattern]) if literal else required_literals(pattern)
        if alts is not None and ignore_case:
            alts = frozenset(a.lower() for a in alts)
        self._lits = Literals(alts, ignore_case or "(?i" in pattern)
        # What a line must contain, each set once, before the regex runs; when `exact`, that is the whole match.
        plain = None if ignore_case else frozenset([pattern]) if literal else plain_alternatives(pattern)
        sets = (plain,) if plain is not None else every_required_literal_set(pattern)
        if self._lits.ignore_case:
            sets = tuple(frozenset(a.lower() for a in s) for s in sets)
        self._line_sets = tuple(s for s in sets if s and not any("\n" in a for a in s))
        self.exact = plain is not None

    def literals(self) -> list[Literals] | None:
        return [self._lits] if self._lits.alternatives else None

    def evaluate(self, ctx: Context) -> Result:
        alts = self._lits.alternatives
        lower = self._lits.ignore_case
        if alts and ctx.impossible((self._lits,)):
            return _FALSE
        texts = ctx.index.haystack(self.whole_line, lower)[1]
        if alts and not any("\n" in a for a in alts):
            candidates: Iterable[int] = ctx.index.lines_with_any(alts, lower)
            if not candidates:
                return _FALSE  # none of its literals occurs anywhere: no line can match
        else:
            candidates = range(len(texts))
        hits: list[Hit] = []
        lines = ctx.lines
        sets = self._line_sets
        for i in candidates:
            text = texts[i]
            if alts and not any(a in text for a in alts):
                continue
            if sets and not all(any(a in text for a in s) for s in sets):
                continue
            line = lines[i]
            if self.exact:
                hits.append(Hit(line.number, line.text, message=line.message))
                continue
            m = _search(self.pattern, line.text if self.whole_line else line.message, ctx, line.number)
            if m is not None:
                hits.append(Hit(line.number, line.text, _captures(m), message=line.message))
        return Result(bool(hits), hits)


def _one_line(alts: frozenset[str] | None) -> frozenset[str] | None:
    return alts if alts and not any("\n" in a for a in alts) else None


def _opt(pattern: str | None) -> LazyPattern | None:
    return lazy(pattern) if pattern is not None else None


class ExceptionMatch(Matcher):
    def __init__(self, spec: schema.ExceptionSpec) -> None:
        self.type = _opt(spec.type)
        self.message = _opt(spec.message)
        self.root = spec.root
        self.raised_in = _opt(spec.raised_in)
        inner = spec.innermost
        self.innermost_among = _opt(inner.among if inner is not None else None)
        self.innermost_file = _opt(inner.file if inner is not None else None)
        self.innermost_function = _opt(inner.function if inner is not None else None)
        lits: list[Literals] = []
        # Literals are looked for line by line: none from a message that spans lines, nor from a type the parser
        # names itself. Both start on the exception line: the more selective one (longest shortest alternative)
        # is the scan's trigger (a message '^429 ' alone was on a busy log's every few thousandth line).
        if spec.message is not None and (alts := _one_line(required_literals(spec.message))):
            lits.append(Literals(alts, "(?i" in spec.message))
        if (
            spec.type is not None
            and not (self.type and self.type.fullmatch(FATAL_TYPE))
            and (alts := _one_line(required_literals(spec.type)))
        ):
            lits.append(Literals(alts, "(?i" in spec.type))
        lits.sort(key=lambda lit: -min(len(a) for a in lit.alternatives or ("",)))
        self._lits = lits[:1] or None

    def literals(self) -> list[Literals] | None:
        return self._lits

    def evaluate(self, ctx: Context) -> Result:
        hits: list[Hit] = []
        pool = [tb.root for tb in ctx.tracebacks] if self.root else ctx.exceptions
        for exc in pool:
            caps: tuple[tuple[str, str], ...] = ()
            if self.type is not None and not (
                _search(self.type, exc.type, ctx, exc.line, whole=True)
                or _search(self.type, exc.short_type, ctx, exc.line, whole=True)
            ):
                continue
            if self.message is not None:
                m = _search(self.message, exc.message, ctx, exc.line)
                if m is None:
                    continue
                caps = _captures(m)
            frames: list[Hit] = []  # the frames each condition on them names, kept only when all hold
            if self.raised_in is not None:
                raised = self._raised(self.raised_in, exc, ctx)
                if raised is None:
                    continue
                frames.append(raised)
                caps += raised.captures
            if self.innermost_among is not None:
                inner = self._innermost(self.innermost_among, exc, ctx)
                if inner is None:
                    continue
                frames.append(inner)
                caps += inner.captures
            hits.extend(frames)
            hits.append(Hit(exc.line, exc.text, caps))
        return Result(bool(hits), hits)

    def _innermost(self, among: LazyPattern, exc: ExceptionInfo, ctx: Context) -> Hit | None:
        """The innermost frame whose file matches `among`, when it matches `file` / `function`: the deepest frame of
        one code base (vLLM's model file under a torch or transformers frame that raised), with its file (from where
        `file` matched, else from where `among` did), line and function and the named groups of `file` as captures."""
        for frame in reversed(exc.frames):
            where = _search(among, frame.file, ctx, frame.line)
            if where is not None:
                break
        else:
            return None
        start = where.start()
        caps: tuple[tuple[str, str], ...] = ()
        if self.innermost_file is not None:
            m = _search(self.innermost_file, frame.file, ctx, frame.line)
            if m is None:
                return None
            start = m.start()
            caps = _captures(m)
        if self.innermost_function is not None and not _search(
            self.innermost_function, frame.function, ctx, frame.line, whole=True
        ):
            return None
        caps += (("innermost_file", frame.file[start:].lstrip("/\\")), ("innermost_line", str(frame.lineno)),
                 ("innermost_function", frame.function))
        text = f'File "{frame.file}", line {frame.lineno}, in {frame.function}'
        return Hit(frame.line, text, caps, weight=1)

    def _raised(self, pattern: LazyPattern, exc: ExceptionInfo, ctx: Context) -> Hit | None:
        """The innermost frame when its file matches `raised_in`, with the exception's short type and the frame's
        file (from where the pattern matched: `vllm/...`, not the user's site-packages path), line and function as
        captures."""
        if not exc.frames:
            return None
        frame = exc.frames[-1]
        m = _search(pattern, frame.file, ctx, frame.line)
        if m is None:
            return None
        caps = (("raised_type", exc.short_type), ("raised_file", frame.file[m.start():].lstrip("/\\")),
                ("raised_line", str(frame.lineno)), ("raised_function", frame.function))
        where = f'File "{frame.file}", line {frame.lineno}, in {frame.function}'
        return Hit(frame.line, where, caps, weight=1)


class FrameMatch(Matcher):
    def __init__(self, spec: schema.FrameSpec) -> None:
        self.file = _opt(spec.file)
        self.function = _opt(spec.function)
        self.code = _opt(spec.code)
        source = spec.function or spec.code or spec.file
        alts = required_literals(source) if source else None
        self._lits = [Literals(alts)] if alts else None

    def literals(self) -> list[Literals] | None:
        return self._lits

    def evaluate(self, ctx: Context) -> Result:
        hits: list[Hit] = []
        for exc in ctx.exceptions:
            for fr in exc.frames:
                if self.file is not None and not _search(self.file, fr.file, ctx, fr.line):
                    continue
                if self.function is not None and not _search(self.function, fr.function, ctx, fr.line, whole=True):
                    continue
                if self.code is not None and not (fr.code and _search(self.code, fr.code, ctx, fr.line)):
                    continue
                hits.append(Hit(fr.line, f'File "{fr.file}", line {fr.lineno}, in {fr.function}', weight=1))
        return Result(bool(hits), hits)


def _version(value: str) -> Version | None:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(value)
    except InvalidVersion:
        m = regex.match(r"\d+(?:\.\d+)*(?:\.?post\d+)?", value)
        try:
            return Version(m.group(0)) if m else None
        except InvalidVersion:
            return None


class FactMatch(Matcher):
    def __init__(self, spec: schema.FactSpec) -> None:
        self.name = spec.name
        self.version = spec.version
        self._spec: SpecifierSet | None = None
        self.equals = spec.equals
        self.regex = _opt(spec.regex)

    def evaluate(self, ctx: Context) -> Result:
        hits: list[Hit] = []
        for fact in ctx.facts.get(self.name, ()):
            if self.equals is not None and fact.value.lower() != self.equals.lower():
                continue
            if self.regex is not None and not _search(self.regex, fact.value, ctx, fact.line):
                continue
            if self.version:
                v = _version(fact.value)
                if v is None or not self._specifier().contains(v, prereleases=True):
                    continue
            hits.append(Hit(fact.line, fact.text, ((self.name.replace(".", "_"), fact.value),), weight=2))
        return Result(bool(hits), hits)


    def _specifier(self) -> SpecifierSet:
        if self._spec is None:
            from packaging.specifiers import SpecifierSet

            self._spec = SpecifierSet(self.version or "")
        return self._spec


class LogEndsIn(Matcher):
    def __init__(self, phases: list[str]) -> None:
        self.phases = set(phases)

    def evaluate(self, ctx: Context) -> Result:
        ph = ctx.ending
        if ph is None or ph.name not in self.phases:
            return _FALSE
        caps: list[tuple[str, str]] = [("phase", ph.label)]
        if ph.duration_s is not None:
            caps.append(("elapsed", _human(ph.duration_s)))
        return Result(True, [Hit(ph.start_line, ctx.text_by_line.get(ph.start_line, ph.label), tuple(caps), weight=2)])


def _human(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60} min" if s % 60 == 0 or s >= 600 else f"{s // 60} min {s % 60}s"
    return f"{s // 3600} h {(s % 3600) // 60} min"


class All(Matcher):
    def __init__(self, children: list[Matcher], within: int | None) -> None:
        self.children = children
        self.within = within
        self._needs = [c.literals() for c in children]

    @property
    def needs(self) -> list[list[Literals] | None]:
        """Each child's literal requirement: what `evaluate` asks `Context.impossible` about."""
        return self._needs

    def literals(self) -> list[Literals] | None:
        # Any one child's requirement is necessary for the group: offer all, the prefilter keeps the best.
        found: list[Literals] = []
        for c in self.children:
            lits = c.literals()
            if lits:
                found.extend(lits)
        return found or None

    def evaluate(self, ctx: Context) -> Result:
        if any(ctx.impossible(needs) for needs in self._needs):
            return _FALSE  # a later child cannot hold: do not evaluate the earlier ones
        results: list[tuple[Matcher, Result]] = []
        for child in self.children:
            r = child.evaluate(ctx)
            if not r.ok:
                return _FALSE
            results.append((child, r))
        if self.within is None:
            return Result(True, [h for i, (_, r) in enumerate(results) for h in (r.hits if i == 0 else _context(r.hits))])
        return self._near(ctx, results)

    def _near(self, ctx: Context, results: list[tuple[Matcher, Result]]) -> Result:
        n = self.within or 0
        anchor_hits = results[0][1].hits
        kept: list[Hit] = []
        for anchor in anchor_hits:
            chosen: list[Hit] = [anchor]
            for child, r in results[1:]:
                if isinstance(child, NoneOf):
                    if child.any_within(ctx, anchor.line, n):
                        break
                    continue
                near = [h for h in r.hits if abs(h.line - anchor.line) <= n]
                if not near:
                    break
                chosen.extend(_context([min(near, key=lambda h: abs(h.line - anchor.line))]))
            else:
                kept.extend(chosen)
        return Result(bool(kept), kept)


def _context(hits: list[Hit]) -> list[Hit]:
    """Hits of the later conditions of an `all` support the first one (the signature): show them as context."""
    return [h if h.weight >= 1 else replace(h, weight=1) for h in hits]


class AnyOf(Matcher):
    def __init__(self, children: list[Matcher]) -> None:
        self.children = children
        self._needs = [c.literals() for c in children]

    @property
    def needs(self) -> list[list[Literals] | None]:
        """Each child's literal requirement: what `evaluate` asks `Context.impossible` about."""
        return self._needs

    def literals(self) -> list[Literals] | None:
        alts: set[str] = set()
        ignore_case = False
        for c in self.children:
            lits = c.literals()
            if not lits:
                return None
            best = max(lits, key=lambda lit: min((len(a) for a in lit.alternatives or ()), default=0))
            if best.alternatives is None:
                return None
            alts |= best.alternatives
            ignore_case = ignore_case or best.ignore_case
        if ignore_case:  # one case-insensitive member makes the whole set case-insensitive
            alts = {a.lower() for a in alts}
        return [Literals(frozenset(alts), ignore_case)]

    def evaluate(self, ctx: Context) -> Result:
        hits: list[Hit] = []
        ok = False
        for child, needs in zip(self.children, self._needs, strict=True):
            if ctx.impossible(needs):
                continue
            r = child.evaluate(ctx)
            if r.ok:
                ok = True
                hits.extend(r.hits)
        return Result(ok, hits)


class NoneOf(Matcher):
    def __init__(self, children: list[Matcher]) -> None:
        self.children = children

    def evaluate(self, ctx: Context) -> Result:
        for child in self.children:
            if child.evaluate(ctx).ok:
                return _FALSE
        return Result(True, [])

    def any_within(self, ctx: Context, line: int, n: int) -> bool:
        for child in self.children:
            r = child.evaluate(ctx)
            if any(abs(h.line - line) <= n for h in r.hits) or (r.ok and not r.hits):
                return True
        return False



def compile_condition(cond: schema.Condition) -> Matcher:
    """Turn a validated condition into its matcher."""
    from logclassify.engine import schema
    if isinstance(cond, schema.RegexCond):
        return LineRegex(cond.regex, cond.ignore_case, on=cond.scope)
    if isinstance(cond, schema.ContainsCond):
        return LineRegex(cond.contains, cond.ignore_case, literal=True, on=cond.scope)
    if isinstance(cond, schema.ExceptionCond):
        return ExceptionMatch(cond.exception)
    if isinstance(cond, schema.FrameCond):
        return FrameMatch(cond.frame)
    if isinstance(cond, schema.FactCond):
        return FactMatch(cond.fact)
    if isinstance(cond, schema.LogEndsInCond):
        return LogEndsIn(cond.log_ends_in)
    if isinstance(cond, schema.AllCond):
        return All([compile_condition(c) for c in cond.all], cond.within)
    if isinstance(cond, schema.AnyCond):
        return AnyOf([compile_condition(c) for c in cond.any])
    if isinstance(cond, schema.NoneCond):
        return NoneOf([compile_condition(c) for c in cond.none])
    raise TypeError(f"unknown condition {type(cond).__name__}")


def walk(m: Matcher) -> Iterator[Matcher]:
    """The matcher and every matcher below it."""
    yield m
    if isinstance(m, (All, AnyOf, NoneOf)):
        for c in m.children:
            yield from walk(c)


def keep_literals(m: Matcher) -> list[Literals]:
    """Every literal whose lines the matcher may look at (for selecting lines, not for deciding candidates)."""
    out: list[Literals] = []
    if isinstance(m, (All, AnyOf, NoneOf)):
        for c in m.children:
            out.extend(keep_literals(c))
    else:
        out.extend(m.literals() or [])
    return out
