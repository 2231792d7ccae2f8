"""Checks that catch a rule which validates but cannot work: one small check per problem, each with a message and a
severity, some across rules (in the manner of pySigma's validators).

`error` findings stop the load (the rule would never fire, or fire wrongly); `warning` findings are printed by
`logclassify rules validate` and do not. Each names the file, the line, the rule and the field. The checks that need
fixtures (a condition no fixture exercises) live in `engine.fixtures`, which has them.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logclassify.engine.schema import (
    AllCond,
    AnyCond,
    FactCond,
    LogEndsInCond,
    NoneCond,
    RegexCond,
    Rule,
)
from logclassify.vocab.located import Loc, display, field_path, line_of


@dataclass(frozen=True)
class ParsedRule:
    """A rule file that passed the schema: the rule, where it is, and the line of each of its fields."""

    rule: Rule
    path: Path
    lines: dict[Loc, int] = field(default_factory=dict)

    def line(self, loc: Sequence[int | str]) -> int | None:
        return line_of(self.lines, loc)


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" | "warning"
    check: str  # the check's name, e.g. unknown-fact
    path: Path
    rule: str
    loc: Loc
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = display(self.path) + (f":{self.line}" if self.line else "")
        kind = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: rule {self.rule}: {field_path(self.loc)}: {kind}{self.message} [{self.check}]"


@dataclass(frozen=True)
class Known:
    """What rules may name: facts (a predicate, for `env.*`), phases, probes (None: not checked) and rule ids."""

    fact: Callable[[str], bool]
    fact_names: tuple[str, ...]
    phases: tuple[str, ...]
    probes: Collection[str] | None = None


def did_you_mean(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def conditions(cond: Any, loc: Loc, negated: bool = False) -> Iterator[tuple[Loc, Any, bool]]:
    """Every condition under `cond` with its location and whether it sits inside a `none`."""
    yield loc, cond, negated
    for key, cls in (("all", AllCond), ("any", AnyCond), ("none", NoneCond)):
        if isinstance(cond, cls):
            for i, child in enumerate(getattr(cond, key)):
                yield from conditions(child, (*loc, key, i), negated or key == "none")


def _rule_conditions(p: ParsedRule) -> Iterator[tuple[Loc, Any, bool]]:
    yield from conditions(p.rule.match, ("match",))
    if p.rule.confirm is not None:
        yield from conditions(p.rule.confirm, ("confirm",))


def _finding(p: ParsedRule, severity: str, check: str, loc: Loc, message: str) -> Finding:
    return Finding(severity, check, p.path, p.rule.id, loc, message, p.line(loc))


# -- one rule -------------------------------------------------------------------------------------------------


def unknown_fact(p: ParsedRule, known: Known) -> Iterator[Finding]:
    for loc, cond, _ in _rule_conditions(p):
        if isinstance(cond, FactCond) and not known.fact(cond.fact.name):
            hint = did_you_mean(cond.fact.name, known.fact_names)
            yield _finding(p, "error", "unknown-fact", (*loc, "fact", "name"),
                           f"no fact {cond.fact.name!r} is read from logs{hint}; see rules/_vocab/facts.yaml")


def unknown_phase(p: ParsedRule, known: Known) -> Iterator[Finding]:
    for loc, cond, _ in _rule_conditions(p):
        if isinstance(cond, LogEndsInCond):
            for i, phase in enumerate(cond.log_ends_in):
                if phase not in known.phases:
                    hint = did_you_mean(phase, known.phases)
                    yield _finding(p, "error", "unknown-phase", (*loc, "log_ends_in", i),
                                   f"unknown phase {phase!r}{hint}; phases: {', '.join(known.phases)}")


def unknown_probe(p: ParsedRule, known: Known) -> Iterator[Finding]:
    if known.probes is not None and p.rule.probe is not None and p.rule.probe not in known.probes:
        hint = did_you_mean(p.rule.probe, known.probes)
        yield _finding(p, "error", "unknown-probe", ("probe",),
                       f"no probe {p.rule.probe!r}{hint}; probes: {', '.join(sorted(known.probes))}")


def confirm_repeats_match(p: ParsedRule, known: Known) -> Iterator[Finding]:
    if p.rule.confirm is not None and p.rule.confirm == p.rule.match:
        yield _finding(p, "warning", "confirm-equals-match", ("confirm",),
                       "`confirm` repeats `match`, so it always holds: leave it out")


# Raw line starts that normalisation strips (each checked by a test against `read.normalize`), and message starts
# that it keeps. A regex anchored at `^` that can begin matching one of the first and none of the second is anchored
# on a prefix: it never matches a message (use `scope: line`, or drop the prefix from the pattern).
STRIPPED_PREFIXES = (
    "INFO 06-10 21:32:17 [api_server.py:88] ",
    "ERROR 06-10 21:32:17 [core.py:88] ",
    "WARNING 06-10 21:32:17 llm_engine.py:88] ",
    "(VllmWorker rank=1 pid=9) ",
    "(RayWorkerWrapper pid=1, ip=10.0.0.2) ",
    "(EngineCore_0 pid=7) ",
    "[rank0]: ",
    "2024-06-10T21:32:17.123456789Z ",
    "Jun 10 21:32:17 host vllm[123]: ",
    "ERROR: ",
)
MESSAGE_STARTS = ("x", "Xy", "Error: x", "ERROR x", "INFO x", "WARNING x", "1 x", "[x", "(x")


def anchored_on_prefix(p: ParsedRule, known: Known) -> Iterator[Finding]:
    import regex

    for loc, cond, _ in _rule_conditions(p):
        if not isinstance(cond, RegexCond) or cond.scope != "message" or not cond.regex.startswith(("^", "\\A")):
            continue
        pattern = regex.compile(cond.regex, regex.V0 | (regex.IGNORECASE if cond.ignore_case else 0))
        prefix = next((s for s in STRIPPED_PREFIXES if pattern.match(s, partial=True)), None)
        if prefix is not None and not any(pattern.match(s, partial=True) for s in MESSAGE_STARTS):
            yield _finding(p, "error", "anchored-on-prefix", (*loc, "regex"),
                           f"anchored on a log prefix ({prefix.strip()!r}) that is stripped before matching, so it "
                           "never matches; drop the prefix from the pattern or add `scope: line`")


def short_literal(p: ParsedRule, known: Known) -> Iterator[Finding]:
    """A condition with no literal is only seen near other matches (a scan-speed note, kept from before)."""
    from logclassify.engine.literals import MIN_LITERAL
    from logclassify.engine.match import compile_condition

    for loc, cond, _ in _rule_conditions(p):
        if isinstance(cond, RegexCond) and not compile_condition(cond).literals():
            yield _finding(p, "warning", "no-literal", (*loc, "regex"),
                           f"regex {cond.regex!r} contains no literal of {MIN_LITERAL}+ characters; its lines are only "
                           "seen near other matches (anchor it on distinctive text)")


def captures_of(p: ParsedRule) -> set[str]:
    """Every capture a condition of the rule can provide: named groups, fact values, the ending phase."""
    import regex

    from logclassify.engine.schema import ExceptionCond

    names: set[str] = set()
    for _, cond, negated in _rule_conditions(p):
        if negated:
            continue
        if isinstance(cond, RegexCond):
            names.update(regex.compile(cond.regex, regex.V0).groupindex)
        elif isinstance(cond, ExceptionCond):
            if cond.exception.message is not None:
                names.update(regex.compile(cond.exception.message, regex.V0).groupindex)
            if cond.exception.raised_in is not None:
                names.update(("raised_type", "raised_file", "raised_line", "raised_function"))
            if (inner := cond.exception.innermost) is not None:
                names.update(("innermost_file", "innermost_line", "innermost_function"))
                if inner.file is not None:
                    names.update(regex.compile(inner.file, regex.V0).groupindex)
        elif isinstance(cond, FactCond):
            names.add(cond.fact.name.replace(".", "_"))
        elif isinstance(cond, LogEndsInCond):
            names.update(("phase", "elapsed"))
    return names


def _texts(p: ParsedRule) -> Iterator[tuple[Loc, str, bool]]:
    """Every text of the rule that may hold placeholders, where it is, and whether it may use a value that can be
    missing (a conditional step's `text`, its edits and conditions: it has a fallback)."""
    from logclassify.engine.schema import FixStep

    yield ("title",), p.rule.title, False
    yield ("cause",), p.rule.cause, False
    for i, step in enumerate(p.rule.fix):
        if not isinstance(step, FixStep):
            yield ("fix", i), step, False
            continue
        yield ("fix", i, "text"), step.text, True
        if step.otherwise is not None:
            yield ("fix", i, "else"), step.otherwise, False
        for key in ("set", "add"):
            for name, value in getattr(step, key).items():
                yield ("fix", i, key, name), str(value), True
        for name in step.when:
            yield ("fix", i, "when", name), "{" + name + "}", True


def unknown_placeholder(p: ParsedRule, known: Known) -> Iterator[Finding]:
    """`{name}` must be a capture of the rule's conditions, `{facts.NAME}` a fact, `{values.NAME}` a derived value;
    a fact or value can be missing from a log, so it belongs in a conditional step (`text` with an `else`)."""
    from logclassify.engine.placeholders import placeholders
    from logclassify.engine.values import NAMES

    caps = captures_of(p)
    for loc, text, conditional in _texts(p):
        for name in placeholders(text):
            kind, _, rest = name.partition(".")
            if kind == "values" and rest not in NAMES:
                msg = f"no derived value {rest!r}{did_you_mean(rest, NAMES)}; values: {', '.join(sorted(NAMES))}"
            elif kind == "facts" and not known.fact(rest):
                msg = f"no fact {rest!r}{did_you_mean(rest, known.fact_names)}; see rules/_vocab/facts.yaml"
            elif not rest and name not in caps:
                choices = ", ".join(sorted(caps)) or "none"
                msg = (f"{{{name}}} is no capture of this rule's conditions{did_you_mean(name, caps)} (captures: "
                       f"{choices}); a fact is {{facts.NAME}}, a derived value {{values.NAME}}")
            elif rest and not conditional:
                msg = (f"{{{name}}} may be missing from a log: use it in a conditional step (`text:` with the "
                       "generic wording in `else:`)")
            else:
                continue
            line = p.line(loc) or p.line(loc[:2]) or p.line(loc[:1])
            yield Finding("error", "unknown-placeholder", p.path, p.rule.id, loc, msg, line)


RULE_CHECKS: tuple[Callable[[ParsedRule, Known], Iterator[Finding]], ...] = (
    unknown_fact, unknown_phase, unknown_probe, confirm_repeats_match, anchored_on_prefix, short_literal,
    unknown_placeholder,
)


# -- across rules ---------------------------------------------------------------------------------------------


def folds_unknown(rules: Sequence[ParsedRule], context: Collection[str]) -> Iterator[Finding]:
    ids = {p.rule.id for p in rules} | set(context)
    for p in rules:
        for i, target in enumerate(p.rule.folds):
            if not any(rid == target or rid.startswith(target + ".") for rid in ids):
                yield _finding(p, "warning", "folds-unknown", ("folds", i),
                               f"folds {target!r}, which no loaded rule is{did_you_mean(target, ids)}")


def same_signature(rules: Sequence[ParsedRule], context: Sequence[ParsedRule]) -> Iterator[Finding]:
    """Two rules with the same `match` fire together always: one of them is a copy."""
    seen: dict[str, ParsedRule] = {}
    for p in (*context, *rules):
        key = json.dumps(p.rule.match.model_dump(mode="json", exclude_defaults=True), sort_keys=True)
        first = seen.setdefault(key, p)
        if first is not p and p in rules:
            yield _finding(p, "error", "same-signature", ("match",),
                           f"same `match` as rule {first.rule.id} ({display(first.path)}): merge them, or tell "
                           "them apart")


def validate(rules: Sequence[ParsedRule], known: Known, context: Sequence[ParsedRule] = (),
             context_ids: Collection[str] = ()) -> list[Finding]:
    """Every finding about `rules`; `context` holds rules loaded with them (the built-in ones, for a user folder)."""
    out: list[Finding] = []
    for p in rules:
        for check in RULE_CHECKS:
            out.extend(check(p, known))
    out.extend(folds_unknown(rules, {*context_ids, *(c.rule.id for c in context)}))
    out.extend(same_signature(rules, context))
    return out


def default_known(probes: Collection[str] | None = None) -> Known:
    """What the package reads: the vocabulary's facts and phases."""
    from logclassify.parse.facts import TYPES, known_fact
    from logclassify.parse.phases import PHASES

    return Known(known_fact, tuple(TYPES), PHASES, probes)
