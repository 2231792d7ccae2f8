"""Remove secrets (and, when asked, addresses) from what logclassify prints, so a bot can post it publicly.

Logs pasted into issues carry Hugging Face tokens (`HF_TOKEN=hf_...` in a docker command), `--api-key` values,
bearer tokens, passwords in proxy or registry URLs and e-mail addresses. Redaction works on the finished `Report`:
every string that came from the input (evidence, captures, errors, facts, and the cause and fix texts that captures
were filled into) is rewritten; rule-authored links (`docs`) are kept. `hosts=True` also masks IP addresses and host
names, except well-known public services whose names say nothing about the reporter's machines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from enum import Enum
from typing import TypeVar

import regex

from logclassify.lazyre import LazyPattern, lazy
from logclassify.models import Diagnosis, PublicModel, Report
from logclassify.secret_patterns import REDACTED, is_secret_name, redact_secrets

__all__ = ["REDACTED", "redact_model", "redact_report", "redact_text"]

_T = TypeVar("_T", bound=PublicModel)
_RULE_TEXT = frozenset({"docs", "title", "cause", "fix", "consequences"})

# Public services: masking them protects no one and hides useful context.
_PUBLIC = lazy(
    r"(?:^|\.)(?:github\.com|githubusercontent\.com|huggingface\.co|hf\.co|vllm\.ai|pytorch\.org|nvidia\.com|"
    r"python\.org|pypi\.org|docker\.io|docker\.com|ghcr\.io|nvcr\.io|ray\.io|readthedocs\.io|googleapis\.com|"
    r"amazonaws\.com|modelscope\.cn|localhost)$",
    regex.IGNORECASE,
)
_TLDS = (
    "com|net|org|io|ai|dev|cloud|app|co|cn|de|uk|fr|jp|kr|in|us|eu|ru|edu|gov|internal|local|lan|corp|intra|home|"
    "cluster|svc|private"
)
_IPV4 = lazy(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w]|\.\d)")
_H = r"[0-9a-fA-F]{1,4}"
_IPV6 = lazy(
    rf"(?<![\w:.])(?:(?:{_H}:){{7}}{_H}|(?:{_H}:){{1,6}}:(?:{_H}(?::{_H}){{0,5}})?|::(?:{_H}:){{0,5}}{_H})(?![\w:])"
)
_FQDN = lazy(rf"(?<![\w.@/-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+(?:{_TLDS})(?![\w.(-])")
# Host names in known places: URLs, `host=`/`--host`, MASTER_ADDR, journald's `Mon DD HH:MM:SS host unit[pid]:`.
_HOST_SLOTS: tuple[LazyPattern, ...] = (
    lazy(r"(?P<keep>\b[a-z][a-z0-9+.-]*://(?:[^\s@/]+@)?)(?P<host>[A-Za-z0-9][\w.-]*)", regex.IGNORECASE),
    lazy(r"(?P<keep>\b(?:host(?:name)?|node|addr|master_addr|MASTER_ADDR|HOST_IP|VLLM_HOST_IP)\s*[=:]\s*['\"]?)"
                  r"(?P<host>[A-Za-z][\w.-]*)"),
    lazy(r"(?P<keep>--(?:host|master-addr)[= ])(?P<host>[A-Za-z][\w.-]*)"),
    lazy(r"(?P<keep>^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? )(?P<host>[\w.-]+)(?= [^\s:\[]+(?:\[\d+\])?: )"),
    lazy(r"(?P<keep>\b\w+@)(?P<host>[A-Za-z][\w-]*)(?=:[~/])"),  # shell prompt user@host:~
)


def _mask_host(m: regex.Match[str]) -> str:
    host = m["host"]
    if _PUBLIC.search(host) or host.lower() in ("localhost", "0.0.0.0") or _IPV4.fullmatch(host):
        return str(m[0])
    return f"{m['keep']}<host>"


def redact_text(text: str, *, hosts: bool = False) -> str:
    """The text with secrets replaced; with `hosts`, IP addresses and private host names too."""
    out = redact_secrets(text)
    if hosts:
        for slot in _HOST_SLOTS:
            out = slot.sub(_mask_host, out)
        out = _IPV4.sub(lambda m: m[0] if m[0] in ("0.0.0.0", "127.0.0.1") else "<ip>", out)
        out = _IPV6.sub("<ip>", out)
        out = _FQDN.sub(lambda m: m[0] if _PUBLIC.search(m[0]) else "<host>", out)
    return out


def _walk(value: object, fn: Callable[[str], str], keep: frozenset[str]) -> object:
    """`value` with `fn` applied to every string in it, except enum members and fields or keys named in `keep`."""
    if isinstance(value, Enum):
        return value
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, PublicModel):
        changes = {}
        for name in value.__dataclass_fields__:
            if name not in keep:
                v = getattr(value, name)
                changes[name] = _secret_value(name, fn(v)) if isinstance(v, str) else _walk(v, fn, keep)
        return dataclasses.replace(value, **changes)
    if isinstance(value, list):
        return [_walk(v, fn, keep) for v in value]
    if isinstance(value, dict):
        return {
            k: v if k in keep else _secret_value(k, fn(v)) if isinstance(v, str) else _walk(v, fn, keep)
            for k, v in value.items()
        }
    return value


def _secret_value(key: str, value: str) -> str:
    """A dict entry such as facts["env"]["HF_TOKEN"]: the name says it is a secret even when the value does not."""
    if value and is_secret_name(key):
        return REDACTED
    return value


def redact_model(model: _T, *, hosts: bool = False, keep: frozenset[str] = frozenset({"docs"})) -> _T:
    """A copy of a result model with every string redacted, except under the fields or keys in `keep` (any depth)."""

    def fn(s: str) -> str:
        return redact_text(s, hosts=hosts)

    clean: _T = _walk(model, fn, keep)  # type: ignore[assignment]
    return clean


def _diagnosis(d: Diagnosis, hosts: bool) -> Diagnosis:
    """Rule-authored text (title, cause, fix) is kept, except for the captured input values filled into it."""
    clean = redact_model(d, hosts=hosts, keep=_RULE_TEXT)
    filled = [*d.captures.values(), *(v.value for v in d.values)]  # input values filled into the rule's text
    changed = {v: redact_text(v, hosts=hosts) for v in filled if v}
    changed = {v: r for v, r in changed.items() if r != v}

    def fill(text: str) -> str:
        for value, masked in changed.items():
            text = text.replace(value, masked)
        return text

    return clean.model_copy(
        update={
            "title": fill(d.title),
            "cause": fill(d.cause),
            "fix": [fill(f) for f in d.fix],
            "consequences": [_diagnosis(c, hosts) for c in d.consequences],
        }
    )


def redact_report(report: Report, *, hosts: bool = False) -> Report:
    """A copy of the report that is safe to post: no tokens, keys, passwords or e-mails (no hosts with `hosts`)."""
    clean = redact_model(report, hosts=hosts, keep=frozenset({"diagnoses"}))
    return clean.model_copy(update={"diagnoses": [_diagnosis(d, hosts) for d in report.diagnoses]})
