"""The user cache folder, shared by the rule cache (`engine.rulecache`), the vocabulary and the Hyperscan databases
(`select.hyperscan_db`): where it is, the keys of its files, and reading and writing them. It sits under every stage
so that all can use it without one stage importing a later one.

What is read from the cache steers every scan, so only a folder and files that this user owns and that no one else
can write are used (on POSIX; a folder shared with others, such as a group-writable one, means no cache). Files are
written with owner-only permissions, atomically. Any problem means "no cache", never an error.
"""

from __future__ import annotations

import os
import stat
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
    against crafted collisions (only this user can write the folder); hashlib would add ~3 ms to every start."""
    data = text.encode()
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}{len(data):x}"


def private(st: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (always true where there are no POSIX owners)."""
    if not hasattr(os, "getuid"):
        return True
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def read(path: Path) -> bytes | None:
    """A cache file's content, or None when it is missing or when it or its folder is not private."""
    try:
        if not private(os.stat(path.parent)):
            return None
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not (stat.S_ISREG(st.st_mode) and private(st)):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    except OSError:
        return None
    finally:
        os.close(fd)


MAX_FILES = 64  # older cache files beyond this many are removed
_SUFFIXES = (".json", ".bin", ".pickle")  # .pickle: files of older versions, never read again


def store(path: Path, data: bytes | None) -> None:
    """Write a cache file atomically (owner-only) into a private folder, creating it, and keep the folder small.
    Any error only means no cache."""
    if data is None:
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not private(os.stat(path.parent)):
            return
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        files = sorted((p for p in path.parent.iterdir() if p.suffix in _SUFFIXES), key=lambda p: p.stat().st_mtime)
        for old in files[:-MAX_FILES]:
            old.unlink(missing_ok=True)
    except Exception:
        pass  # read-only home, a file removed by another process: no cache, or a larger one
