"""The Hyperscan backend: the Scanner's two databases, and the compiling and caching of any database.

Compiled databases are stored in the user cache folder (`usercache.cache_dir`), with the Hyperscan and regex versions
in the key, so that the next run loads them instead of compiling again: the scanner's two under a key of its
triggers and of the code that turns them into expressions, any other (`compile_database`) under a key of its expressions.
`hyperscan` is imported when a database is first built, not at start-up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import regex

from logclassify.select.plan import Candidates, ScanPlan
from logclassify.select.triggers import ESCAPES, strip_anchors


class HyperscanDatabases:
    """Two Hyperscan databases: regexes (pure-ASCII chunks without escape sequences) and literals (any chunk)."""

    def __init__(self, plan: ScanPlan, regex_ok: Callable[[int], bool]) -> None:
        """regex_ok(i): whether anchor trigger i's regex compiles for the verifier (else it goes by its literals)."""
        import hyperscan

        self.hs = hyperscan
        self.markers = plan.markers
        self._local = threading.local()  # Hyperscan scratch space may not be shared between threads
        self.lit_owner: list[int] = []
        # Both databases and their id tables, cached under a key of the triggers themselves and of the code that
        # turns them into expressions: a run with unchanged rules builds no expression list at all.
        source = _key(hyperscan, [repr((plan.triggers, plan.anchors, plan.markers, _code_stamp())).encode()], [])
        lit = _cache_load(hyperscan, f"lit-src-{source}")
        rx = _cache_load(hyperscan, f"rx-src-{source}") if lit is not None else None
        if lit is not None and rx is not None and _fits(lit[1], 2, plan) and _fits(rx[1], 3, plan):
            self.lit_db, (self.lit_owner, self.lit_marker_base) = lit
            self.rx_db, (self.rx_owner, self.rx_marker_base, self.rx_escape_base) = rx
            return
        self._build(plan, regex_ok, hyperscan)
        _cache_store(hyperscan, f"lit-src-{source}", self.lit_db, (self.lit_owner, self.lit_marker_base))
        _cache_store(
            hyperscan, f"rx-src-{source}", self.rx_db, (self.rx_owner, self.rx_marker_base, self.rx_escape_base)
        )

    def _build(self, plan: ScanPlan, regex_ok: Callable[[int], bool], hyperscan: Any) -> None:
        """Compile both databases."""
        pf = hyperscan.HS_FLAG_PREFILTER
        single = hyperscan.HS_FLAG_SINGLEMATCH
        caseless = hyperscan.HS_FLAG_CASELESS
        # literal database: ids [0, n_lit) anchors' literals (id -> trigger), then markers, then nothing else
        lit_exprs: list[bytes] = []
        lit_flags: list[int] = []
        self.lit_owner = []
        for i in plan.anchors:
            t = plan.triggers[i]
            for lit in t.literals:
                lit_exprs.append(hs_escape(lit.encode()))
                lit_flags.append(caseless if t.ignore_case else 0)
                self.lit_owner.append(i)
        self.lit_marker_base = len(lit_exprs)
        for m in plan.markers:
            lit_exprs.append(hs_escape(m))
            lit_flags.append(single)
        self.lit_db = compile_database(hyperscan, lit_exprs, lit_flags, cache=False)

        # regex database: one expression per anchor trigger where Hyperscan accepts its regex, else its literals
        def build(ok: Any) -> tuple[list[bytes], list[int], list[int], int, int]:
            exprs: list[bytes] = []
            flags: list[int] = []
            owner: list[int] = []
            for i in plan.anchors:
                t = plan.triggers[i]
                cf = caseless if t.ignore_case else 0
                expr = None
                if t.regex is not None and regex_ok(i):
                    expr = strip_anchors(t.regex).encode()
                if expr is not None and ok(expr, pf | cf):
                    exprs.append(expr)
                    flags.append(pf | cf)
                    owner.append(i)
                else:
                    for lit in t.literals:
                        exprs.append(hs_escape(lit.encode()))
                        flags.append(cf)
                        owner.append(i)
            mbase = len(exprs)
            for m in plan.markers:
                exprs.append(hs_escape(m))
                flags.append(single)
            ebase = len(exprs)
            for e in ESCAPES:
                exprs.append(hs_escape(e))
                flags.append(single)
            return exprs, flags, owner, mbase, ebase

        exprs, flags, owner, mbase, ebase = build(lambda e, f: True)
        try:
            db = compile_database(hyperscan, exprs, flags, cache=False)
        except Exception:  # some regex Hyperscan cannot take even as a prefilter: those go by their literals
            exprs, flags, owner, mbase, ebase = build(lambda e, f: _hs_ok(hyperscan, e, f))
            db = compile_database(hyperscan, exprs, flags, cache=False)
        self.rx_db, self.rx_owner, self.rx_marker_base, self.rx_escape_base = db, owner, mbase, ebase

    def _scratch(self, db: Any) -> Any:
        """This thread's scratch space for `db` (a Classifier is shared between a bot's threads)."""
        cache: dict[int, Any] | None = getattr(self._local, "scratch", None)
        if cache is None:
            cache = self._local.scratch = {}
        if id(db) not in cache:
            cache[id(db)] = self.hs.Scratch(db)
        return cache[id(db)]

    def scan(self, chunk: bytes) -> Candidates:
        """The chunk's candidates (see `Scanner.candidates`), from the regex database where it may be used."""
        hits: list[tuple[int, int]] = []
        markers: dict[int, int] = {}
        escaped = [False]
        marks = self.markers
        if chunk.isascii():
            owner = self.rx_owner
            mbase = self.rx_marker_base
            ebase = self.rx_escape_base

            def on_rx(i: int, _from: int, to: int, _flags: int, _ctx: object) -> bool | None:
                if i < mbase:
                    hits.append((to - 1 if to else 0, owner[i]))
                elif i < ebase:
                    markers[i - mbase] = to - len(marks[i - mbase])
                else:
                    escaped[0] = True  # this chunk is searched on literals instead
                return None

            self.rx_db.scan(chunk, match_event_handler=on_rx, scratch=self._scratch(self.rx_db))
            if not escaped[0]:
                return hits, markers
            hits.clear()
            markers.clear()
        owner = self.lit_owner
        mbase = self.lit_marker_base

        def on_lit(i: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            if i < mbase:
                hits.append((to - 1 if to else 0, owner[i]))
            else:
                markers[i - mbase] = to - len(marks[i - mbase])

        self.lit_db.scan(chunk, match_event_handler=on_lit, scratch=self._scratch(self.lit_db))
        return hits, markers


# Each byte as Hyperscan reads it literally: letters and digits as they are, anything else as \xNN.
_HS_BYTE = [bytes([c]) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else b"\\x%02x" % c for c in range(256)]


def hs_escape(lit: bytes) -> bytes:
    """`lit` as a Hyperscan expression that matches exactly those bytes."""
    table = _HS_BYTE
    return b"".join([table[c] for c in lit])


def _hs_ok(hyperscan: Any, expr: bytes, flags: int) -> bool:
    try:
        hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(expressions=[expr], flags=[flags])
        return True
    except Exception:
        return False


def _code_stamp() -> list[tuple[str, int, int]]:
    """Size and mtime of the modules that turn triggers into expressions: a changed one makes old databases stale."""
    here = Path(__file__).resolve().parent
    stamps = []
    for name in ("hyperscan_db.py", "triggers.py"):
        st = (here / name).stat()
        stamps.append((name, st.st_size, st.st_mtime_ns))
    return stamps


def _key(hyperscan: Any, exprs: list[bytes], flags: list[int]) -> str:
    from logclassify.usercache import digest

    versions = (getattr(hyperscan, "__version__", ""), getattr(regex, "__version__", ""))
    return digest(repr((versions, exprs, flags)))


def _cache_load(hyperscan: Any, name: str) -> tuple[Any, Any] | None:
    """A database (and its side data) compiled by an earlier run, or None. The file is a JSON header line (the name
    it was stored under and the side data: lists of numbers) and the database as Hyperscan serialised it; nothing in
    it is run, and `usercache.read` reads only this user's own files."""
    import json

    from logclassify.usercache import cache_dir, read

    data = read(cache_dir() / f"hs-{name}.bin")
    if data is None:
        return None
    try:
        head, blob = data.split(b"\n", 1)
        header = json.loads(head)
        if not (isinstance(header, dict) and header.get("name") == name and _numbers(header.get("extra"))):
            return None
        db = hyperscan.loadb(blob, mode=hyperscan.HS_MODE_BLOCK)
        return db, header["extra"]
    except Exception:  # damaged, stale or from another Hyperscan: compile again
        return None


def _fits(extra: Any, n: int, plan: ScanPlan) -> bool:
    """A cached id table is [owners, bases...] with every owner a trigger of this plan."""
    return (
        isinstance(extra, list) and len(extra) == n and isinstance(extra[0], list)
        and all(type(i) is int and 0 <= i < len(plan.triggers) for i in extra[0])
        and all(type(b) is int for b in extra[1:])
    )


def _numbers(value: Any) -> bool:
    """Side data is None, a number, or (nested) lists of numbers."""
    if value is None or type(value) is int:
        return True
    return isinstance(value, list) and all(_numbers(v) for v in value)


def _cache_store(hyperscan: Any, name: str, db: Any, extra: Any) -> None:
    import json

    from logclassify.usercache import cache_dir, store

    try:
        head = json.dumps({"name": name, "extra": extra}, separators=(",", ":")).encode()
        data = head + b"\n" + hyperscan.dumpb(db)
    except Exception:
        return
    store(cache_dir() / f"hs-{name}.bin", data)


def compile_database(hyperscan: Any, exprs: list[bytes], flags: list[int], cache: bool = True) -> Any:
    """A block-mode database, from the user cache when the same expressions were compiled before."""
    key = _key(hyperscan, exprs, flags)
    if cache:
        cached = _cache_load(hyperscan, f"lit-{key}")
        if cached is not None:
            return cached[0]
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    if exprs:
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
    else:
        db.compile(expressions=[b"(?!)"], flags=[hyperscan.HS_FLAG_ALLOWEMPTY])
    if cache:
        _cache_store(hyperscan, f"lit-{key}", db, None)
    return db
