"""The user cache runs no code it reads, ignores what others could have written, and rebuilds from anything odd.

Every file in the cache folder is replaced by something hostile or malformed, then the rules are loaded again: the
result must be the real rules, with no code run and no traceback.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest

import logclassify
from logclassify.engine import rulecache, rulecodec
from logclassify.engine.loader import CompiledRule
from logclassify.engine.match import walk
from logclassify.usercache import cache_dir, read, store
from tests.conftest import ROOT, TEST_CACHE, run_cli


class _Exploit:
    """Unpickling this creates the file named `marker`: what a planted pickle could do (or worse)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def _ids(rules: list[CompiledRule]) -> list[str]:
    return [r.id for r in rules]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder filled by one normal load of the built-in rules (and of the scanner's databases)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("LOGCLASSIFY_CACHE_DIR", str(folder))
    monkeypatch.delenv("LOGCLASSIFY_NO_CACHE", raising=False)
    logclassify.Classifier(logclassify.load_rules())
    assert any(folder.iterdir())
    return folder


@functools.cache
def _expected() -> list[str]:
    return _ids(_no_cache_rules())


def _replace_all(folder: Path, content: bytes) -> None:
    for f in folder.iterdir():
        f.write_bytes(content)


def test_a_planted_pickle_runs_no_code(cache: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _replace_all(cache, pickle.dumps(_Exploit(marker)))
    rules = logclassify.load_rules()
    clf = logclassify.Classifier(rules)
    assert not marker.exists()
    assert _ids(rules) == _expected()
    assert clf.classify("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB").headline is not None


MALFORMED = {
    "pickle of the wrong type": pickle.dumps([1, 2, 3]),
    "empty": b"",
    "not json": b"\x80\x04garbage",
    "json list": b"[]",
    "json null": b"null",
    "json number": b"42",
    "json object": b"{}",
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_files_mean_a_rebuild(cache: Path, name: str) -> None:
    _replace_all(cache, MALFORMED[name])
    rules = logclassify.load_rules()
    assert _ids(rules) == _expected()
    report = logclassify.Classifier(rules).classify("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB")
    assert report.headline is not None and report.headline.id == "cuda-oom"


def _rules_file(folder: Path) -> Path:
    (path,) = folder.glob("rules-*.json")
    return path


def _mutations(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Valid JSON with the envelope right and one thing inside wrong."""
    out: dict[str, dict[str, Any]] = {}

    def edit(name: str, fn: Any) -> None:
        copy = json.loads(json.dumps(data))
        fn(copy)
        out[name] = copy

    first = data["rules"][0]
    matcher_at = 2  # CompiledRule fields: rule, path, matcher, ...
    assert isinstance(first[matcher_at], list) and isinstance(first[matcher_at][0], int)
    edit("wrong format number", lambda d: d.update(format=999))
    edit("rules not a list", lambda d: d.update(rules={"a": 1}))
    edit("a rule with a field missing", lambda d: d["rules"][0].pop())
    edit("a rule with a field too many", lambda d: d["rules"][0].append(1))
    edit("unknown matcher class", lambda d: d["rules"][0][matcher_at].__setitem__(0, 99))
    edit("matcher without attributes", lambda d: d["rules"][0].__setitem__(matcher_at, [0]))
    edit("a string where a number goes", lambda d: d["rules"][0][0].__setitem__(3, "high"))
    edit("unknown severity", lambda d: d["rules"][0][0].__setitem__(2, "apocalyptic"))
    edit("literals reference out of range", lambda d: d.update(literals=[]))
    edit("pattern of the wrong shape", lambda d: _first_pattern(d["rules"], lambda p: p.append(1)))
    edit("a key of another rule set", lambda d: d.update(key="0" * 20))
    return out


def _first_pattern(rules: Any, fn: Any) -> None:
    """Apply `fn` to the first stored pattern ([source, flags]) of a LineRegex."""
    line_regex = rulecodec._ORDER.index(rulecodec.LineRegex)

    def visit(v: Any) -> bool:
        if isinstance(v, list):
            if v and v[0] == line_regex and len(v) == 9 and isinstance(v[3], list):
                fn(v[3])
                return True
            return any(visit(x) for x in v)
        return False

    assert visit(rules)


def test_valid_json_of_the_wrong_shape_means_a_rebuild(cache: Path) -> None:
    path = _rules_file(cache)
    data = json.loads(path.read_bytes())
    expected = _expected()
    for name, bad in _mutations(data).items():
        path.write_text(json.dumps(bad))
        try:
            rules = logclassify.load_rules()
        except Exception as exc:  # pragma: no cover - the failure this test exists for
            pytest.fail(f"{name}: {type(exc).__name__}: {exc}")
        assert _ids(rules) == expected, name


def test_the_record_table_is_the_dataclasses_annotations() -> None:
    """`rulecodec.RECORDS` writes out the rule dataclasses' fields (evaluating their annotations cost every start
    ~3 ms): a field added, removed, renamed, retyped or moved in loader.py must be changed there too."""
    import dataclasses
    import typing

    for cls, fields in rulecodec.RECORDS.items():
        assert list(fields.items()) == list(typing.get_type_hints(cls).items()), cls.__name__
        assert list(fields) == [f.name for f in dataclasses.fields(cls)], cls.__name__


def test_a_fix_step_that_is_only_text_is_stored_as_its_text() -> None:
    from logclassify.engine.loader import Edit, Step, When

    s = rulecodec._Session()
    enc, dec = rulecodec._codec(Step)
    plain = Step("Restart the server.")
    full = Step("Set {x}.", "Set it.", (When("x", ("1",)),), (Edit("set", "x", "1"),), conditional=True)
    assert enc(plain, s) == "Restart the server."
    for step in (plain, full, Step("only conditional", conditional=True)):
        back = dec(json.loads(json.dumps(enc(step, s))), s)
        assert back == step and type(back) is Step
    with pytest.raises(rulecodec.CacheShapeError):
        dec(7, s)


def test_builtin_rules_round_trip() -> None:
    """Every matcher class and attribute the built-in rules use is known to the codec, and decoding gives back
    rules that encode to the same data."""
    rules = _no_cache_rules()
    data = rulecodec.encode(rules)
    back = rulecodec.decode(json.loads(json.dumps(data)))
    assert rulecodec.encode(back) == data
    used = {type(m) for r in rules for m in (*walk(r.matcher), *(walk(r.confirm) if r.confirm else ()))}
    assert used <= set(rulecodec.MATCHERS)
    for cls, fields in rulecodec.MATCHERS.items():
        sample = next((m for r in rules for m in walk(r.matcher) if type(m) is cls), None)
        if sample is not None:
            assert set(vars(sample)) == set(fields), cls.__name__


def test_cached_rules_give_the_same_reports(cache: Path) -> None:
    fresh = logclassify.Classifier(_no_cache_rules())
    cached = logclassify.Classifier(logclassify.load_rules())  # from the cache filled by the fixture
    for log in sorted((ROOT / "fixtures").rglob("*.log"))[:80]:
        assert cached.classify_path(log).model_dump() == fresh.classify_path(log).model_dump(), log


def _no_cache_rules() -> list[CompiledRule]:
    os.environ["LOGCLASSIFY_NO_CACHE"] = "1"
    try:
        return logclassify.load_rules()
    finally:
        del os.environ["LOGCLASSIFY_NO_CACHE"]


# -- who may write the folder --------------------------------------------------------------------------------------

posix = pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")


def _other_rules_data(folder: Path) -> bytes:
    """A valid cache file for the current key whose rules are only the first built-in rule."""
    path = _rules_file(folder)
    data = json.loads(path.read_bytes())
    data["rules"] = data["rules"][:1]
    return json.dumps(data).encode()


@posix
@pytest.mark.parametrize("mode", [0o777, 0o770, 0o757])
def test_a_folder_others_can_write_is_not_read(cache: Path, mode: int) -> None:
    planted = _other_rules_data(cache)
    _rules_file(cache).write_bytes(planted)
    assert len(logclassify.load_rules()) == 1  # the cache is read while the folder is private
    cache.chmod(mode)
    try:
        assert _ids(logclassify.load_rules()) == _expected()
        assert read(_rules_file(cache)) is None
        before = {p.name: p.read_bytes() for p in cache.iterdir()}
        store(cache / "rules-new.json", b"{}")
        assert {p.name: p.read_bytes() for p in cache.iterdir()} == before  # nor written
    finally:
        cache.chmod(0o700)


@posix
def test_a_file_others_can_write_is_not_read(cache: Path) -> None:
    path = _rules_file(cache)
    path.write_bytes(_other_rules_data(cache))
    path.chmod(0o666)
    assert _ids(logclassify.load_rules()) == _expected()


@posix
@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="changing a file's owner needs root")
def test_a_file_of_another_user_is_not_read(cache: Path) -> None:
    path = _rules_file(cache)
    path.write_bytes(_other_rules_data(cache))
    os.chown(path, 12345, 12345)
    assert _ids(logclassify.load_rules()) == _expected()


@posix
def test_files_and_folder_are_written_private(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "cache"
    store(folder / "x.json", b"{}")
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "x.json").stat().st_mode & 0o777 == 0o600


def test_a_symlink_is_not_followed(cache: Path, tmp_path: Path) -> None:
    path = _rules_file(cache)
    target = tmp_path / "elsewhere.json"
    target.write_bytes(_other_rules_data(cache))
    path.unlink()
    path.symlink_to(target)
    assert _ids(logclassify.load_rules()) == _expected()


# -- the key -------------------------------------------------------------------------------------------------------


def test_the_key_covers_every_module_and_rule_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "logclassify"
    shutil.copytree(rulecache.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    monkeypatch.setattr(rulecache, "PACKAGE", package)
    base = rulecache.cache_key([rules])
    assert base is not None
    changed = [*sorted(package.rglob("*.py")), *sorted(rules.rglob("*.yaml"))]
    assert any("_vocab" in str(p) for p in changed) and any("parse" in str(p) for p in changed)
    for p in changed:
        st = p.stat()
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        key = rulecache.cache_key([rules])
        assert key != base, p
        base = key


def test_tests_use_their_own_cache_folder() -> None:
    assert os.environ["LOGCLASSIFY_CACHE_DIR"] == TEST_CACHE
    assert Path.home() / ".cache" not in cache_dir().parents
    out = run_cli("--format", "json", str(ROOT / "examples" / "server.log"))
    assert out.returncode in (0, 1) and any(Path(TEST_CACHE).iterdir())
