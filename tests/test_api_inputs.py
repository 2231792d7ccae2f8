"""The library takes a log in every form a caller has it in: text, bytes, text or binary file objects (BytesIO,
StringIO, open files), iterables of str or bytes lines; the redaction options and custom rules everywhere."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import logclassify
from tests.conftest import FIXTURES

LOG = FIXTURES / "memory" / next(p.name for p in (FIXTURES / "memory").glob("*.log") if "oom" in p.name)
SECRET = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"


def _text() -> str:
    return LOG.read_text(encoding="utf-8")


def _same(report: logclassify.Report) -> dict[str, Any]:
    data = report.model_dump()
    data.pop("source")
    return data


FORMS: dict[str, Callable[[Path], Any]] = {
    "BytesIO": lambda p: io.BytesIO(p.read_bytes()),
    "StringIO": lambda p: io.StringIO(p.read_text(encoding="utf-8")),
    "binary file": lambda p: p.open("rb"),
    "text file": lambda p: p.open("r", encoding="utf-8"),
    "bytes lines": lambda p: p.read_bytes().splitlines(keepends=True),
    "bytes lines without newlines": lambda p: iter(p.read_bytes().splitlines()),
    "str lines": lambda p: p.read_text(encoding="utf-8").splitlines(),
    "bytearray": lambda p: bytearray(p.read_bytes()),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_every_form_gives_the_same_report(form: str) -> None:
    expected = _same(logclassify.classify(_text()))
    assert expected["diagnoses"], LOG
    data = FORMS[form](LOG)
    try:
        got = logclassify.classify(data)
    finally:
        if hasattr(data, "close"):
            data.close()
    assert _same(got) == expected


def test_bytes_that_are_not_utf8() -> None:
    lines = [b"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB \xff\xfe\n", b"\xc3(\n"]
    assert logclassify.classify(iter(lines)).headline is not None
    assert logclassify.classify(io.BytesIO(b"".join(lines))).headline is not None


def test_a_markdown_issue_as_a_file_object() -> None:
    body = f"### Describe the bug\n\n```text\n{_text()}```\n"
    expected = _same(logclassify.classify(body, input_format="markdown"))
    assert _same(logclassify.classify(io.StringIO(body), input_format="markdown")) == expected
    assert _same(logclassify.classify(io.BytesIO(body.encode()), input_format="markdown")) == expected


def _with_secret(tmp_path: Path) -> Path:
    log = tmp_path / "server.log"
    text = _text().replace("CUDA out of memory.", f"CUDA out of memory. (on 10.1.2.3 with token {SECRET})", 1)
    log.write_text(text, encoding="utf-8")
    return log


def test_classifier_classify_path_takes_the_redact_options(tmp_path: Path) -> None:
    clf = logclassify.Classifier()
    log = _with_secret(tmp_path)
    text = log.read_text(encoding="utf-8")
    for report in (clf.classify_path(log, redact=True), clf.classify(text, redact=True)):
        dumped = report.model_dump_json()
        assert SECRET not in dumped and "10.1.2.3" in dumped
    for report in (clf.classify_path(log, redact_hosts=True), clf.classify(text, redact_hosts=True)):
        dumped = report.model_dump_json()
        assert SECRET not in dumped and "10.1.2.3" not in dumped
    assert SECRET in clf.classify_path(log).model_dump_json()  # unchanged unless asked


RULE = """\
id: my-widget-broke
title: The widget broke
severity: error
confidence: 0.9
tags: [custom]
cause: The widget broke.
fix: [Repair the widget.]
match:
  contains: 'WidgetError: the widget broke'
"""


def test_classify_issue_takes_custom_rules(tmp_path: Path) -> None:
    (tmp_path / "my-widget-broke.yaml").write_text(RULE, encoding="utf-8")
    clf = logclassify.Classifier(logclassify.load_rules(tmp_path))
    body = f"### Describe the bug\n\n```text\nWidgetError: the widget broke\ntoken {SECRET}\n```\n"
    report = logclassify.classify_issue(body, classifier=clf)
    assert [d.id for d in report.diagnoses] == ["my-widget-broke"]
    assert SECRET not in report.model_dump_json()  # still redacted by default
    assert logclassify.classify_issue(body).diagnoses == []  # the built-in rules do not know it


def test_redaction_function_is_public_and_typed() -> None:
    import inspect

    sig = inspect.signature(logclassify.redact_text)
    assert list(sig.parameters) == ["text", "hosts"] and sig.return_annotation in (str, "str")
    assert "redact_text" in logclassify.__all__ and "redact_report" in logclassify.__all__
    assert logclassify.redact_text(f"HF_TOKEN={SECRET}") == "HF_TOKEN=<redacted>"
