"""Reduce a regex to literal text it cannot match without: the key to scanning once for hundreds of rules.

`required_literals(pattern)` returns a set of strings such that every match of the pattern contains at least
one of them, or None when no such set could be found (the rule is then evaluated on every input).
"""

from __future__ import annotations

import sys
from typing import Any

if sys.version_info >= (3, 11):
    import re._constants as sre_constants
    import re._parser as sre_parse
else:  # pragma: no cover - Python 3.10
    import sre_constants
    import sre_parse

MIN_LITERAL = 3  # shorter literals would select nearly every line
_LITERAL = sre_constants.LITERAL
_SUBPATTERN = sre_constants.SUBPATTERN
_BRANCH = sre_constants.BRANCH
_MAX_REPEAT = sre_constants.MAX_REPEAT
_MIN_REPEAT = sre_constants.MIN_REPEAT
_POSSESSIVE = getattr(sre_constants, "POSSESSIVE_REPEAT", None)
_ATOMIC = getattr(sre_constants, "ATOMIC_GROUP", None)


def _quality(alts: frozenset[str] | None) -> int:
    """How selective a literal set is: its shortest member's length (0 when useless)."""
    if not alts:
        return 0
    shortest = min(len(a) for a in alts)
    return shortest if shortest >= MIN_LITERAL else 0


def _best(candidates: list[frozenset[str]]) -> frozenset[str] | None:
    good = [c for c in candidates if _quality(c) > 0]
    if not good:
        return None
    return max(good, key=lambda c: (_quality(c), -len(c)))


def _seq(items: Any) -> frozenset[str] | None:
    """A sequence: the best of its literal runs and of its sub-items' required sets."""
    return _best(_seq_candidates(items))


def _seq_candidates(items: Any) -> list[frozenset[str]]:
    """Every literal run of a sequence and its sub-items' required sets: a match satisfies each of them."""
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append(frozenset(["".join(run)]))
            run.clear()

    for op, av in items:
        if op is _LITERAL:
            run.append(chr(av))
            continue
        if op is sre_constants.AT:
            continue  # ^ $ \b are zero-width: the literals around them are still adjacent in any match
        flush()
        sub = _item(op, av)
        if sub is not None:
            candidates.append(sub)
    flush()
    return candidates


def _item(op: Any, av: Any) -> frozenset[str] | None:
    if op is _SUBPATTERN:
        return _seq(av[-1])
    if _ATOMIC is not None and op is _ATOMIC:
        return _seq(av)
    if op is _BRANCH:
        alts: set[str] = set()
        for branch in av[1]:
            sub = _seq(branch)
            if sub is None or _quality(sub) == 0:
                return None
            alts |= sub
        return frozenset(alts)
    if op in (_MAX_REPEAT, _MIN_REPEAT) or (_POSSESSIVE is not None and op is _POSSESSIVE):
        low, _high, body = av
        if low >= 1:
            return _seq(body)
        return None
    return None


def _parse(pattern: str) -> tuple[Any, bool] | None:
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:  # regex-module-only syntax: no prefilter for this pattern
        return None
    return parsed, bool(parsed.state.flags & sre_constants.SRE_FLAG_IGNORECASE or "(?i" in pattern)


def every_required_literal_set(pattern: str) -> tuple[frozenset[str], ...]:
    """Sets of literals that every match contains one of each (lowercased for a case-insensitive pattern).

    `required_literals` picks the most selective set to find candidate lines fast; checking all of them on a
    candidate line rules out most lines before the regex runs (`File ".*_inductor.*\\.py", line` needs both).
    """
    found = _parse(pattern)
    if found is None:
        return ()
    parsed, folded = found
    sets = [c for c in _seq_candidates(parsed.data) if _quality(c) > 0]
    return tuple(frozenset(a.lower() for a in c) if folded else c for c in sets)


def plain_alternatives(pattern: str) -> frozenset[str] | None:
    """The alternatives of a pattern that is only literal text, or literals joined by `|` (`NCCL WARN|NCCL INFO`):
    a line matches it exactly when it contains one of them. None for any other pattern."""
    if "(?" in pattern:
        return None
    out: set[str] = set()
    for piece in pattern.split("|"):  # a `|` inside a group, a class or an escape leaves a piece that fails below
        found = _parse(piece)
        if found is None or found[1]:
            return None
        items = list(found[0].data)
        if not items or any(op is not _LITERAL for op, _ in items):
            return None
        out.add("".join(chr(av) for _, av in items))
    return frozenset(out)


def required_literals(pattern: str) -> frozenset[str] | None:
    """Literals, one of which every match must contain; None when the pattern offers none (or cannot be parsed)."""
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:  # regex-module-only syntax: no prefilter for this pattern
        return None
    if parsed.state.flags & sre_constants.SRE_FLAG_IGNORECASE or "(?i" in pattern:
        found = _seq(parsed.data)
        return frozenset(s.lower() for s in found) if found else None
    return _seq(parsed.data)
