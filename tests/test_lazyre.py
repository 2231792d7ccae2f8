"""Patterns compiled on first use still compile: a typo must fail here, not in the first run that needs it."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from logclassify.lazyre import LazyPattern, lazy

MODULES = [
    "logclassify.select.window",
    "logclassify.engine.unknown",
    "logclassify.parse.environment",
    "logclassify.parse.facts",
    "logclassify.parse.phases.clock",
    "logclassify.parse.phases.markers",
    "logclassify.parse.phases.progress",
    "logclassify.redact",
    "logclassify.parse.traceback",
    "logclassify.read.markdown",
    "logclassify.read.normalize",
]


def _patterns(value: Any, depth: int = 0) -> list[LazyPattern]:
    if isinstance(value, LazyPattern):
        return [value]
    if depth < 3 and isinstance(value, (list, tuple)):
        return [p for v in value for p in _patterns(v, depth + 1)]
    if depth < 3 and not isinstance(value, type) and hasattr(value, "__dataclass_fields__"):
        return [p for f in value.__dataclass_fields__ for p in _patterns(getattr(value, f), depth + 1)]
    return []


@pytest.mark.parametrize("name", MODULES)
def test_module_patterns_compile(name: str) -> None:
    module = importlib.import_module(name)
    found = [p for v in vars(module).values() for p in _patterns(v)]
    assert found
    for p in found:
        assert p.compiled.pattern == p.source


def test_lazy_pattern_behaves_like_compiled() -> None:
    p = lazy(r"(?P<n>\d+)x", 0)
    m = p.search("ab 12x")
    assert m is not None and m["n"] == "12"
    assert p.sub("-", "1x 2x") == "- -"
    assert p.split("a1xb") == ["a", "1", "b"]
    assert [m[0] for m in p.finditer("1x2x")] == ["1x", "2x"]
    assert p.match("x") is None and p.fullmatch("3x") is not None
