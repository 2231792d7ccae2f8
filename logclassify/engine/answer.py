"""A rule's text filled with the log's own values: placeholders, conditional fix steps, the corrected command.

Placeholders (documented in rules/README.md): `{NAME}` a capture of the rule's conditions, `{facts.NAME}` a fact
read from the log, `{values.NAME}` a value derived from the log (`engine.values`). Text that is not a placeholder,
such as a JSON example `{"level": 0}`, is left alone. A plain string keeps a placeholder it cannot fill as written
(the validator makes sure each name can be provided); a conditional step (`text` / `else`) uses `text` only when
every placeholder in it, and in its command changes, has a value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import regex

from logclassify.engine.loader import RuleInfo, Step
from logclassify.engine.placeholders import PLACEHOLDER, placeholders
from logclassify.engine.valueinputs import Inputs
from logclassify.engine.values import NAMES
from logclassify.models import Command, FixCommand, Value
from logclassify.parse.cmdline import apply, render, typed


@dataclass
class Filler:
    """Looks names up for one diagnosis and remembers the values it used (shown with their lines)."""

    captures: dict[str, str]
    inputs: Inputs | None = None
    used: dict[str, Value] = field(default_factory=dict)
    _derived: dict[Callable[[Inputs], dict[str, Value]], dict[str, Value]] = field(default_factory=dict)

    def lookup(self, name: str) -> str | None:
        if name.startswith("values."):
            return self._value(name[7:])
        if name.startswith("facts."):
            return self._fact(name[6:])
        return self.captures.get(name)

    def _value(self, name: str) -> str | None:
        deriver = NAMES.get(name)
        if deriver is None or self.inputs is None:
            return None
        found = self._derived.get(deriver)
        if found is None:
            found = self._derived[deriver] = deriver(self.inputs)
        value = found.get(name)
        if value is None:
            return None
        self.used.setdefault("values." + name, value)
        return value.value

    def _fact(self, name: str) -> str | None:
        facts = self.inputs.facts.get(name) if self.inputs is not None else None
        if not facts:
            return None
        fact = facts[-1]
        self.used.setdefault("facts." + name, Value(name="facts." + name, value=fact.value, about="read from the log",
                                                    lines=[fact.line]))
        return fact.value

    def fill(self, text: str, strict: bool = False) -> str | None:
        """The text with its placeholders filled. An unknown one: None when `strict`, else left as written."""
        if "{" not in text:
            return text
        missing = False

        def sub(m: regex.Match[str]) -> str:
            nonlocal missing
            value = self.lookup(str(m.group(1)))
            if value is None:
                missing = True
                return str(m.group(0))
            return value

        out = PLACEHOLDER.sub(sub, text)
        return None if strict and missing else out


@dataclass
class Answer:
    title: str
    cause: str
    fix: list[str]
    values: list[Value]
    commands: list[FixCommand]


def compose(rule: RuleInfo, filler: Filler, command: Callable[[], Command | None]) -> Answer:
    """The diagnosis's text: title, cause and fix steps filled, the values they used, and each step's command."""
    fix: list[str] = []
    commands: list[FixCommand] = []
    for step in rule.fix:
        text, edits = _step(step, filler)
        if text is None:
            continue
        fix.append(text)
        cmd = command() if edits else None
        if cmd is not None:
            args, changes = apply(cmd.args, edits)
            if changes:
                commands.append(FixCommand(step=len(fix), changes=changes, command=render(cmd, args)))
    title = filler.fill(rule.title) or rule.title
    cause = filler.fill(rule.cause.strip()) or rule.cause.strip()
    return Answer(title, cause, fix, list(filler.used.values()), commands)


def _step(step: Step, filler: Filler) -> tuple[str | None, list[tuple[str, str, object]]]:
    """The step's text (None: left out) and its command changes, filled."""
    if not step.conditional:
        return filler.fill(step.text.strip()), []
    before = dict(filler.used)
    ok = all(filler.lookup(w.name) in w.values for w in step.when)
    text = filler.fill(step.text.strip(), strict=True) if ok else None
    edits: list[tuple[str, str, object]] = []
    if text is not None:
        for e in step.edits:
            value = filler.fill(e.value, strict=True) if e.value is not None else None
            if e.value is not None and value is None:
                text = None
                break
            edits.append((e.action, e.name, typed(value) if value is not None else None))
    if text is not None:
        return text, edits
    filler.used = before  # the values of a step not shown are not part of the answer
    if step.otherwise is None:
        return None, []
    return filler.fill(step.otherwise.strip()), []


def step_names(step: Step) -> Sequence[str]:
    """Every name a step refers to: placeholders of its texts and edits, and its `when` conditions."""
    names = placeholders(step.text) + placeholders(step.otherwise or "")
    names += [n for e in step.edits for n in placeholders(e.value or "")]
    return names + [w.name for w in step.when]
