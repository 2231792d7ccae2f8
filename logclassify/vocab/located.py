"""YAML with the line of every value, so that a validation error can name the file, the line and the field."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

Loc = tuple[int | str, ...]


def load_located(text: str) -> tuple[Any, dict[Loc, int]]:
    """The data of a YAML document (safe types only) and, for each location in it, its 1-based line."""
    import yaml

    data = yaml.safe_load(text)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[Loc, int] = {}

    def walk(n: Any, loc: Loc) -> None:
        lines[loc] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                field = (*loc, key.value)
                walk(value, field)
                lines[field] = key.start_mark.line + 1  # the field's own line, not its value's
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*loc, i))

    if node is not None:
        walk(node, ())
    return data, lines


def read_located(path: Path, where: str, *, column: bool = False) -> tuple[Any, dict[Loc, int], list[str]]:
    """`load_located` of a file: its data and lines, or the problem (bad YAML with its line, unreadable file)."""
    import yaml

    try:
        data, lines = load_located(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = "" if mark is None else f":{mark.line + 1}" + (f":{mark.column + 1}" if column else "")
        return None, {}, [f"{where}{pos}: invalid YAML: {getattr(exc, 'problem', exc)}"]
    except (OSError, UnicodeDecodeError) as exc:
        return None, {}, [f"{where}: cannot read: {exc}"]
    return data, lines, []


def clean_loc(loc: Sequence[int | str]) -> Loc:
    """pydantic's location as a path into the data: a tagged union repeats its key (`match.all.all[0]`): once."""
    out: list[int | str] = []
    for part in loc:
        if not (out and isinstance(part, str) and part == out[-1]):
            out.append(part)
    return tuple(out)


def line_of(lines: dict[Loc, int], loc: Sequence[int | str]) -> int | None:
    """The line of the deepest known part of `loc` (a missing field: the line of the mapping that lacks it)."""
    parts = clean_loc(loc)
    while parts:
        if parts in lines:
            return lines[parts]
        parts = parts[:-1]
    return lines.get(())


def field_path(loc: Sequence[int | str]) -> str:
    """pydantic's location, readable: match.all[2].none[0].regex (a union's tag repeats the key: dropped)."""
    out = ""
    for part in clean_loc(loc):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def display(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when it lies below it."""
    import os

    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel
