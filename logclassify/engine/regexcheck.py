"""Limits on a rule's regexes, checked before anything is compiled, and the shapes that backtrack catastrophically.

A rule folder may come from anyone: a 10 MB pattern of 500k alternatives took 96 s and 2.4 GB to compile, and a
nested quantifier such as `(a+)+` takes exponential time on a line that almost matches. `check_pattern` refuses
both at load time with a message that the loader prefixes with file, line, rule id and field. The shapes are the
textbook ones that can be recognised from the parsed pattern without false alarms on the built-in rules (a test
checks that); a slow pattern that slips through is still stopped by the per-rule time budget (`match.py`).
docs/limits.md lists the limits.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

if sys.version_info >= (3, 11):
    import re._constants as sre_constants
    import re._parser as sre_parse
else:  # pragma: no cover - Python 3.10
    import sre_constants
    import sre_parse

MAX_PATTERN_CHARS = 4096
MAX_ALTERNATIVES = 512  # `|` in one pattern
_TRIAL_LENGTH = 30  # characters of a trial line: exponential patterns take seconds there, others microseconds
_TRIAL_TIMEOUT_S = 0.1
_TRIAL_CHARS = 16
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT)
_ASCII = [chr(c) for c in range(128)]
_CATEGORIES: dict[Any, Callable[[str], bool]] = {
    sre_constants.CATEGORY_DIGIT: str.isdigit,
    sre_constants.CATEGORY_NOT_DIGIT: lambda c: not c.isdigit(),
    sre_constants.CATEGORY_SPACE: str.isspace,
    sre_constants.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
    sre_constants.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
    sre_constants.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
}


def check_pattern(pattern: str, flags: int = 0) -> None:
    """Raise ValueError naming the limit or the catastrophic shape; cheap checks first, before any compiling."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"pattern of {len(pattern):,} characters, above the limit of {MAX_PATTERN_CHARS:,} "
                         "(docs/limits.md)")
    bars = _alternatives(pattern)
    if bars > MAX_ALTERNATIVES:
        raise ValueError(f"pattern with {bars:,} alternatives (|), above the limit of {MAX_ALTERNATIVES:,} "
                         "(docs/limits.md)")
    problem = catastrophic(pattern, flags)
    if problem is not None:
        raise ValueError(f"pattern can take exponential time (catastrophic backtracking): {problem}; "
                         "make the repeated part unambiguous, or use an atomic group (?>...) or a possessive a++")


def _alternatives(pattern: str) -> int:
    """The `|` outside character classes and escapes."""
    count = 0
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern.startswith("]", i + 1) or pattern.startswith("^]", i + 1):
                i += 1 + (pattern[i + 1] == "^")
        elif c == "|":
            count += 1
        i += 1
    return count


def catastrophic(pattern: str, flags: int = 0) -> str | None:
    """What makes the pattern backtrack exponentially, or None (also for syntax only the `regex` module knows).

    Two ways: the parsed shape (a quantifier nested in another), and a trial: the pattern run with a short timeout
    on lines made of its own characters repeated, then a character it cannot match (where backtracking explodes).
    """
    try:
        parsed: list[Any] = list(sre_parse.parse(pattern))  # type: ignore[call-overload]
    except Exception:  # the regex module's own syntax: the time budget still applies
        return None
    return _walk(parsed) or _trial(pattern, flags, parsed)


def _trial(pattern: str, flags: int, parsed: list[Any]) -> str | None:
    import regex

    try:
        compiled = regex.compile(pattern, flags | regex.V0)
    except regex.error:
        return None  # the caller reports the syntax error
    prefix = "".join(chr(av) for op, av in _unwrap(parsed)[:64] if op is sre_constants.LITERAL)
    chars: dict[str, None] = {}
    _collect(parsed, chars)
    alphabet = list(chars)[:_TRIAL_CHARS]
    pieces = alphabet + [a + b for a in alphabet[:6] for b in alphabet[:6] if a != b]
    for piece in pieces:
        line = prefix + piece * (_TRIAL_LENGTH // len(piece)) + "\x00"
        try:
            compiled.search(line, timeout=_TRIAL_TIMEOUT_S)
        except TimeoutError:
            return f"over {_TRIAL_TIMEOUT_S * 1000:.0f} ms on the {len(line)}-character line {line!r}"
    return None


def _collect(items: list[Any], out: dict[str, None]) -> None:
    """Characters the pattern can match, one or two per character class."""
    for op, av in items:
        if op in _REPEATS:
            _collect(list(av[2]), out)
        elif op is sre_constants.SUBPATTERN:
            _collect(list(av[-1]), out)
        elif op is sre_constants.BRANCH:
            for alt in av[1]:
                _collect(list(alt), out)
        elif op in (sre_constants.LITERAL, sre_constants.IN, sre_constants.ANY):
            chars = _chars((op, av))
            for c in sorted(chars or ())[:2]:
                out.setdefault(c, None)


def _unwrap(items: list[Any]) -> list[Any]:
    while len(items) == 1 and items[0][0] is sre_constants.SUBPATTERN:
        items = list(items[0][1][-1])
    return items


def _unbounded(item: Any) -> bool:
    op, av = item
    return op in _REPEATS and av[1] == sre_constants.MAXREPEAT


def _optional(item: Any) -> bool:
    op, av = item
    return op in _REPEATS and av[0] == 0


def _walk(items: list[Any]) -> str | None:
    for op, av in items:
        if op in _REPEATS:
            body = _unwrap(list(av[2]))
            if av[1] == sre_constants.MAXREPEAT:
                problem = _repeated_body(body)
                if problem is not None:
                    return problem
            found = _walk(list(av[2]))
        elif op is sre_constants.SUBPATTERN:
            found = _walk(list(av[-1]))
        elif op is sre_constants.BRANCH:
            found = next((p for alt in av[1] if (p := _walk(list(alt))) is not None), None)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            found = _walk(list(av[1]))
        else:
            continue
        if found is not None:
            return found
    return None


def _repeated_body(body: list[Any]) -> str | None:
    """The body of an unbounded repeat: ambiguous when one unbounded repeat inside is all that it needs (the
    characters can be split between the inner and outer repeat in exponentially many ways), or when two of its
    alternatives can match the same text."""
    for k, item in enumerate(body):
        if _unbounded(item) and all(_optional(other) for j, other in enumerate(body) if j != k):
            return "a quantifier nested inside another, such as (a+)+ or (a*b?)*"
    if len(body) == 1 and body[0][0] is sre_constants.BRANCH:
        alts = [_unwrap(list(a)) for a in body[0][1][1]]
        for i, a in enumerate(alts):
            for b in alts[i + 1 :]:
                if _overlap(a, b):
                    return "alternatives that match the same text inside a quantifier, such as (a|a)* or (a|ab)*"
    return None


def _overlap(a: list[Any], b: list[Any]) -> bool:
    """Two alternatives that certainly share a match: equal, one literal text a prefix of the other, or two single
    characters with a character in common."""
    if str(a) == str(b):
        return True
    la, lb = _literal(a), _literal(b)
    if la is not None and lb is not None and la and lb and (la.startswith(lb) or lb.startswith(la)):
        return True
    if len(a) == 1 and len(b) == 1:
        sa, sb = _chars(a[0]), _chars(b[0])
        return sa is not None and sb is not None and bool(sa & sb)
    return False


def _literal(items: list[Any]) -> str | None:
    if all(op is sre_constants.LITERAL for op, _ in items):
        return "".join(chr(av) for _, av in items)
    return None


def _chars(item: Any) -> set[str] | None:
    """The ASCII characters one single-character item matches, or None when it is not one."""
    op, av = item
    if op is sre_constants.LITERAL:
        return {chr(av)} if av < 128 else set()
    if op is sre_constants.ANY:
        return set(_ASCII) - {"\n"}
    if op is sre_constants.IN:
        out: set[str] = set()
        negate = False
        for sub_op, sub_av in av:
            if sub_op is sre_constants.NEGATE:
                negate = True
            elif sub_op is sre_constants.LITERAL:
                out |= {chr(sub_av)} if sub_av < 128 else set()
            elif sub_op is sre_constants.RANGE:
                out |= {c for c in _ASCII if sub_av[0] <= ord(c) <= sub_av[1]}
            elif sub_op is sre_constants.CATEGORY and sub_av in _CATEGORIES:
                out |= {c for c in _ASCII if _CATEGORIES[sub_av](c)}
            else:
                return None
        return set(_ASCII) - out if negate else out
    return None
