"""A cache of compiled rules, so that a short run does not re-read and re-validate every rule file.

The cache is JSON (`rulecodec`): reading it rebuilds known classes from checked data and can run no code, so a file
planted in the cache folder cannot do more than a rule file could. `usercache` reads only from a folder and files
that this user owns and no one else can write. The key covers every file the result depends on, found rather than
listed by hand: all `.py` files of the package, every YAML file under each rule folder (rules and vocabulary), and
the Python version. Any problem reading, decoding or writing falls back to loading the rules.
`LOGCLASSIFY_NO_CACHE=1` turns it off; `LOGCLASSIFY_CACHE_DIR` moves it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from logclassify.usercache import cache_dir, digest, read, store

if TYPE_CHECKING:
    from logclassify.engine.loader import CompiledRule

PACKAGE = Path(__file__).resolve().parent.parent  # the logclassify package folder


def _stamps(files: Iterable[Path]) -> list[tuple[str, int, int]]:
    out = []
    for p in files:
        st = p.stat()
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return out


def source_files() -> list[Path]:
    """Every module of the package: what a compiled rule is made of, and what reads it."""
    return sorted(PACKAGE.rglob("*.py"))


def _rule_folder_files(d: Path) -> list[Path]:
    if d.is_file():
        return [d]
    return sorted(p for p in d.rglob("*") if p.suffix in (".yaml", ".yml"))


def cache_key(dirs: Sequence[Path]) -> str | None:
    """A digest of the sizes and times of the package's modules and of every YAML file under `dirs`; None when a
    folder is missing (the loader reports it)."""
    try:
        parts = [sys.version_info[:3], _stamps(source_files())]
        for d in dirs:
            if not d.exists():
                return None
            parts.append(_stamps(_rule_folder_files(d)))
    except OSError:
        return None
    return digest(repr(parts))


def load_cached(dirs: Sequence[Path], load: Callable[[], list[CompiledRule]]) -> list[CompiledRule]:
    """`load()`'s result, from the cache when nothing it depends on changed since it was stored."""
    if os.environ.get("LOGCLASSIFY_NO_CACHE"):
        return load()
    key = cache_key(dirs)
    if key is None:
        return load()
    import json

    from logclassify.engine import rulecodec

    path = cache_dir() / f"rules-{key}.json"
    data = read(path)
    if data is not None:
        try:
            found = json.loads(data)
            if isinstance(found, dict) and found.pop("key", None) == key:
                return rulecodec.decode(found)
        except (ValueError, RecursionError):  # not JSON, or not rules of this version (CacheShapeError)
            pass
    rules = load()
    try:
        encoded = {"key": key, **rulecodec.encode(rules)}
    except TypeError:  # a matcher the codec does not know: no cache (tests/test_rulecache.py names it)
        return rules
    store(path, json.dumps(encoded, separators=(",", ":")).encode())
    return rules
