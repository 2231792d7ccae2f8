"""What a value's deriver reads (`Inputs`), how it finds its line, and how it states a value with its lines.

Shared by the derivers of `engine.values` (memory, parallel sizes, addresses) and `engine.requestvalues` (limits a
request or an adapter ran into).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from logclassify.models import Command, Phase, Value
from logclassify.parse.facts import Fact
from logclassify.parse.traceback import Traceback
from logclassify.read.lineindex import LineIndex
from logclassify.read.logline import LogLine


@dataclass
class Inputs:
    """What a deriver may read: the parsed input, the diagnosis's own lines and captures, the user's command."""

    lines: Sequence[LogLine]
    index: LineIndex
    facts: dict[str, list[Fact]]
    timeline: Sequence[Phase]
    command: Callable[[], Command | None]
    hit_lines: tuple[int, ...] = ()
    captures: dict[str, str] = field(default_factory=dict)
    tracebacks: Sequence[Traceback] = ()


Found = tuple[re.Match[str], LogLine]
Deriver = Callable[[Inputs], dict[str, Value]]


def find(inp: Inputs, literal: str, pattern: str) -> Found | None:
    """The match of `pattern` on a line holding `literal`: on the diagnosis's own lines first, else the last one."""
    rx = re.compile(pattern)
    best: Found | None = None
    for i in inp.index.lines_with(literal):
        line = inp.lines[i]
        m = rx.search(line.message)
        if m is None:
            continue
        if line.number in inp.hit_lines:
            return m, line
        best = (m, line)
    return best


def make_value(name: str, value: Any, about: str, *lines: int) -> Value:
    """A value as the answer shows it, with the input lines it comes from (sorted, once each)."""
    return Value(name=name, value=str(value), about=about, lines=sorted(set(lines)))


