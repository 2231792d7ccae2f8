"""Logs where a rule used to raise an alarm (a diagnosis above `info`) that was not the failure (eval/random4's
false-cause cases). Fixture ids cannot pin a severity, so each case here says what the rule must be on that log:
only a note (`info`), or absent; and, where the log's real failure is outside the rules, that the failure is still
reported as unrecognised rather than hidden behind the note.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from logclassify import Classifier
from logclassify.models import Severity

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# (fixture log, rule id, what it must be there: "info" or "absent", whether the failure stays unrecognised)
CASES = [
    # the EngineCore's device-side assert, pasted without its Traceback header, then 500s on the API server
    ("serving3/negative-server-request-errors-headerless-device-assert.log", "server-request-errors", "info", True),
    # a TypeError raised while serving, pasted without its header, then a 500
    ("serving3/negative-server-request-errors-headerless-typeerror.log", "server-request-errors", "info", True),
    # debug switches typed in front of the command of an issue, in pastes that stop before the error: notes only
    ("env/negative-debug-env-launch-blocking-typed-cut-paste.md", "debug-env-left-on", "info", False),
    ("env/negative-debug-env-trace-function-typed-cut-paste.log", "debug-env-left-on", "info", False),
]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier()


def _all(diagnoses: list) -> list:  # type: ignore[type-arg]
    out = []
    for d in diagnoses:
        out.append(d)
        out.extend(_all(d.consequences))
    return out


@pytest.mark.parametrize(("log", "rule", "want", "unrecognised"), CASES, ids=[c[0] for c in CASES])
def test_no_false_alarm(classifier: Classifier, log: str, rule: str, want: str, unrecognised: bool) -> None:
    report = classifier.classify_path(FIXTURES / log)
    found = [d for d in _all(report.diagnoses) if d.id == rule]
    if want == "absent":
        assert not found, f"{rule} fired on {log}"
    else:
        assert found, f"{rule} no longer fires on {log} (expected as a note)"
        assert all(d.severity is Severity.info for d in found), [(d.id, d.severity) for d in found]
    assert not [d for d in report.diagnoses if d.severity is not Severity.info], "an alarm remains"
    assert bool(report.unrecognized) is unrecognised, report.unrecognized
