"""The vocabulary rules depend on, kept as data beside the rules (rules/_vocab/*.yaml) so that a rule author never
edits Python: startup phases and their markers (`phases`), fact extractors (`facts`), the wrappers vLLM re-raises
around a root cause (`wrappers`), the masks of fingerprints (`fingerprint`) and the debugging switches that
`doctor` and the `debug-env-left-on` rule share (`debug`).

The files are validated when read (errors name the file, the line and the field) and the validated data is cached
as JSON under the rule cache's folder, keyed by the files' sizes and times: a run with an unchanged vocabulary
imports neither YAML nor pydantic. `LOGCLASSIFY_VOCAB_DIR` points at another folder (for tests and for trying a
change without editing the installed package).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

from logclassify.lazyre import LazyPattern, lazy

FILES = ("phases", "facts", "wrappers", "fingerprint", "debug")
_FORMAT = 1  # bump when the shape of the cached data changes


class VocabError(Exception):
    """A vocabulary file is missing or invalid. `problems` holds one `file:line: field: message` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def builtin_rules_dir() -> Path:
    """The rules shipped with the package (inside the wheel), or the repository's rules/ in a source checkout."""
    packaged = Path(__file__).parent.parent / "_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "rules"


def vocab_dir() -> Path:
    own = os.environ.get("LOGCLASSIFY_VOCAB_DIR")
    return Path(own) if own else builtin_rules_dir() / "_vocab"


def _parse_loc(text: str) -> tuple[int | str, ...] | None:
    """`markers[3].phase` -> ('markers', 3, 'phase'): where a cross-field check says the problem is."""
    import re

    if not re.fullmatch(r"[\w.*-]+(?:\[\d+\])*(?:\.[\w.*-]+(?:\[\d+\])*)*", text):
        return None
    out: list[int | str] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", text):
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return tuple(out)


def read_file(path: Path, name: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The validated data of one vocabulary file (patterns expanded), or the problems found in it."""
    from pydantic import ValidationError

    from logclassify.vocab.located import display, field_path, line_of, read_located
    from logclassify.vocab.schema import FILES as MODELS

    where = display(path)
    data, lines, unreadable = read_located(path, where)
    if unreadable:
        return None, unreadable
    try:
        model = MODELS[name].model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc: tuple[int | str, ...] = tuple(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            head, sep, rest = msg.partition(": ")
            inner = _parse_loc(head) if sep else None
            if inner is not None and not loc:  # a check across fields names where the problem is
                loc, msg = inner, rest
            line = line_of(lines, loc)
            problems.append(f"{where}{f':{line}' if line else ''}: {field_path(loc)}: {msg}")
        return None, problems
    return model.model_dump(exclude={"defines"}), []


def load_vocab(directory: Path) -> dict[str, Any]:
    """Read and validate every vocabulary file of a folder; raise VocabError listing every problem."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    for name in FILES:
        path = directory / f"{name}.yaml"
        if not path.is_file():
            problems.append(f"{path}: missing vocabulary file")
            continue
        data, errs = read_file(path, name)
        problems.extend(errs)
        if data is not None:
            out[name] = data
    if problems:
        raise VocabError(problems)
    return out


def _cache_key(directory: Path) -> str:
    from logclassify.usercache import digest

    here = Path(__file__).resolve().parent
    stamps = []
    for p in (*(directory / f"{n}.yaml" for n in FILES), here / "__init__.py", here / "schema.py"):
        st = p.stat()
        stamps.append((str(p), st.st_size, st.st_mtime_ns))
    return digest(repr((_FORMAT, sys.version_info[:2], stamps)))


def _cached(directory: Path) -> dict[str, Any]:
    """`load_vocab(directory)`, from a JSON cache file when none of the files changed since it was written."""
    if os.environ.get("LOGCLASSIFY_NO_CACHE"):
        return load_vocab(directory)
    from logclassify.usercache import cache_dir, read, store

    try:
        path = cache_dir() / f"vocab-{_cache_key(directory)}.json"
    except OSError:  # a missing file: let the loader report it
        return load_vocab(directory)
    try:
        raw = read(path)  # None: missing, or in a folder others can write
        data = json.loads(raw) if raw is not None else None
        if isinstance(data, dict) and set(data) == set(FILES):
            return data
    except ValueError:
        pass  # stale or damaged: read the files
    data = load_vocab(directory)
    store(path, json.dumps(data).encode())
    return data


@functools.lru_cache(maxsize=1)
def vocab() -> dict[str, Any]:
    """The vocabulary the package runs with: every file's validated data, by file name."""
    return _cached(vocab_dir())


def pattern(entry: dict[str, Any], key: str = "pattern") -> LazyPattern:
    """A vocabulary entry's regex (`pattern`, `ignore_case`, `dotall`), compiled on first use."""
    import regex

    flags = (regex.IGNORECASE if entry.get("ignore_case") else 0) | (regex.DOTALL if entry.get("dotall") else 0)
    return lazy(entry[key], flags)
