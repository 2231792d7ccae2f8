"""logclassify: read logs and tracebacks from LLM-serving stacks and say what went wrong, why, and how to fix it.

    >>> import logclassify
    >>> report = logclassify.classify(open("server.log").read())
    >>> report.headline.id if report.headline else None

`Classifier` compiles the rules once and is safe to share between threads; `classify()` uses a shared default one.
"""

from __future__ import annotations

import os
import threading

from logclassify.engine.classifier import Classifier, InputFormat, load_rules
from logclassify.engine.loader import CompiledRule, RuleError
from logclassify.models import Diagnosis, Evidence, Phase, Report, Severity, Suggestion, Unrecognized
from logclassify.read.sources import InputError, LogData
from logclassify.redact import redact_report, redact_text

__version__ = "0.1.0"
__all__ = [
    "Classifier",
    "CompiledRule",
    "Diagnosis",
    "Evidence",
    "InputError",
    "Phase",
    "Report",
    "RuleError",
    "Severity",
    "Suggestion",
    "Unrecognized",
    "__version__",
    "classify",
    "classify_file",
    "classify_issue",
    "load_rules",
    "redact_report",
    "redact_text",
]

_default: Classifier | None = None
_default_lock = threading.Lock()


def default_classifier() -> Classifier:
    """The classifier with the built-in rules, built on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Classifier()
    return _default


def classify(
    data: LogData,
    *,
    source: str = "<text>",
    input_format: InputFormat = "auto",
    redact: bool = False,
    redact_hosts: bool = False,
) -> Report:
    """Classify a log, or a Markdown issue body, given as text, bytes, a text or binary file object (an open file,
    `io.BytesIO`, `io.StringIO`) or an iterable of str or bytes lines.

    `redact=True` removes tokens, API keys, passwords in URLs and e-mail addresses from the report;
    `redact_hosts=True` also masks IP addresses and host names.
    """
    return default_classifier().classify(
        data, source=source, input_format=input_format, redact=redact, redact_hosts=redact_hosts
    )


def classify_file(
    path: str | os.PathLike[str], *, input_format: InputFormat = "auto", redact: bool = False, redact_hosts: bool = False
) -> Report:
    """Classify a file (plain or gzip); `-` reads stdin."""
    return default_classifier().classify_path(path, input_format=input_format, redact=redact, redact_hosts=redact_hosts)


def classify_issue(
    markdown: str,
    *,
    source: str = "<issue>",
    redact: bool = True,
    redact_hosts: bool = False,
    classifier: Classifier | None = None,
) -> Report:
    """Classify a GitHub issue body: the logs in its code blocks and `<details>`, the versions from its
    "Your current environment" section. Redacted by default, since a bot posts the answer publicly.
    `classifier`: one built with your own rules (`Classifier(load_rules("my-rules/"))`); the built-in rules
    otherwise."""
    return (classifier or default_classifier()).classify(
        markdown, source=source, input_format="markdown", redact=redact, redact_hosts=redact_hosts
    )
