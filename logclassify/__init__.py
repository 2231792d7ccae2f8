"""logclassify: read logs and tracebacks from LLM-serving stacks and say what went wrong, why, and how to fix it.

    >>> import logclassify
    >>> report = logclassify.classify(open("server.log").read())
    >>> report.headline.id if report.headline else None

`Classifier` compiles the rules once and is safe to share between threads; `classify()` uses a shared default one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable

from logclassify.engine.classifier import Classifier, InputFormat, load_rules
from logclassify.engine.loader import CompiledRule, RuleError
from logclassify.models import Diagnosis, Evidence, Phase, Report, Severity, Suggestion, Unrecognized
from logclassify.read.sources import InputError

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
    "load_rules",
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
    data: str | bytes | Iterable[str], *, source: str = "<text>", input_format: InputFormat = "auto"
) -> Report:
    """Classify a log, or a Markdown issue body, given as text, bytes or an iterable of lines."""
    return default_classifier().classify(data, source=source, input_format=input_format)


def classify_file(path: str | os.PathLike[str], *, input_format: InputFormat = "auto") -> Report:
    """Classify a file (plain or gzip); `-` reads stdin."""
    return default_classifier().classify_path(path, input_format=input_format)
