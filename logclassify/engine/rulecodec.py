"""Compiled rules as plain JSON data and back, so that the rule cache never runs code it reads (no pickle).

Encoding and decoding follow the types: the dataclasses' annotations (`CompiledRule`, `RuleInfo`) and, for the
matcher classes, the attribute table below. Objects are stored as arrays in field order (a matcher's first item
names its class), and equal `Literals` once, in a table. Decoding rebuilds only these classes, checks every value
against its type, and raises `CacheShapeError` at the first mismatch: a damaged or foreign file means "compile the
rules again", never a traceback later. A matcher class or attribute missing from the table makes encoding fail (no
cache, a slower start); `tests/test_rulecache.py` names it.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from logclassify.engine.loader import CompiledRule, Edit, RuleInfo, Step, When
from logclassify.engine.match import (
    All,
    AnyOf,
    ExceptionMatch,
    FactMatch,
    FrameMatch,
    LineRegex,
    Literals,
    LogEndsIn,
    Matcher,
    NoneOf,
)
from logclassify.lazyre import LazyPattern
from logclassify.models import Severity

FORMAT = 4  # bump when the encoding changes
TRANSIENT = type(None)  # an attribute filled on first use (FactMatch._spec): stored as None
_Pat = LazyPattern | None
_Lits = list[Literals] | None

# Every attribute of every matcher class, with its type, in storage order.
MATCHERS: dict[type[Matcher], dict[str, Any]] = {
    LineRegex: {
        "whole_line": bool, "source": str, "pattern": LazyPattern, "literal": str | None, "ignore_case": bool,
        "_lits": Literals, "_line_sets": tuple[frozenset[str], ...], "exact": bool,
    },
    ExceptionMatch: {
        "type": _Pat, "message": _Pat, "root": bool, "raised_in": _Pat, "innermost_among": _Pat,
        "innermost_file": _Pat, "innermost_function": _Pat, "_lits": _Lits,
    },
    FrameMatch: {"file": _Pat, "function": _Pat, "code": _Pat, "_lits": _Lits},
    FactMatch: {"name": str, "version": str | None, "_spec": TRANSIENT, "equals": str | None, "regex": _Pat},
    LogEndsIn: {"phases": set[str]},
    All: {"children": list[Matcher], "within": int | None, "_needs": list[_Lits]},
    AnyOf: {"children": list[Matcher], "_needs": list[_Lits]},
    NoneOf: {"children": list[Matcher]},
}
_ORDER = list(MATCHERS)  # a matcher is stored as [its class's index here, attributes...]
# Every field of the rule dataclasses, with its type, in field order: what their annotations say (tests/
# test_rulecache.py compares the two), written out because evaluating the annotations' strings on every start
# (`typing.get_type_hints`) cost ~3 ms. Stored as [fields...]; a Step that is only a text, as that text.
RECORDS: dict[type, dict[str, Any]] = {
    CompiledRule: {
        "rule": RuleInfo, "path": Path, "matcher": Matcher, "confirm": Matcher | None,
        "required": tuple[Literals, ...] | None, "keep": tuple[Literals, ...], "reads_ending": bool,
    },
    RuleInfo: {
        "id": str, "title": str, "severity": Severity, "confidence": float, "tags": tuple[str, ...], "role": str,
        "priority": int, "folds": tuple[str, ...], "cause": str, "fix": tuple[Step, ...], "docs": tuple[str, ...],
        "probe": str | None, "silent_for": float | None,
    },
    Step: {"text": str, "otherwise": str | None, "when": tuple[When, ...], "edits": tuple[Edit, ...], "conditional": bool},
    When: {"name": str, "values": tuple[str, ...]},
    Edit: {"action": str, "name": str, "value": str | None},
}
_RECORDS = tuple(RECORDS)
_PLAIN_STEP = {"otherwise": None, "when": (), "edits": (), "conditional": False}  # a Step given as a string


class CacheShapeError(ValueError):
    """The data is not compiled rules of this version of logclassify."""


def _bad(what: str) -> NoReturn:
    raise CacheShapeError(what)


class _Session:
    """One encoding or decoding: the table of distinct `Literals`."""

    def __init__(self, table: list[Literals] | None = None) -> None:
        self.table: list[Literals] = table if table is not None else []
        self.index: dict[Literals, int] = {}


Enc = Callable[[Any, _Session], Any]
Dec = Callable[[Any, _Session], Any]


def _fields(cls: type) -> dict[str, Any]:
    if cls in MATCHERS:
        return MATCHERS[cls]
    return RECORDS[cls]


@functools.cache
def _codec(hint: Any) -> tuple[Enc, Dec]:
    """The encoder and decoder of values of type `hint`, built once per type."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        enc_i, dec_i = _codec(inner)
        if inner in (str, bool, int):  # the common optional field: one test, no further call
            return (lambda v, s: None if v is None else enc_i(v, s)), (
                lambda d, s: d if d is None or type(d) is inner else _bad(f"expected {inner.__name__} or null"))
        return (lambda v, s: None if v is None else enc_i(v, s)), (lambda d, s: None if d is None else dec_i(d, s))
    if origin in (list, tuple, set, frozenset):
        return _container(origin, typing.get_args(hint)[0])
    if hint is TRANSIENT:
        return (lambda v, s: None), (lambda d, s: None if d is None else _bad("a transient attribute holds a value"))
    if hint in (str, bool, int):
        return _primitive(hint)
    if hint is float:
        return (lambda v, s: float(v)), (
            lambda d, s: float(d) if type(d) in (int, float) else _bad(f"expected a number, got {d!r}"))
    if hint is Path:
        return (lambda v, s: str(v)), (lambda d, s: Path(d) if type(d) is str else _bad("expected a path"))
    if hint is Severity:
        return (lambda v, s: v.value), _severity
    if hint is LazyPattern:
        return (lambda v, s: [v.source, int(v.flags)]), _pattern
    if hint is Literals:
        return _literals, _literals_ref
    if hint is Matcher:
        return _matcher_enc, _matcher_dec
    if hint in _RECORDS:
        return _record(hint)
    raise TypeError(f"rulecodec cannot store {hint!r}")


def _primitive(kind: type) -> tuple[Enc, Dec]:
    def enc(v: Any, s: _Session) -> Any:
        return v if type(v) is kind else _type_error(kind, v)

    def dec(d: Any, s: _Session) -> Any:
        return d if type(d) is kind else _bad(f"expected {kind.__name__}, got {type(d).__name__}")

    return enc, dec


def _type_error(kind: Any, v: Any) -> NoReturn:
    raise TypeError(f"expected {getattr(kind, '__name__', kind)}, got {type(v).__name__}")


def _container(origin: Any, item: Any) -> tuple[Enc, Dec]:
    enc_i, dec_i = _codec(item)
    ordered = origin in (set, frozenset)

    def enc(v: Any, s: _Session) -> Any:
        if type(v) is not origin:
            _type_error(origin, v)
        return [enc_i(x, s) for x in (_sorted(v) if ordered else v)]

    if item in (str, int, bool):  # the common case (literal sets): the item types tested in one pass
        def dec(d: Any, s: _Session) -> Any:
            if type(d) is not list or (d and set(map(type, d)) != {item}):
                _bad(f"expected a list of {item.__name__}")
            return origin(d)
    elif item is Literals:  # references into the table
        def dec(d: Any, s: _Session) -> Any:
            if type(d) is not list or (d and (set(map(type, d)) != {int} or min(d) < 0)):
                _bad("expected a list of literals references")
            try:
                return origin([s.table[i] for i in d])
            except IndexError:
                _bad("a literals reference out of the table")
    else:
        def dec(d: Any, s: _Session) -> Any:
            if type(d) is not list:
                _bad(f"expected a list for {origin.__name__}[{item}]")
            return origin([dec_i(x, s) for x in d])

    return enc, dec


def _sorted(v: Any) -> list[Any]:
    return sorted(v)


def _severity(d: Any, s: _Session) -> Severity:
    try:
        return Severity(d)
    except ValueError:
        _bad(f"unknown severity {d!r}")


def _pattern(d: Any, s: _Session) -> LazyPattern:
    if type(d) is not list or len(d) != 2 or type(d[0]) is not str or type(d[1]) is not int:
        _bad("a pattern is [source, flags]")
    return LazyPattern(d[0], d[1])


def _literals(v: Literals, s: _Session) -> int:
    if type(v) is not Literals:
        _type_error(Literals, v)
    found = s.index.get(v)
    if found is None:
        found = s.index[v] = len(s.table)
        s.table.append(v)
    return found


def _literals_ref(d: Any, s: _Session) -> Literals:
    if type(d) is not int or not 0 <= d < len(s.table):
        _bad("a literals reference out of the table")
    lit: Literals = s.table[d]
    return lit


def _literals_table(data: Any) -> list[Literals]:
    """The `Literals` table, decoded: each entry [alternatives or null, ignore_case]."""
    dec_alts = _codec(frozenset[str] | None)[1]
    out = []
    if type(data) is not list:
        _bad("the literals table is a list")
    for entry in data:
        if type(entry) is not list or len(entry) != 2 or type(entry[1]) is not bool:
            _bad("a literals entry is [alternatives, ignore_case]")
        lit = Literals.__new__(Literals)
        lit.__dict__.update(alternatives=dec_alts(entry[0], _Session()), ignore_case=entry[1])
        out.append(lit)
    return out


@functools.cache
def _slots(cls: type) -> list[tuple[str, Enc, Dec]]:
    return [(name, *_codec(hint)) for name, hint in _fields(cls).items()]


def _encode_object(v: Any, cls: type, s: _Session) -> list[Any]:
    slots = _slots(cls)
    unknown = set(vars(v)) - {name for name, _, _ in slots}
    if unknown:
        raise TypeError(f"{cls.__name__} has attributes rulecodec does not know: {sorted(unknown)}")
    return [enc(getattr(v, name), s) for name, enc, _ in slots]


@functools.cache
def _decoders(cls: type) -> tuple[tuple[str, ...], tuple[Dec, ...]]:
    slots = _slots(cls)
    return tuple(name for name, _, _ in slots), tuple(dec for _, _, dec in slots)


def _decode_object(d: list[Any], cls: type, s: _Session, start: int) -> Any:
    names, decs = _decoders(cls)
    if len(d) != start + len(names):
        _bad(f"{cls.__name__}: {len(d) - start} values for {len(names)} attributes")
    obj: Any = object.__new__(cls)
    values = [dec(x, s) for dec, x in zip(decs, d[start:] if start else d, strict=True)]  # lengths checked above
    obj.__dict__.update(zip(names, values, strict=True))
    return obj


def _matcher_enc(v: Any, s: _Session) -> list[Any]:
    cls = type(v)
    if cls not in MATCHERS:
        raise TypeError(f"matcher class {cls.__name__} is not in rulecodec.MATCHERS")
    return [_ORDER.index(cls), *_encode_object(v, cls, s)]


def _matcher_dec(d: Any, s: _Session) -> Matcher:
    if type(d) is not list or not d or type(d[0]) is not int or not 0 <= d[0] < len(_ORDER):
        _bad("a matcher is [class index, attributes...]")
    return _decode_object(d, _ORDER[d[0]], s, 1)  # type: ignore[no-any-return]


def _plain_text(step: Any) -> str | None:
    """A fix step's text when the step is nothing else (`_PLAIN_STEP`), else None."""
    if type(step.text) is str and all(getattr(step, k) == d for k, d in _PLAIN_STEP.items()):
        return str(step.text)
    return None


def _record(cls: type) -> tuple[Enc, Dec]:
    plain = cls is Step  # 96% of the fix steps are a text alone: stored as that string

    def enc(v: Any, s: _Session) -> Any:
        if type(v) is not cls:
            _type_error(cls, v)
        text = _plain_text(v) if plain else None
        return text if text is not None else _encode_object(v, cls, s)

    def dec(d: Any, s: _Session) -> Any:
        if plain and type(d) is str:
            step = object.__new__(Step)
            step.__dict__.update(_PLAIN_STEP, text=d)
            return step
        if type(d) is not list:
            _bad(f"expected a list for {cls.__name__}")
        return _decode_object(d, cls, s, 0)

    return enc, dec


def encode(rules: list[CompiledRule]) -> dict[str, Any]:
    """The rules as JSON-able data. Raises TypeError for anything `decode` could not rebuild."""
    s = _Session()
    body = _codec(list[CompiledRule])[0](rules, s)
    return {"format": FORMAT, "literals": [[sorted(x.alternatives) if x.alternatives is not None else None,
                                            x.ignore_case] for x in s.table], "rules": body}


def decode(data: Any) -> list[CompiledRule]:
    """The rules `encode` gave `data` for. Raises CacheShapeError when `data` does not have that shape."""
    if type(data) is not dict or data.get("format") != FORMAT or set(data) != {"format", "literals", "rules"}:
        _bad("not a rule cache of this format")
    s = _Session(_literals_table(data["literals"]))
    rules: list[CompiledRule] = _codec(list[CompiledRule])[1](data["rules"], s)
    return rules
