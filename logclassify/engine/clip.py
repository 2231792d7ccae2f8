"""Input text in a report is cut to a bounded length as the very last step, after redaction.

Cutting first would leave a secret's prefix behind (`hf_aBcD` is no longer a token any pattern knows), so the
pipeline keeps whole lines until the report is finished: `finish_report` redacts when asked, then cuts.
"""

from __future__ import annotations

import dataclasses

from logclassify.models import Diagnosis, Evidence, Report, Unrecognized

EVIDENCE_CHARS = 500  # an evidence line (and its message)
UNRECOGNIZED_EVIDENCE_CHARS = 400
ERROR_CHARS = 300  # the one-line summary of an unrecognised failure


def _evidence(ev: Evidence, limit: int) -> Evidence:
    if len(ev.text) <= limit and (ev.message is None or len(ev.message) <= limit):
        return ev
    return dataclasses.replace(ev, text=ev.text[:limit], message=ev.message[:limit] if ev.message else ev.message)


def _unrecognized(u: Unrecognized) -> Unrecognized:
    return dataclasses.replace(
        u, error=u.error[:ERROR_CHARS], evidence=[_evidence(e, UNRECOGNIZED_EVIDENCE_CHARS) for e in u.evidence]
    )


def _diagnosis(d: Diagnosis) -> Diagnosis:
    return dataclasses.replace(
        d, evidence=[_evidence(e, EVIDENCE_CHARS) for e in d.evidence], consequences=[_diagnosis(c) for c in d.consequences]
    )


def clip_report(report: Report) -> Report:
    """The report with every evidence line and error summary cut to its limit."""
    return dataclasses.replace(
        report,
        diagnoses=[_diagnosis(d) for d in report.diagnoses],
        unrecognized=[_unrecognized(u) for u in report.unrecognized],
    )


def finish_report(report: Report, *, redact: bool = False, redact_hosts: bool = False) -> Report:
    """Redact (secrets; with `redact_hosts` addresses too), then cut: the order that leaves nothing half-hidden."""
    if redact or redact_hosts:
        from logclassify.redact import redact_report

        report = redact_report(report, hosts=redact_hosts)
    return clip_report(report)
