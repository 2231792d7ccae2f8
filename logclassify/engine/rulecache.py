"""A pickle cache of compiled rules, so that a short run does not re-read and re-validate every rule file.

The key is every rule file's path, size and mtime, plus the engine's own source files (a changed matcher makes old
pickles stale) and the Python version. Any problem reading or writing the cache falls back to loading the rules.
`LOGCLASSIFY_NO_CACHE=1` turns it off; `LOGCLASSIFY_CACHE_DIR` moves it.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from logclassify.usercache import cache_dir, digest, store

# the sources of what a cache file holds (compiled rules, matchers, lazy patterns, severities)
_ENGINE_FILES = ("loader.py", "match.py", "schema.py", "literals.py", "../lazyre.py", "../models.py")


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns)


def cache_key(dirs: Sequence[Path], files_of: Callable[[Path], list[Path]]) -> str | None:
    try:
        here = Path(__file__).resolve().parent
        parts: list[Any] = [sys.version_info[:3], [_stamp(here / f) for f in _ENGINE_FILES if (here / f).exists()]]
        for d in dirs:
            parts.append([_stamp(p) for p in files_of(d)])
    except Exception:  # a missing folder: let the loader report it
        return None
    return digest(repr(parts))


def load_cached(dirs: Sequence[Path], files_of: Callable[[Path], list[Path]], load: Callable[[], Any]) -> Any:
    """`load()`'s result, from the cache when nothing it depends on changed since it was stored."""
    if os.environ.get("LOGCLASSIFY_NO_CACHE"):
        return load()
    key = cache_key(dirs, files_of)
    if key is None:
        return load()
    path = cache_dir() / f"rules-{key}.pickle"
    try:
        return pickle.loads(path.read_bytes())
    except Exception:
        pass  # missing, stale or unreadable
    value = load()
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # something in the rules that does not pickle: no cache
        return value
    store(path, data)
    return value
