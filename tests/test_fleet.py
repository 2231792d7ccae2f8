"""`logclassify fleet` and the Ray Data adapter (issue 12, section 1).

The rows of a fleet run must say what `logclassify --format jsonl` says of the same files: both are compared on a
few hundred real logs (fixtures/, tests/data/corpus) and generated ones (gzipped, damaged, docker-timestamped,
concatenated). The Ray tests run Ray in local mode with 2 CPUs, once for the module, and shut it down; they are
skipped where Ray is not installed (pip install -e '.[test,ray]'; CI installs it).
"""

from __future__ import annotations

import ast
import gzip
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from logclassify.cli import main
from logclassify.fleet.rows import parse_time
from logclassify.fleet.rulepack import RulePack
from logclassify.fleet.sources import Source, is_uri
from logclassify.fleet.summary import Summary
from tests.conftest import CORPUS, FIXTURES, ROOT, run_cli

# found, not imported: importing Ray at collection would grow the pytest process by ~100 MB, and the memory limits of
# other tests measure children forked from it
HAVE_ARROW = importlib.util.find_spec("pyarrow") is not None
HAVE_RAY = importlib.util.find_spec("ray") is not None

needs_arrow = pytest.mark.skipif(not HAVE_ARROW, reason="pyarrow is not installed (pip install -e '.[test,ray]')")
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed (pip install -e '.[test,ray]'; CI has it)")

CUSTOM_RULE = ("id: other.flux\ntitle: Flux capacitor\nseverity: error\ncause: The flux capacitor overheated.\n"
               "fix: [Cool it.]\nmatch: {contains: 'flux capacitor overheated'}\n")
FLUX_LOG = "INFO starting\nflux.FluxError: the flux capacitor overheated\n"


# -- the logs ----------------------------------------------------------------------------------------------------

def _real_logs() -> list[Path]:
    return sorted(FIXTURES.rglob("*.log")) + sorted(CORPUS.glob("*.log"))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Logs made from the real ones: gzipped, cut inside the gzip stream, each line under a docker/CRI timestamp,
    two logs concatenated, an empty one, and one only a custom rule knows."""
    out = tmp_path_factory.mktemp("generated")
    real = _real_logs()
    for i, log in enumerate(real[::7]):
        data = log.read_bytes()
        (out / f"gz-{i:03}.log.gz").write_bytes(gzip.compress(data))
        if i % 5 == 0:
            (out / f"cut-{i:03}.log.gz").write_bytes(gzip.compress(data * 20)[: len(data) // 2 + 40])
    for i, log in enumerate(real[3::11]):
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        day = 1 + i % 28
        stamped = [f"2025-03-{day:02}T10:{n // 60 % 60:02}:{n % 60:02}.123456789Z stderr F {line}"
                   for n, line in enumerate(lines)]
        (out / f"cri-{i:03}.log").write_text("\n".join(stamped) + "\n", encoding="utf-8")
    for i, (a, b) in enumerate(zip(real[1::17], real[2::17], strict=False)):
        (out / f"cat-{i:03}.log").write_bytes(a.read_bytes() + b.read_bytes())
    (out / "empty.log").write_bytes(b"")
    (out / "flux.log").write_text(FLUX_LOG, encoding="utf-8")
    (out / "notes.md").write_text("My server broke:\n\n```\n" + (FIXTURES / "cuda").joinpath(
        sorted(p.name for p in (FIXTURES / "cuda").glob("*.log"))[0]).read_text(encoding="utf-8") + "```\n",
        encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def inputs(generated: Path) -> list[str]:
    return [str(FIXTURES), str(CORPUS), str(generated)]


def expected_row(obj: dict[str, Any]) -> dict[str, Any]:
    """What a fleet row must hold, read from one object of `logclassify --format jsonl` (written apart from
    logclassify.fleet.rows, so that a mistake there shows)."""
    diagnoses = obj["diagnoses"]
    cause = next((d for d in diagnoses if d["severity"] != "info"), diagnoses[0] if diagnoses else None)
    facts = obj["facts"]
    return {
        "source": obj["source"],
        "ids": [d["id"] for d in diagnoses],
        "cause_id": cause["id"] if cause else None,
        "cause_severity": cause["severity"] if cause else None,
        "cause_confidence": cause["confidence"] if cause else None,
        "unrecognized": [u["fingerprint"] for u in obj["unrecognized"]],
        "vllm_version": facts.get("vllm_version"),
        "engine": facts.get("engine"),
        "gpu_names": facts.get("gpu_names", []),
        "tensor_parallel_size": facts.get("tensor_parallel_size"),
        "pipeline_parallel_size": facts.get("pipeline_parallel_size"),
        "lines": obj["lines"],
        "error": obj["error"],
    }


@pytest.fixture(scope="module")
def scanned(inputs: list[str]) -> list[dict[str, Any]]:
    """`logclassify --format jsonl` of the inputs: one object per log."""
    r = run_cli("--format", "jsonl", "-j", "2", *inputs, timeout=300)
    assert r.returncode in (0, 2), r.stderr  # 2: the cut gzip files are named as read in part
    return [json.loads(line) for line in r.stdout.decode().splitlines()]


@pytest.fixture(scope="module")
def expected(scanned: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [expected_row(obj) for obj in scanned]
    assert len(rows) > 300
    return rows


def without_time(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("seen", "seen_from")}


def _fleet(*args: str) -> Any:
    return CliRunner().invoke(main, ["fleet", *args], catch_exceptions=False)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_table(path).to_pylist())
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- without Ray ---------------------------------------------------------------------------------------------------

def test_local_rows_equal_the_scan_commands_jsonl(inputs: list[str], expected: list[dict[str, Any]],
                                                  tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    result = _fleet(*inputs, "-o", str(out), "-j", "2", "--summary-json", str(tmp_path / "s.json"))
    assert result.exit_code == 2  # the cut gzip files: read in part, named on stderr
    rows = _read_rows(out)
    assert [without_time(r) for r in rows] == expected
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["logs"] == len(expected)
    assert sum(c["count"] for c in summary["causes"]) + sum(u["count"] for u in summary["unrecognized"]) + \
        summary["healthy"] + summary["not_read"] == len(expected)


def test_seen_comes_from_the_logs_dates_else_the_files_mtime(inputs: list[str], scanned: list[dict[str, Any]],
                                                              tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    _fleet(*inputs, "-o", str(out), "-j", "2", "-q")
    rows = _read_rows(out)
    dated = 0
    for obj, row in zip(scanned, rows, strict=True):
        expect = expected_row(obj)
        cause = next(d for d in obj["diagnoses"] if d["id"] == expect["cause_id"]) if expect["cause_id"] else None
        first = min(cause["evidence"], key=lambda e: e["line"])["text"] if cause and cause["evidence"] else ""
        if re.match(r"\s*\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d", first):  # a full date starts the line
            dated += 1
            assert row["seen_from"] == "log", (row, first)
            if Path(row["source"]).name.startswith("cri-") and first.startswith("2025-03-"):  # a generated CRI line
                assert row["seen"][:19] == first[:19], (row, first)
        else:
            mtime = datetime.fromtimestamp(os.stat(row["source"]).st_mtime, tz=timezone.utc)
            assert row["seen_from"] == "mtime" and row["seen"] == mtime.isoformat().replace("+00:00", "Z"), row
    assert dated >= 5


@needs_arrow
def test_parquet_output_has_typed_columns(generated: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "rows.parquet"
    assert _fleet(str(generated / "flux.log"), str(generated / "cri-000.log"), "-o", str(out)).exit_code == 0
    table = pq.read_table(out)
    assert table.schema.field("ids").type == pa.list_(pa.string())
    assert table.schema.field("seen").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("tensor_parallel_size").type == pa.int64()
    assert table.num_rows == 2


def test_custom_rules_and_summary_on_stdout(generated: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "flux.yaml").write_text(CUSTOM_RULE)
    out = tmp_path / "rows.jsonl"
    result = _fleet(str(generated / "flux.log"), str(generated / "empty.log"), "-o", str(out), "--rules", str(rules))
    rows = _read_rows(out)
    assert [r["cause_id"] for r in rows] == ["other.flux", None]
    assert "other.flux" in result.output and "50.0%" in result.output and "no failure found" in result.output


def test_usage_errors_are_named(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("hello\n")
    for args, said in ((["-o", "x.csv"], ".parquet or .jsonl"), (["-o", "x.jsonl", "--ray", str(tmp_path)],
                                                                   "not a Ray address"),
                       (["-o", "x.jsonl", "--workers", "2"], "--workers applies to --ray")):
        result = CliRunner().invoke(main, ["fleet", str(log), *args])
        assert result.exit_code == 2 and said in result.output, (args, result.output)


def test_a_missing_input_is_named_and_the_others_still_get_rows(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(FLUX_LOG)
    out = tmp_path / "rows.jsonl"
    r = run_cli("fleet", str(tmp_path / "a.log"), str(tmp_path / "missing.log"), "-o", str(out), "-q")
    assert r.returncode == 2 and b"missing.log: no such file" in r.stderr
    assert [row["error"] for row in _read_rows(out)] == [None, "no such file"]


def test_ray_missing_is_said_plainly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    (tmp_path / "a.log").write_text(FLUX_LOG)
    result = CliRunner().invoke(main, ["fleet", str(tmp_path / "a.log"), "-o", str(tmp_path / "r.jsonl"), "--ray"])
    assert result.exit_code == 2 and "pip install 'logclassify[ray]'" in result.output


@needs_arrow
def test_uris_through_pyarrow_give_the_same_rows(generated: Path, tmp_path: Path) -> None:
    """file:// goes through pyarrow's file systems, as s3:// and gs:// do: listing, gzip, damage, Markdown."""
    local, remote = tmp_path / "local.jsonl", tmp_path / "remote.jsonl"
    _fleet(str(generated), "-o", str(local), "-q")
    _fleet(generated.as_uri() + "/", "-o", str(remote), "-q")
    a, b = _read_rows(local), _read_rows(remote)
    assert len(a) == len(b) > 50
    for x, y in zip(a, b, strict=True):
        assert y["source"] == generated.as_uri() + "/" + Path(x["source"]).name
        assert {**without_time(y), "source": x["source"]} == without_time(x)
    assert any("damaged gzip data" in (r["error"] or "") for r in b)


def test_time_parsing() -> None:
    utc = timezone.utc
    assert parse_time("2024-01-05T10:00:00.123456789Z") == datetime(2024, 1, 5, 10, 0, 0, 123456, tzinfo=utc)
    assert parse_time("2024-01-05 12:00:00,5 +02:00") == datetime(2024, 1, 5, 10, 0, 0, 500000, tzinfo=utc)
    assert parse_time("2024-01-05 10:00:00") == datetime(2024, 1, 5, 10, tzinfo=utc)
    assert parse_time("06-10 21:32:17") is None  # vLLM's prefix has no year
    assert parse_time("2024-02-30T10:00:00Z") is None


def test_summary_counts_each_log_once_under_its_root_cause() -> None:
    s = Summary()
    t1, t2 = datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2025, 2, 1, tzinfo=timezone.utc)
    base = {"ids": [], "cause_id": None, "cause_severity": None, "unrecognized": [], "error": None, "lines": 5,
            "seen": None, "seen_from": None}
    for i, seen in enumerate((t2, t1, None, t2)):
        s.add({**base, "source": f"oom{i}", "cause_id": "cuda-oom", "cause_severity": "error", "seen": seen,
               "seen_from": "log" if seen else None})
    s.add({**base, "source": "note", "cause_id": "sampling-defaults", "cause_severity": "info"})
    s.add({**base, "source": "unk", "unrecognized": ["fluxerror:1234"]})
    s.add({**base, "source": "gone", "error": "no such file", "lines": 0})
    d = s.as_dict()
    assert d["logs"] == 7 and d["healthy"] == 1 and d["not_read"] == 1
    assert d["causes"] == [{"id": "cuda-oom", "count": 4, "share": round(4 / 7, 4), "first_seen": "2025-01-01T00:00:00Z",
                            "last_seen": "2025-02-01T00:00:00Z", "examples": ["oom0", "oom1", "oom2"]}]
    assert d["unrecognized"][0]["id"] == "fluxerror:1234"
    text = s.render()
    assert "cuda-oom" in text and "57.1%" in text and "2025-01-01 00:00" in text and "unrecognised fluxerror:1234" in text


def test_rule_pack_carries_the_folders_and_names_a_missing_one(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    (rules / "sub").mkdir(parents=True)
    (rules / "sub" / "flux.yaml").write_text(CUSTOM_RULE)
    (rules / "fixtures").mkdir()
    (rules / "fixtures" / "big.yaml").write_text("not: a rule\n")
    pack = RulePack.of([str(rules)])
    assert [name for name, _ in pack.folders[0]] == ["sub/flux.yaml"]
    report = pack.classifier().classify(FLUX_LOG)
    assert report.headline is not None and report.headline.id == "other.flux"
    with pytest.raises(ValueError, match="nowhere: no such rules folder"):
        RulePack.of([str(tmp_path / "nowhere")])


def test_uri_detection() -> None:
    assert is_uri("s3://bucket/x.log") and is_uri("file:///tmp/x") and not is_uri("/tmp/x.log")
    assert not is_uri("C:/logs/x.log") and not is_uri("logs/a:b.log")


# -- nothing in the core imports Ray -------------------------------------------------------------------------------

def test_ray_is_imported_only_by_the_ray_layer() -> None:
    """Read from the source: only logclassify/fleet/ray_batch.py and the command that calls it import ray."""
    allowed = {"logclassify/fleet/ray_batch.py", "logclassify/fleet/cli.py"}
    found = set()
    for path in sorted((ROOT / "logclassify").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "ray" or n.startswith("ray.") for n in names):
                found.add(path.relative_to(ROOT).as_posix())
    assert found and found <= allowed, found - allowed


def test_a_scan_and_a_local_fleet_run_do_not_import_ray(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text(FLUX_LOG)
    code = f"""
import sys
from logclassify.cli import main
for args in ([{str(log)!r}, "--format", "json"], ["fleet", {str(log)!r}, "-o", {str(tmp_path / 'r.jsonl')!r}, "-q"]):
    try:
        main(args)
    except SystemExit:
        pass
import logclassify
logclassify.classify_file({str(log)!r})
print(sorted(m for m in ("ray", "pyarrow") if m in sys.modules))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"


# -- Ray, in local mode ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    import ray

    from logclassify.fleet import ray_batch

    assert not ray.is_initialized()
    ray_batch.connect("local", quiet=True, num_cpus=2)
    try:
        yield
    finally:
        ray.shutdown()


@needs_ray
def test_ray_rows_equal_the_scan_commands_jsonl(local_ray: None, inputs: list[str],
                                                expected: list[dict[str, Any]], tmp_path: Path) -> None:
    """Through the command, in the Ray session of this module (the command joins it instead of starting one)."""
    out = tmp_path / "rows.parquet"
    result = _fleet(*inputs, "-o", str(out), "--ray", "--workers", "2", "-q")
    assert result.exit_code == 2  # the cut gzip files
    rows = _read_rows(out)
    assert [without_time(r) for r in rows] == expected
    assert all(isinstance(r["seen"], datetime) for r in rows if r["seen_from"])


@needs_ray
def test_ray_workers_get_the_custom_rules(local_ray: None, generated: Path, tmp_path: Path) -> None:
    from logclassify.fleet import ray_batch

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "flux.yaml").write_text(CUSTOM_RULE)
    sources = [Source("flux", str(generated / "flux.log")), Source("empty", str(generated / "empty.log"))]
    rows = list(ray_batch.iter_rows(ray_batch.classify_sources(sources, rules=RulePack.of([str(rules)]), workers=2)))
    assert [(r["source"], r["cause_id"]) for r in rows] == [("flux", "other.flux"), ("empty", None)]


@needs_ray
def test_ray_classifies_a_column_of_texts(local_ray: None) -> None:
    import ray

    import logclassify
    from logclassify.fleet import ray_batch
    from logclassify.fleet.rows import row_of

    texts = [(p.name, p.read_text(encoding="utf-8", errors="replace")) for p in _real_logs()[:40]]
    texts.append(("issue", "My server broke:\n\n```\n" + texts[0][1] + "```\n"))
    ds = ray.data.from_items([{"url": name, "body": text} for name, text in texts])
    rows = list(ray_batch.iter_rows(ray_batch.classify_texts(ds, text_column="body", source_column="url", workers=2)))
    want = [row_of(logclassify.classify(text, source=name, redact=True)) for name, text in texts]
    assert rows == want
    assert rows[-1]["cause_id"] == rows[0]["cause_id"]  # the issue body is read as Markdown
