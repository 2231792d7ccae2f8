"""Which rules can hold on an input, decided for all rules at once from the literals the one-pass scan found.

Each rule needs one alternative of each of its literal sets (`CompiledRule.required`) somewhere in the input. Asked
rule by rule (`Context.impossible`), that is a few hundred set tests per input, as costly as classifying a small log
itself. Here the sets are numbered once per rule pack, and for one input the sets satisfied are those holding a
literal the scan found (a few dozen look-ups); a rule is ruled out when one of its sets was looked for in full and
not satisfied. Sets the scan did not look for in full (a non-ASCII input's folded literals) are asked as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from logclassify.engine.match import Context, Literals
from logclassify.read.lineindex import LineIndex, Screen
from logclassify.select import LiteralIndex, Located, Presence

if TYPE_CHECKING:
    from logclassify.engine.loader import CompiledRule


def with_folded(presence: Presence, lowered: LiteralIndex, index: LineIndex) -> Presence:
    """A non-ASCII input's `Located`, completed with the folded literals: Hyperscan's caseless match folds ASCII
    only, so the scan leaves them to one search each of the lowercased lines (`LineIndex.lines_with(lit, True)`);
    `lowered` (the folded literals, without those holding a newline) finds them all in one pass of those same
    lowercased lines, on the same rows. Any other answer is returned as it is."""
    if presence.ascii_text or not isinstance(presence, Located):
        return presence
    found = lowered.locate(index.haystack(True, True)[0], index.line_starts(True))
    if found is None:
        return presence
    rows = dict(presence.rows)
    rows.update(((lit, True), r) for (lit, _), r in found.rows.items())
    return Located(presence.exact, found.exact, presence.indexed_exact, found.indexed_exact, False, rows)


def literal_screen(presence: Presence) -> Screen:
    """`LineIndex.screen` from one input's literal scan: of many literals, those it did not rule out, in their order.
    A literal is ruled out as `Presence.known` rules it out (looked for and not found, or not ASCII in an ASCII text),
    here with set look-ups only, not a call per literal."""
    indexed = (presence.indexed_exact, presence.indexed_folded)
    found = (presence.exact, presence.folded)
    ascii_text = presence.ascii_text

    def screen(literals: Iterable[str], folded: bool) -> list[str]:
        seen, looked_for = found[folded], indexed[folded]
        return [a for a in literals if (a in seen or a not in looked_for) and (not ascii_text or a.isascii())]

    return screen


class RuleScreen:
    """The rules in evaluation order (those reading where the log ends last), and which of them an input rules out."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        # Rules about where the log ends go last: a known cause that fired after the phase began is the error that
        # followed it, so the log did not stop in that phase (Classifier.classify_selection).
        self.order: tuple[CompiledRule, ...] = tuple(sorted(rules, key=lambda r: r.reads_ending))
        numbers: dict[Literals, int] = {}
        needs: list[frozenset[int]] = []
        for rule in self.order:
            # a set with the empty alternative, or none, is satisfied by any input (as in Context.impossible)
            sets = [lit for lit in rule.required or () if lit.alternatives and "" not in lit.alternatives]
            needs.append(frozenset(numbers.setdefault(lit, len(numbers)) for lit in sets))
        self._needs = tuple(needs)
        self._sets = tuple(numbers)  # set number -> its literals
        self._holding: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})  # exact, folded: literal -> sets
        for n, lit in enumerate(self._sets):
            for a in lit.alternatives or ():
                self._holding[lit.ignore_case].setdefault(a, []).append(n)
        # per (indexed exact, indexed folded) of a Presence: what it decides (a cache: two threads filling it at
        # once store the same answer)
        self._plans: dict[tuple[frozenset[str], frozenset[str]], _Plan] = {}

    def candidates(self, ctx: Context) -> Iterator[CompiledRule]:
        """The rules in evaluation order, less those that cannot hold on `ctx`'s input (same answer as asking
        `ctx.impossible(rule.required)` for each)."""
        presence = ctx.presence
        if presence is None:
            for rule in self.order:
                if not ctx.impossible(rule.required):
                    yield rule
            return
        plan = self._plan(presence.indexed_exact, presence.indexed_folded)
        met: dict[int, int] = {}  # rule -> how many of its decided sets the input satisfies
        sets_met: set[int] = set()
        for found, holding in ((presence.exact, self._holding[False]), (presence.folded, self._holding[True])):
            for a in found:
                for n in holding.get(a, ()):
                    if n not in sets_met:
                        sets_met.add(n)
                        for i in plan.rules_needing.get(n, ()):
                            met[i] = met.get(i, 0) + 1
        wanted = plan.wanted
        possible = plan.free + [i for i, k in met.items() if k == wanted[i]]
        possible.sort()
        for i in possible:
            asked = plan.asked[i]
            if asked and ctx.impossible(asked):
                continue
            yield self.order[i]

    def _plan(self, exact: frozenset[str], folded: frozenset[str]) -> _Plan:
        key = (exact, folded)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan.of(self._sets, self._needs, exact, folded)
        return plan


@dataclass(frozen=True)
class _Plan:
    """For one set of literals looked for: rule (by index) <- the decided sets it needs, counted."""

    rules_needing: dict[int, list[int]]  # decided set -> the rules needing it
    wanted: list[int]  # rule -> how many decided sets it needs
    free: list[int]  # the rules needing no decided set
    asked: list[list[Literals]]  # rule -> the sets it needs that were not looked for in full: searched per input

    @classmethod
    def of(cls, sets: Sequence[Literals], needs: Sequence[frozenset[int]], exact: frozenset[str],
           folded: frozenset[str]) -> _Plan:
        decided = {n for n, lit in enumerate(sets)
                   if (lit.alternatives or frozenset()) <= (folded if lit.ignore_case else exact)}
        rules_needing: dict[int, list[int]] = {}
        for i, ns in enumerate(needs):
            for n in ns & decided:
                rules_needing.setdefault(n, []).append(i)
        wanted = [len(ns & decided) for ns in needs]
        return cls(rules_needing, wanted, [i for i, k in enumerate(wanted) if k == 0],
                   [[sets[n] for n in sorted(ns - decided)] for ns in needs])
