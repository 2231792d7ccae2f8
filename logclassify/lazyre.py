"""Regexes compiled on first use, so that importing a module does not pay for patterns a run never needs.

`lazy(pattern, flags)` stands for `regex.compile(pattern, flags)`: the pattern is compiled the first time one of
the usual methods is called (a bad pattern raises `regex.error` then, so every module-level pattern is compiled
once by the test suite).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import regex


class LazyPattern:
    """A `regex.Pattern[str]` compiled the first time it is used."""

    __slots__ = ("_compiled", "flags", "source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self.source = source
        self.flags = flags
        self._compiled: regex.Pattern[str] | None = None

    def __getstate__(self) -> tuple[str, int]:  # pickled (in the rule cache) as its source: compiled again on use
        return (self.source, self.flags)

    def __setstate__(self, state: tuple[str, int]) -> None:
        self.source, self.flags = state
        self._compiled = None

    @property
    def compiled(self) -> regex.Pattern[str]:
        if self._compiled is None:
            self._compiled = regex.compile(self.source, self.flags)
        return self._compiled

    @property
    def pattern(self) -> str:
        return self.source

    def search(self, string: str, *args: Any, **kwargs: Any) -> regex.Match[str] | None:
        return (self._compiled or self.compiled).search(string, *args, **kwargs)

    def match(self, string: str, *args: Any, **kwargs: Any) -> regex.Match[str] | None:
        return (self._compiled or self.compiled).match(string, *args, **kwargs)

    def fullmatch(self, string: str, *args: Any, **kwargs: Any) -> regex.Match[str] | None:
        return (self._compiled or self.compiled).fullmatch(string, *args, **kwargs)

    def finditer(self, string: str, *args: Any, **kwargs: Any) -> Iterator[regex.Match[str]]:
        found: Iterator[regex.Match[str]] = (self._compiled or self.compiled).finditer(string, *args, **kwargs)
        return found

    def findall(self, string: str, *args: Any, **kwargs: Any) -> list[Any]:
        found: list[Any] = (self._compiled or self.compiled).findall(string, *args, **kwargs)
        return found

    def split(self, string: str, *args: Any, **kwargs: Any) -> list[str | Any]:
        parts: list[str | Any] = (self._compiled or self.compiled).split(string, *args, **kwargs)
        return parts

    def sub(self, repl: str | Callable[[regex.Match[str]], str], string: str, *args: Any, **kwargs: Any) -> str:
        out: str = (self._compiled or self.compiled).sub(repl, string, *args, **kwargs)
        return out

    def subn(
        self, repl: str | Callable[[regex.Match[str]], str], string: str, *args: Any, **kwargs: Any
    ) -> tuple[str, int]:
        out: tuple[str, int] = (self._compiled or self.compiled).subn(repl, string, *args, **kwargs)
        return out


def lazy(source: str, flags: int = 0) -> LazyPattern:
    """`regex.compile(source, flags)`, deferred to the first search, match, sub, split..."""
    return LazyPattern(source, flags)
