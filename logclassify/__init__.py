"""logclassify: read logs and tracebacks from LLM-serving stacks and say what went wrong, why, and how to fix it.

    >>> import logclassify
    >>> report = logclassify.classify(open("server.log").read())
    >>> report.headline.id if report.headline else None

`Classifier` compiles the rules once and is safe to share between threads; `classify()` uses a shared default one.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logclassify.engine.classifier import Classifier, InputFormat, load_rules
    from logclassify.engine.loader import CompiledRule, RuleError
    from logclassify.models import Diagnosis, Evidence, Phase, Report, Severity, Suggestion, Unrecognized
    from logclassify.read.sources import InputError, LogData
    from logclassify.redact import redact_report, redact_text

# The public names, imported from their modules on first use (PEP 562): `import logclassify` and the command's
# `--version` and `--help` do not load the engine (~60 modules); `from logclassify import Classifier` loads it.
_LAZY = {
    "Classifier": "logclassify.engine.classifier",
    "InputFormat": "logclassify.engine.classifier",
    "load_rules": "logclassify.engine.classifier",
    "CompiledRule": "logclassify.engine.loader",
    "RuleError": "logclassify.engine.loader",
    **dict.fromkeys(("Diagnosis", "Evidence", "Phase", "Report", "Severity", "Suggestion", "Unrecognized"),
                    "logclassify.models"),
    "InputError": "logclassify.read.sources",
    "LogData": "logclassify.read.sources",
    "redact_report": "logclassify.redact",
    "redact_text": "logclassify.redact",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'logclassify' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})

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
        from logclassify.engine.classifier import Classifier

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
