"""The public result types: dataclasses whose dumps must equal pydantic's, validated by pydantic on the way in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest
import yaml
from pydantic import TypeAdapter

import logclassify
from logclassify.models import Diagnosis, Evidence, Report, Severity

ROOT = Path(__file__).resolve().parent.parent


def _expects_a_diagnosis(log: Path) -> bool:
    """Whether the fixture's expect file names at least one id (negatives and many healthy logs yield nothing)."""
    expect = log.with_name(log.name[: -len(".log")] + ".expect.yaml")
    return expect.is_file() and bool(yaml.safe_load(expect.read_text(encoding="utf-8")).get("expect"))


# a spread of areas and rule kinds; logs that yield nothing have nothing to compare, so the sample takes positive
# fixtures only (a sample by position alone picked a 9-line healthy banner once new fixtures shifted it)
LOGS = sorted(p for p in (ROOT / "fixtures").rglob("*.log") if _expects_a_diagnosis(p))[::7]


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.stem)
def test_dumps_equal_pydantics(log: Path) -> None:
    report = logclassify.classify_file(log)
    assert report.diagnoses or report.timeline or report.unrecognized  # something to compare
    adapter = TypeAdapter(Report)
    assert report.model_dump(mode="json") == adapter.dump_python(report, mode="json")
    assert report.model_dump() == adapter.dump_python(report)
    assert report.model_dump_json() == adapter.dump_json(report).decode()
    assert report.model_dump_json(indent=2) == adapter.dump_json(report, indent=2).decode()
    assert Report.model_validate_json(report.model_dump_json()) == report
    assert Report.model_validate(json.loads(report.model_dump_json(indent=2))) == report


def test_validation_rejects_bad_data() -> None:
    good = {"id": "x", "title": "t", "severity": "error", "confidence": 0.5, "cause": "c"}
    assert Diagnosis.model_validate(good).severity is Severity.error
    for bad in ({**good, "confidence": 1.5}, {**good, "severity": "fatal"}, {k: v for k, v in good.items() if k != "id"}):
        with pytest.raises(pydantic.ValidationError):
            Diagnosis.model_validate(bad)
    with pytest.raises(ValueError, match="confidence"):
        Diagnosis(id="x", title="t", severity=Severity.info, confidence=-0.1, cause="c")


def test_json_schema_describes_fields() -> None:
    schema = Report.model_json_schema()
    diag = schema["$defs"]["Diagnosis"]
    assert set(diag["required"]) == {"id", "title", "severity", "confidence", "cause"}
    assert "folded under it" in diag["properties"]["consequences"]["description"]
    assert schema["properties"]["error"]["description"].startswith("Why the input could not be read")


def test_model_copy() -> None:
    e = Evidence(line=3, text="boom")
    d = Diagnosis(id="x", title="t", severity=Severity.error, confidence=0.5, cause="c", evidence=[e])
    shallow = d.model_copy(update={"title": "u"})
    assert (shallow.title, d.title, shallow.evidence[0] is e) == ("u", "t", True)
    deep = d.model_copy(deep=True)
    assert deep == d and deep.evidence[0] is not e


def test_a_scan_does_not_import_pydantic(tmp_path: Path) -> None:
    """pydantic costs ~60 ms of start-up: a scan (library or command) must not need it; validating rules does."""
    log = next(p for p in LOGS if "nccl" in p.name.lower() or "oom" in p.name.lower())
    code = f"""
import sys
from logclassify.cli import main
try:
    main([{str(log)!r}, "--format", "json"])
except SystemExit:
    pass
import logclassify
logclassify.classify_file({str(log)!r}, redact=True)
print("pydantic" in sys.modules, "logclassify.engine.schema" in sys.modules)
"""
    env = {**os.environ, "LOGCLASSIFY_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                           env=env).stdout.strip().splitlines()[-1] for _ in range(2)]
    assert runs == ["True True", "False False"]  # the first run compiles the rules and fills the cache
