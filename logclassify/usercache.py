"""The user cache folder, shared by the rule cache (`engine.rulecache`) and the Hyperscan databases
(`select.hyperscan_db`): where it is, the keys of its files, and writing them. It sits under every stage so that both
can use it without one stage importing a later one.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path


def cache_dir() -> Path:
    """$LOGCLASSIFY_CACHE_DIR, else $XDG_CACHE_HOME/logclassify, else ~/.cache/logclassify."""
    own = os.environ.get("LOGCLASSIFY_CACHE_DIR")
    if own:
        return Path(own)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "logclassify"


def digest(text: str) -> str:
    """A cache key for `text`: CRC-32 and Adler-32 of it and its length (64 bits of checksum). Not a defence
    against crafted collisions, which a local cache does not need; hashlib would add ~3 ms to every start."""
    data = text.encode()
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}{len(data):x}"


MAX_FILES = 64  # older cache files beyond this many are removed


def store(path: Path, data: bytes | None) -> None:
    """Write a cache file atomically and keep the cache folder small; any error only means no cache."""
    if data is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        files = sorted(path.parent.glob("*.pickle"), key=lambda p: p.stat().st_mtime)
        for old in files[:-MAX_FILES]:
            old.unlink(missing_ok=True)
    except Exception:
        pass  # read-only home, a file removed by another process: no cache, or a larger one
