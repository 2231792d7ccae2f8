"""`Classifier`: rules compiled once, then any number of inputs classified (thread-safe: no shared mutable state)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Literal

from logclassify.engine import unknown, values
from logclassify.engine.answer import Filler, compose
from logclassify.engine.clip import finish_report
from logclassify.engine.literals import required_literals
from logclassify.engine.loader import CompiledRule, builtin_rules_dir, load_rule_dirs
from logclassify.engine.match import RULE_BUDGET_S, All, AnyOf, Context, Hit, LineRegex, Literals, Matcher, NoneOf, walk
from logclassify.engine.prefilter import RuleScreen, literal_screen, with_folded
from logclassify.engine.rank import rank
from logclassify.engine.unknown import find_unrecognized
from logclassify.engine.valueinputs import Inputs
from logclassify.models import Command, Diagnosis, Evidence, Report, Severity
from logclassify.parse import command, environment, phases
from logclassify.parse.facts import extract_facts, guard_literals, index_facts, summarize_facts
from logclassify.parse.facts import literals as fact_literals
from logclassify.parse.traceback import all_exceptions, parse_tracebacks
from logclassify.read.lineindex import LineIndex
from logclassify.read.markdown import ISSUE_BODY_MAX, log_lines_of_markdown, sniff_issue_body
from logclassify.read.sources import LogData, ReadStats, chunks_from, is_regular_file, iter_chunks, open_binary
from logclassify.select import ANCHOR, MARKER, TRACEBACK, LiteralIndex, Presence, Scanner, ScanPlan, Selection, Trigger, window

InputFormat = Literal["auto", "log", "markdown"]
MAX_EVIDENCE = 6
MIN_EVIDENCE = 3  # below this many failure lines, add frames / facts as context
MAX_MARKDOWN_BYTES = 64 << 20
NOTE_CONFIDENCE = 0.6  # a rule whose `confirm` evidence is missing is only this sure, and only a note
# Lines worth keeping even when no rule names them: the failures the unknown-error finder reports. Its own
# patterns are scan triggers (`failure_triggers`); these literals add traceback headers and exception lines.
CONTEXT_LITERALS = ("Traceback (most recent call last)", "Error: ", "Exception: ")


def load_rules(*dirs: str | os.PathLike[str], builtin: bool = True) -> list[CompiledRule]:
    """Rules from the given folders, on top of the built-in ones unless `builtin=False`."""
    paths = ([builtin_rules_dir()] if builtin else []) + [Path(d) for d in dirs]
    from logclassify.engine.rulecache import load_cached

    return load_cached(paths, lambda: load_rule_dirs(paths))


def failure_triggers() -> list[Trigger]:
    """Triggers for every line the unknown-error finder calls a failure, derived from its own patterns."""
    out = [Trigger((lit,), kind=TRACEBACK if lit.startswith("Traceback") else ANCHOR) for lit in CONTEXT_LITERALS]
    out += [Trigger((level,)) for level in sorted(unknown.FAILURE_LEVELS)]
    # Not the bare-exception pattern: its literals ("rror", "xception") hit every line of a crash loop, and kept
    # them all (a 24 MB gzip bomb of OOM tracebacks peaked at 450 MB instead of 120); "Error: " keeps most of those.
    for source in unknown.FAILURE_LINE_PATTERNS:
        lits = required_literals(f"(?i){source}")
        if not lits:  # the scan could not keep such a line in a big log: a mistake in the pattern list
            raise ValueError(f"failure pattern without a literal to scan for: {source!r}")
        out.append(Trigger(tuple(sorted(lits)), source, ignore_case=True))
    return out


def scan_triggers(rules: Sequence[CompiledRule]) -> list[Trigger]:
    """What the one-pass scan looks for: every text condition of every rule, failure words, fact/phase markers."""
    out: dict[Trigger, None] = dict.fromkeys(failure_triggers())

    def walk(m: Matcher) -> None:
        if isinstance(m, (All, AnyOf, NoneOf)):
            for c in m.children:
                walk(c)
            return
        # Every matching line holds one alternative of each literal requirement, so the most selective one alone
        # (longest shortest alternative) finds them all: `exception: {type: HfHubHTTPError, message: '^429 '}`
        # anchored every line with "429 " in it (ports, sizes), a busy log's every few thousandth line.
        reqs = [lit for lit in m.literals() or () if lit.alternatives]
        if not reqs:
            return
        lit = max(reqs, key=lambda r: min(len(a) for a in r.alternatives or ("",)))
        alts = tuple(sorted(lit.alternatives or ()))
        source = m.source if isinstance(m, LineRegex) and m.literal is None else None
        out[Trigger(alts, source, lit.ignore_case)] = None

    absent: list[str] = []  # literals of lines whose presence matters, not their context (kept as markers)

    def as_marker(c: Matcher) -> bool:
        lits = c.literals() if isinstance(c, LineRegex) else None
        if not lits or not all(lit.alternatives and not lit.ignore_case for lit in lits):
            return False
        absent.extend(a for lit in lits for a in lit.alternatives or ())
        return True

    def selectivity(c: Matcher) -> int:
        if isinstance(c, (All, AnyOf, NoneOf)):
            return 0
        return max((min(len(a) for a in lit.alternatives) for lit in c.literals() or () if lit.alternatives),
                   default=0)

    for r in rules:
        if isinstance(r.matcher, All) and len(r.matcher.children) > 1:
            # `all:` of a rare line and a common one (shm-broadcast-stall: the stall line, and any access line as
            # "while serving"): the rarest child is the anchor, the other plain lines only need to be somewhere
            best = max(r.matcher.children, key=selectivity)
            for c in r.matcher.children:
                if c is best or not as_marker(c):
                    walk(c)
        else:
            walk(r.matcher)
        if isinstance(r.confirm, NoneOf):
            for c in r.confirm.children:
                if not as_marker(c):
                    walk(c)
        elif r.confirm is not None:
            walk(r.confirm)
    # As anchors these kept 100 lines around every line of a busy server's access log (`confirm: none:` of the
    # request rules names access lines): the whole log went through the line-by-line walk, ~30x grep's time.
    markers = (*fact_literals(), *phases.LITERALS, *environment.LITERALS, *command.LITERALS, *values.LITERALS,
               *absent)
    out[Trigger(tuple(dict.fromkeys(markers)), kind=MARKER)] = None
    return list(out)


def literal_index(rules: Sequence[CompiledRule]) -> LiteralIndex:
    """Every literal the rules' text conditions, the fact extractors, the collect_env reader and the phase readers
    look up in an input's lines: one pass per input finds them all (see `LineIndex.known`)."""
    return LiteralIndex(*index_literals(rules))


def index_literals(rules: Sequence[CompiledRule]) -> tuple[list[str], list[str]]:
    """The literals of `literal_index`: those looked up as they are, and those looked up in lowercased lines."""
    # Every condition's literal sets, not only lines': `Context.impossible` asks for an exception's or a group's
    # too, and a set the scan looked for in full is answered without a search (one with a newline never is on
    # one line: left to the search, which says so)
    lits = [
        lit
        for r in rules
        for m in (*walk(r.matcher), *(walk(r.confirm) if r.confirm else ()))
        for lit in _asked(m)
        if isinstance(m, LineRegex) or not any("\n" in a for a in lit.alternatives or ())
    ] + [lit for r in rules for lit in r.required or ()]
    readers = (
        *fact_literals(), *guard_literals(), *environment.KEY_LITERALS, *environment.PACKAGE_LITERALS, *phases.LITERALS,
        *command.LITERALS, *command.SERVER_MARKERS, *values.LITERALS,
    )
    return (
        [*(a for lit in lits if not lit.ignore_case for a in lit.alternatives or ()), *readers],
        [*(a for lit in lits if lit.ignore_case for a in lit.alternatives or ()), *phases.FOLDED_LITERALS],
    )


def _asked(m: Matcher) -> Iterator[Literals]:
    """The literal sets `Context.impossible` is asked about when `m` is evaluated: a line condition's own, each
    child's of a group (kept by the group: asking each node for its `literals()` again cost ~3 ms a classifier)."""
    if isinstance(m, LineRegex):
        yield from m.literals() or ()
    elif isinstance(m, (All, AnyOf)):
        for needs in m.needs:
            yield from needs or ()


class Classifier:
    """Compile the rules once; `classify()` many inputs, from any thread."""

    def __init__(self, rules: Sequence[CompiledRule] | None = None) -> None:
        self.rules: tuple[CompiledRule, ...] = tuple(rules if rules is not None else load_rules())
        self.scanner = Scanner(ScanPlan.of(scan_triggers(self.rules)))
        exact, folded = index_literals(self.rules)
        self.literal_index = LiteralIndex(exact, folded)
        # the folded literals as they are, for the lowercased lines of a non-ASCII input (`with_folded`)
        self.lowered_index = LiteralIndex((a for a in folded if "\n" not in a), ())
        self.screen = RuleScreen(self.rules)

    # -- inputs -------------------------------------------------------------------------------------------
    def classify(
        self,
        data: LogData,
        *,
        source: str = "<text>",
        input_format: InputFormat = "auto",
        redact: bool = False,
        redact_hosts: bool = False,
    ) -> Report:
        """Classify a log (or a Markdown issue body) given as text, bytes, a text or binary file object, or an
        iterable of str or bytes lines. With `input_format="auto"` every kind is tested for an issue body the same
        way (`read.markdown.sniff_issue_body`: at most 1 MiB, with a fenced code block or <details>); "log" reads
        every line, "markdown" only the code blocks, <details> and log-shaped lines.

        `redact=True` removes tokens, API keys, passwords and e-mail addresses from the report (docs/redaction.md);
        `redact_hosts=True` also masks IP addresses and host names. Redaction runs before long lines are cut.
        """
        stats = ReadStats()
        if input_format == "markdown":
            text = b"".join(_bounded(chunks_from(data, stats=stats), MAX_MARKDOWN_BYTES)).decode("utf-8", "replace")
            return self._classify_markdown(text, source, (redact, redact_hosts), stats)
        chunks = chunks_from(data, stats=stats)
        if input_format == "auto":
            chunks, body = sniff_issue_body(chunks)
            if body is not None:
                return self._classify_markdown(body, source, (redact, redact_hosts), stats)
        return self.classify_chunks(chunks, source=source, redact=redact, redact_hosts=redact_hosts, stats=stats)

    def classify_path(
        self,
        path: str | os.PathLike[str],
        *,
        input_format: InputFormat = "auto",
        redact: bool = False,
        redact_hosts: bool = False,
        on_bytes: Callable[[int], None] | None = None,
    ) -> Report:
        """Classify a file (plain or gzip) or `-` for stdin. Raises `InputError` when it cannot be read; a damaged
        gzip file is read up to the damage, and the report's `error` says so.

        With `input_format="auto"`, a `.md` / `.markdown` file is read as a Markdown issue body; any other file and
        stdin are tested for one by their content, as `classify` tests text (the same bytes get the same answer).
        `redact` and `redact_hosts` as in `classify`.
        `on_bytes(n)`: progress, the bytes of a log scanned so far (not called for a Markdown body).
        """
        name = "<stdin>" if str(path) == "-" else str(path)
        stream = open_binary(path)  # the one open: a named pipe cannot be opened again
        try:
            report = self._classify_stream(stream, path, name, input_format, on_bytes, (redact, redact_hosts))
        finally:
            if str(path) != "-":
                stream.close()
        damage = getattr(stream, "damage", None)  # a damaged gzip file: what came before the damage was read
        if damage:
            report.error = f"{damage}; the report covers the {report.lines:,} lines before it"
        return report

    def _classify_stream(
        self,
        stream: BinaryIO,
        path: str | os.PathLike[str],
        name: str,
        input_format: InputFormat,
        on_bytes: Callable[[int], None] | None,
        redact: tuple[bool, bool],
    ) -> Report:
        stats = ReadStats()
        chunks = iter_chunks(stream, stats=stats)
        if input_format == "markdown" or (input_format == "auto" and name.lower().endswith((".md", ".markdown"))):
            text = b"".join(_bounded(chunks, MAX_MARKDOWN_BYTES)).decode("utf-8", "replace")
            return self._classify_markdown(text, name, redact, stats)
        regular = str(path) != "-" and is_regular_file(stream)
        size = os.fstat(stream.fileno()).st_size if regular else 0
        if input_format == "auto" and not (regular and size > ISSUE_BODY_MAX):
            chunks, body = sniff_issue_body(chunks)  # the same test as for stdin and classify(): an issue body
            if body is not None:
                return self._classify_markdown(body, name, redact, stats)
        if regular and size >= window.PARALLEL_MIN_BYTES:  # a large plain file: scanned in parallel byte ranges
            selection = self.scanner.select_file(path, on_bytes=on_bytes)  # (a small one is not: no second open)
            if selection is not None:
                return self.classify_selection(selection, source=name, redact=redact[0], redact_hosts=redact[1])
        return self.classify_chunks(
            chunks, source=name, on_bytes=on_bytes, redact=redact[0], redact_hosts=redact[1], stats=stats
        )

    def _classify_markdown(self, text: str, source: str, redact: tuple[bool, bool], stats: ReadStats) -> Report:
        """An issue body: only its code blocks, <details> and log-shaped lines are read (line numbers kept).
        `stats`: what reading its bytes shortened (long lines), said in the report's warnings."""
        return self.classify_chunks(chunks_from(log_lines_of_markdown(text)), source=source,
                                    redact=redact[0], redact_hosts=redact[1], stats=stats)

    # -- the pipeline -------------------------------------------------------------------------------------
    def classify_chunks(
        self,
        chunks: Iterable[bytes],
        *,
        source: str,
        on_bytes: Callable[[int], None] | None = None,
        redact: bool = False,
        redact_hosts: bool = False,
        stats: ReadStats | None = None,
    ) -> Report:
        """Select the relevant lines in one pass, parse them, evaluate the candidate rules, rank.
        `stats`: what the reader of these chunks shortened (`iter_chunks`), said in the report's warnings."""
        selection = self.scanner.select(chunks, on_bytes)
        if stats is not None:
            selection.read = stats
        return self.classify_selection(selection, source=source, redact=redact, redact_hosts=redact_hosts)

    def classify_selection(
        self, selection: Selection, *, source: str, redact: bool = False, redact_hosts: bool = False
    ) -> Report:
        lines = selection.lines
        index = LineIndex(lines)
        # where every rule, fact and phase literal is, in one pass (None: non-ASCII text, no Hyperscan)
        blob = index.haystack(True, False)[0]
        presence: Presence | None = self.literal_index.locate(blob, index.line_starts())
        if presence is None:  # too many occurrences to report one by one: which literals occur, still one pass
            presence = self.literal_index.presence(blob)
        if presence is not None:
            presence = with_folded(presence, self.lowered_index, index)
            index.known, index.screen = presence.known, literal_screen(presence)
        tracebacks = parse_tracebacks(selection.segments)
        timeline = phases.build_timeline(lines, index)
        ending = phases.ending_phase(lines, timeline, index)
        # collect_env output first: what the log itself says about the failing run wins
        facts = (
            environment.environment_facts(lines, index)
            + extract_facts(lines, index)
            + phases.hang_evidence(lines, timeline, index)
        )
        ctx = Context(
            lines=lines,
            tracebacks=tracebacks,
            exceptions=all_exceptions(tracebacks),
            facts=index_facts(facts),
            timeline=timeline,
            ending=ending,
            index=index,
            text_by_line={ln.number: ln.text for ln in reversed(lines)},
            presence=presence,
        )
        user_command = _Once(lambda: command.find_command(lines, index))
        inputs = Inputs(lines, index, ctx.facts, timeline, user_command, tracebacks=tracebacks)
        found: list[tuple[Diagnosis, int, Sequence[str]]] = []
        # Rules about where the log ends go last: a known cause that fired after the phase began is the error
        # that followed it, so the log did not stop in that phase. A rule one of whose literals occurs nowhere is
        # skipped unevaluated.
        for rule in self.screen.candidates(ctx):
            if rule.reads_ending and ctx.ending is not None and _failure_after(found, ctx.ending.start_line):
                ctx.ending = None
            ctx.begin(rule.id)
            result = rule.matcher.evaluate(ctx)
            if not result.ok:
                continue
            confirm = rule.confirm.evaluate(ctx) if rule.confirm is not None else None
            confirmed = confirm is None or confirm.ok
            hits = result.hits + (confirm.hits if confirm is not None and confirm.ok else [])
            found.append((_diagnosis(rule, hits, confirmed, inputs), rule.rule.priority, rule.rule.folds))
        diagnoses = rank(found)
        report = Report(
            source=source,
            diagnoses=diagnoses,
            unrecognized=find_unrecognized(ctx, diagnoses, self.rules),
            facts=summarize_facts(facts),
            timeline=timeline,
            lines=selection.total_lines,
            warnings=selection.warnings() + _out_of_time(ctx),
            command=user_command(),
        )
        return finish_report(report, redact=redact, redact_hosts=redact_hosts)  # redacted before lines are cut


def _out_of_time(ctx: Context) -> list[str]:
    return [
        f"rule {rid}: its regexes ran out of their {RULE_BUDGET_S:g} s time budget at line {line:,}; it was not "
        "matched further in this input (a slow pattern: docs/limits.md)"
        for rid, line in ctx.out_of_time.items()
    ]


def _failure_after(found: Sequence[tuple[Diagnosis, int, Sequence[str]]], line: int) -> bool:
    return any(d.severity is not Severity.info and any(e.line >= line for e in d.evidence) for d, _, _ in found)


class _Once:
    """The user's command, read from the log the first time something asks for it."""

    def __init__(self, read: Callable[[], Command | None]) -> None:
        self._read: Callable[[], Command | None] | None = read
        self._value: Command | None = None

    def __call__(self) -> Command | None:
        if self._read is not None:
            self._value, self._read = self._read(), None
        return self._value


def _diagnosis(rule: CompiledRule, hits: list[Hit], confirmed: bool, inputs: Inputs) -> Diagnosis:
    r = rule.rule
    captures: dict[str, str] = {}
    best: dict[int, Hit] = {}
    for h in sorted(hits, key=lambda h: (h.line, h.weight)):
        best.setdefault(h.line, h)
        for k, v in h.captures:
            captures.setdefault(k, v)
    evidence = [_evidence(h) for h in _pick_evidence(list(best.values()))]
    severity = r.severity if confirmed else Severity.info
    confidence = r.confidence if confirmed else min(r.confidence, NOTE_CONFIDENCE)
    lines = tuple(dict.fromkeys([e.line for e in evidence] + sorted(h.line for h in hits)))
    inputs = dataclasses.replace(inputs, hit_lines=lines, captures=captures)
    answer = compose(r, Filler(captures, inputs), inputs.command)
    return Diagnosis(
        id=r.id,
        title=answer.title,
        severity=severity,
        confidence=round(confidence, 2),
        evidence=evidence,
        captures=captures,
        cause=answer.cause,
        fix=answer.fix,
        docs=list(r.docs),
        probe=r.probe,
        tags=list(r.tags),
        role=r.role,
        values=answer.values,
        commands=answer.commands,
    )


def _evidence(hit: Hit) -> Evidence:
    text = hit.text.strip()  # whole: cut by finish_report, after redaction
    message = hit.message.strip() if hit.message is not None else None
    return Evidence(line=hit.line, text=text, message=message if message and message != text else None)


def _pick_evidence(hits: list[Hit]) -> list[Hit]:
    """The lines that show the failure itself first; frames and facts only when those are few."""
    primary = [h for h in hits if h.weight == 0]
    if len(primary) > MAX_EVIDENCE:  # where it began and where it ended
        primary = primary[: MAX_EVIDENCE - 1] + primary[-1:]
    rest = sorted((h for h in hits if h.weight > 0), key=lambda h: (h.weight, h.line))
    chosen = primary + rest[: max(0, MIN_EVIDENCE - len(primary))]
    return sorted(chosen, key=lambda h: h.line)



def _bounded(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    total = 0
    for c in chunks:
        total += len(c)
        if total > limit:
            return
        yield c
