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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from logclassify.usercache import cache_dir, digest, read, store

if TYPE_CHECKING:
    from logclassify.engine.loader import CompiledRule

PACKAGE = Path(__file__).resolve().parent.parent  # the logclassify package folder


def _walk_stamps(top: str, suffixes: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """(path, size, mtime) of every file under `top` whose name ends in one of `suffixes`, sorted by path; symlinked
    folders are not entered (as `Path.rglob`). One `scandir` per folder: the key is computed on every start, and
    `rglob` plus a `stat` per file cost ~3 ms of it."""
    out: list[tuple[str, int, int]] = []
    todo = [top]
    while todo:
        with os.scandir(todo.pop()) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    todo.append(e.path)
                elif e.name.endswith(suffixes):
                    st = e.stat()
                    out.append((e.path, st.st_size, st.st_mtime_ns))
    out.sort()
    return out


def cache_key(dirs: Sequence[Path]) -> str | None:
    """A digest of the sizes and times of the package's modules and of every YAML file under `dirs`; None when a
    folder is missing (the loader reports it)."""
    try:
        parts = [sys.version_info[:3], _walk_stamps(str(PACKAGE), (".py",))]
        for d in dirs:
            if not d.exists():
                return None
            if d.is_file():
                st = d.stat()
                parts.append([(str(d), st.st_size, st.st_mtime_ns)])
            else:
                parts.append(_walk_stamps(str(d), (".yaml", ".yml")))
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
