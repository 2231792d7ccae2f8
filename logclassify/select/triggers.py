"""What the scan looks for: triggers and their kinds, and the check that a candidate line really matches.

Both backends only find candidate lines (a literal, or a regex run as a Hyperscan prefilter); `Verifier` decides in
Python, so that either backend keeps exactly the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import regex

VERIFY_TIMEOUT_S = 0.25  # a regex that takes longer on one line counts as a match (the line is kept) ...
MAX_TIMEOUTS = 3  # ... and after this many timeouts its literals alone decide

ANCHOR, TRACEBACK, MARKER = 0, 1, 2
# Raw lines that the normaliser rewrites before rules see them: matched on literals only.
ESCAPES: tuple[bytes, ...] = (b"\x1b", b"^[[", b"#033[", b"\\033[", b"\\x1b[", b"\\u001b[", b"\\e[", b'"MESSAGE"')
_ESCAPES_STR = tuple(e.decode() for e in ESCAPES)


@dataclass(frozen=True)
class Trigger:
    """Text that makes a line worth keeping. `literals`: one of them occurs in every matching line."""

    literals: tuple[str, ...]
    regex: str | None = None  # searched in the raw line when given (anchors stripped)
    ignore_case: bool = False
    kind: int = ANCHOR


def strip_anchors(pattern: str) -> str:
    """The pattern with ^ $ \\A \\Z \\z removed (a superset of its matches) and `{,n}` spelled `{0,n}`."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if not in_class and nxt in "AZz":
                i += 2
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("]")
                i += 1
            continue
        if c in "^$":
            i += 1
            continue
        if c == "{" and pattern.startswith("{,", i):
            out.append("{0,")
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


class Verifier:
    """Decides whether a candidate line really matches an anchor trigger (its regex is compiled on first use)."""

    __slots__ = ("_compiled", "_pattern", "flags", "source", "timeouts")

    def __init__(self, trig: Trigger) -> None:
        self.source = trig.regex
        self.flags = regex.V0 | (regex.IGNORECASE if trig.ignore_case else 0)
        self._pattern: Any = None
        self._compiled = trig.regex is None
        self.timeouts = 0

    @property
    def pattern(self) -> Any:
        """The compiled regex, or None: no regex, one that does not compile, or one given up on after timeouts."""
        if not self._compiled:
            self._compiled = True
            try:
                self._pattern = regex.compile(strip_anchors(self.source or ""), self.flags)
            except regex.error:
                self._pattern = None
        return self._pattern

    def __call__(self, text: str) -> bool:
        pattern = self.pattern
        if pattern is None:
            return True
        if any(e in text for e in _ESCAPES_STR):
            return True
        try:
            return pattern.search(text, timeout=VERIFY_TIMEOUT_S) is not None
        except TimeoutError:
            self.timeouts += 1
            if self.timeouts >= MAX_TIMEOUTS:  # a pathological regex: its literals alone decide from now on
                self._pattern = None
            return True
