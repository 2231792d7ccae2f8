"""Failures no rule explains: the salient error, a fingerprint that groups duplicates, and look-alike known causes.

A support bot sees the same unknown failure from many machines and vLLM versions. The fingerprint therefore hashes
only what identifies the failure: the exception's short type and its message with everything machine-specific
masked (numbers, hex ids, paths, pids, IPs, host:port, timestamps, tensor shapes, model repo ids) and with the
wrappers vLLM puts around a worker's error ("Error in model execution: ...", "Worker failed with error '...'")
peeled off. Frame function names are used only when the message alone says too little (a bare AssertionError).

The nearest known causes compare the salient error with each rule's signatures, derived from the rule itself (its
regex and `contains` literals, exception patterns, title), so a new rule needs no code here.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import regex

from logclassify.engine.match import All, AnyOf, Context, ExceptionMatch, LineRegex, Matcher
from logclassify.lazyre import LazyPattern, lazy
from logclassify.models import Diagnosis, Evidence, Severity, Suggestion, Unrecognized
from logclassify.parse.traceback import ExceptionInfo, Traceback

if TYPE_CHECKING:
    from logclassify.engine.loader import CompiledRule

if sys.version_info >= (3, 11):
    import re._constants as sre_constants
    import re._parser as sre_parse
else:  # pragma: no cover - Python 3.10
    import sre_constants
    import sre_parse

MAX_RELATED = 3
MIN_SCORE = 0.55  # below this a "related" cause is noise
_FRAMES_WHEN_VAGUE = 2  # innermost frames hashed when the message has fewer than two words

# Order matters: whole structures (timestamps, IPs, paths) before the numbers inside them.
_MASKS: tuple[tuple[LazyPattern, str], ...] = (
    (lazy(r"\^M|\r"), ""),
    (lazy(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<ts>"),
    (lazy(r"\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b"), "<time>"),
    (lazy(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (lazy(r"\b[a-z][a-z0-9+.-]*://\S+", regex.IGNORECASE), "<url>"),
    (lazy(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", regex.IGNORECASE), "<uuid>"),
    (lazy(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (lazy(r"\[[0-9a-fA-F:]*:[0-9a-fA-F:]*\](?::\d+)?|\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b"), "<ip>"),
    (lazy(r"\b[A-Za-z][\w-]*(?:\.[\w-]+)*:\d{2,5}\b"), "<addr>"),  # host:port
    (lazy(r"(?:[A-Za-z]:)?(?:~|\.{1,2})?(?:[/\\][\w.@+~=-]+){2,}[/\\]?"), "<path>"),
    (lazy(r"\b[\w.-]+/[\w.-]+\b"), "<name>"),  # org/model, relative paths
    (lazy(r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b"), "<hex>"),
    (lazy(r"(?:torch\.Size\()?\[\s*-?\d+(?:\s*,\s*-?\d+)*\s*\]\)?|\(\s*-?\d+(?:\s*,\s*-?\d+)+\s*,?\s*\)"), "<shape>"),
    (lazy(r"\b(?:pid|tid|rank|local_rank|device|gpu|port)\s*[=:]?\s*\d+", regex.IGNORECASE), "<id>"),
    (lazy(r"\bcuda:\d+\b"), "cuda:<n>"),
    (lazy(r"[-+]?\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b"), "<n>"),
    (lazy(r"[\"`\u2018\u2019\u201c\u201d]"), "'"),
    (lazy(r"\s+"), " "),
)
# vLLM re-raises a worker's error inside these; the inner message is the failure.
_WRAPPERS: tuple[LazyPattern, ...] = (
    lazy(r"^Worker failed with error '(?P<inner>.+)', please check the stack trace above", regex.DOTALL),
    lazy(r"^Error in model execution(?: \(input dumped to [^)]*\))?: (?P<inner>.+)", regex.DOTALL),
    lazy(r"^(?:Exception|Error) raised from \w+: (?P<inner>.+)", regex.DOTALL),
)
# Exceptions that only say "the real error is elsewhere": use another traceback when there is one.
_WRAPPER_TYPES = frozenset({"RayTaskError", "EngineDeadError", "EngineGenerateError"})
_SEE_ABOVE = lazy(r"see (?:the )?root cause above|check the stack trace above|see stack trace above",
                           regex.IGNORECASE)
# Not failures: a user stopping the server, a clean exit.
_BENIGN = frozenset({"KeyboardInterrupt", "SystemExit", "CancelledError", "GeneratorExit", "StopIteration",
                     "BrokenPipeError"})
_QUIET_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "WARN"})
_EMBEDDED_EXC = lazy(
    r"(?:^|(?<=[\s\]):]))(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Failure))(?:: (?P<msg>\S.*)|\s*$)"
)
_FAILURE_LINE = lazy(
    r"^Killed\b|\bSegmentation fault\b|\bcore dumped\b|^Fatal Python error\b|\bBus error\b|\bOOMKilled\b"
    r"|\bexit(?:ed)? with (?:exit )?(?:code|status) -?[1-9]|\bexit code:? -?[1-9]|\bexitcode[=: ]+-?[1-9]"
    r"|returned non-zero exit status|\b(?:terminated|killed) by signal\b"
    r"|^Error\b:|^[\w.-]+: (?:[\w ]{0,20} )?error\b",
    regex.IGNORECASE,
)
_PY_WARNING = lazy(r"^\S+:\d+: \w*Warning: ")  # warnings.warn() output on stderr
_WRAPPER_LINE = lazy(
    r"^Exception in worker \S+ while processing method|^Error executing method \w+|^Worker \S+ died|EngineCore failed"
    r"|^Traceback|Engine core initialization failed|see (?:the )?root cause above",
    regex.IGNORECASE,
)
_HEADER = lazy(r"^\d+ validation errors? for \w+$|^Error raised in subprocess:?$")
_TRACE_FRAGMENT = lazy(r'^\s|^File "|^Traceback \(|^\^+$')


# -- fingerprint ------------------------------------------------------------------------------------------


def mask(text: str) -> str:
    """The text with what varies between occurrences of one failure replaced by placeholders."""
    out = text.strip()
    for pattern, repl in _MASKS:
        out = pattern.sub(repl, out)
    return out.strip().rstrip(".").strip()


def unwrap(message: str) -> str:
    """The inner error of a message vLLM wrapped around a worker's error (repeatedly)."""
    msg = message.strip()
    for _ in range(4):
        for w in _WRAPPERS:
            m = w.match(msg)
            if m is not None:
                msg = m["inner"].strip()
                break
        else:
            return msg
    return msg


def summary(message: str) -> str:
    """The message's first line, or its first lines when the first is only a header (`1 validation error for X`)."""
    lines = [ln.strip() for ln in message.strip().split("\n") if ln.strip()]
    out: list[str] = []
    for ln in lines[:3]:
        out.append(ln)
        text = " ".join(out)
        if len(regex.findall(r"[A-Za-z]{3,}", text)) >= 6 and not ln.endswith(":") and not _HEADER.search(ln):
            break
    return " ".join(out)[:300]


def fingerprint(exc_type: str, message: str, functions: Sequence[str] = ()) -> str:
    """`<type-slug>:<10 hex>`, equal for the same failure on any machine or vLLM version."""
    short = exc_type.split("(", 1)[0].rsplit(".", 1)[-1]
    masked = mask(summary(unwrap(message))).lower()
    words = regex.findall(r"[a-z]{3,}", regex.sub(r"<\w+>", " ", masked))
    basis = [short, masked]
    if len(words) < 2:
        basis.extend(functions[-_FRAMES_WHEN_VAGUE:])
    slug = regex.sub(r"[^a-z0-9]+", "-", short.lower()).strip("-") or "error"
    import hashlib  # only when there is an unrecognised failure to fingerprint

    return f"{slug}:{hashlib.sha1('|'.join(basis).encode()).hexdigest()[:10]}"


# -- the salient error ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Salient:
    """The error a person would quote, with where it is and what identifies it."""

    type: str
    message: str
    line: int
    evidence: tuple[Evidence, ...]
    functions: tuple[str, ...] = ()

    @property
    def error(self) -> str:
        first = summary(self.message).replace("^M", "").strip()
        if self.type == "error":
            return first[:300]
        return f"{self.type}: {first}"[:300] if first else self.type

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.type, self.message, self.functions)


def _is_wrapper(exc: ExceptionInfo) -> bool:
    return exc.short_type in _WRAPPER_TYPES or bool(_SEE_ABOVE.search(exc.message) and not _WRAPPERS[0].match(exc.message))


def _exception_of(tb: Traceback) -> ExceptionInfo:
    """The last exception of the chain, unless it only wraps the first one."""
    final = tb.final
    if _is_wrapper(final) and len(tb.exceptions) > 1:
        return tb.root
    return final


def _from_tracebacks(ctx: Context) -> Salient | None:
    levels = {ln.number: ln.level for ln in ctx.lines}
    candidates: list[ExceptionInfo] = []
    for tb in ctx.tracebacks:
        exc = _exception_of(tb)
        if not exc.type:  # a traceback cut before its exception line: the lines below handle that
            continue
        if exc.short_type in _BENIGN or levels.get(exc.line) in _QUIET_LEVELS:
            continue
        if not (exc.frames or len(tb.exceptions) > 1 or exc.short_type.endswith(("Error", "Exception"))):
            continue
        candidates.append(exc)
    if not candidates:
        return None
    exc = next((e for e in candidates if not _is_wrapper(e)), candidates[0])
    evidence = [Evidence(line=exc.line, text=exc.text[:400])]
    if exc.frames:
        fr = exc.frames[-1]
        evidence.insert(0, Evidence(line=fr.line, text=f'File "{fr.file}", line {fr.lineno}, in {fr.function}'))
    return Salient(exc.type, exc.message, exc.line, tuple(evidence), tuple(f.function for f in exc.frames))


def _from_lines(ctx: Context) -> Salient | None:
    """No parsed traceback: an exception named in a failing line, else the first failing line that says more than
    "see the traceback", else the innermost frame of a traceback excerpt that lost its exception line."""
    first: Salient | None = None
    wrapper: Salient | None = None
    fragment: Salient | None = None
    for line in ctx.lines:
        msg = line.message.replace("^M", "").strip()
        if not msg or line.level in _QUIET_LEVELS or _PY_WARNING.search(msg):
            continue
        if not (line.level in ("ERROR", "CRITICAL", "FATAL") or _FAILURE_LINE.search(msg)):
            continue
        ev = (Evidence(line=line.number, text=line.text.replace("^M", "").strip()[:400]),)
        m = _EMBEDDED_EXC.search(msg)
        if m is not None and m["type"].rsplit(".", 1)[-1] not in _BENIGN:
            return Salient(m["type"], m["msg"] or "", line.number, ev)
        if msg.startswith('File "'):
            fragment = Salient("error", msg, line.number, ev)  # the last one is the innermost frame
        elif _TRACE_FRAGMENT.match(line.message):
            continue
        elif _WRAPPER_LINE.search(msg):
            wrapper = wrapper or Salient("error", msg, line.number, ev)
        elif first is None:
            first = Salient("error", msg, line.number, ev)
    return first or wrapper or fragment


def salient_error(ctx: Context) -> Salient | None:
    """The last exception of the root traceback, or else the first failing line; None for a healthy log."""
    return _from_tracebacks(ctx) or _from_lines(ctx)


# -- nearest known causes ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)  # rules are few and fixed: derive each pattern's text once
def _literal_runs(pattern: str) -> str:
    """The fixed text of a regex, runs joined by spaces: `CUDA error: (?P<x>.*) no kernel` -> `CUDA error:  no kernel`."""
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:  # regex-module-only syntax: fall back to stripping metacharacters
        return str(regex.sub(r"\\.|[\[\](){}?*+|^$.]", " ", pattern))
    out: list[str] = []

    def walk(items: object) -> None:
        for op, av in items:  # type: ignore[attr-defined]
            if op is sre_constants.LITERAL:
                out.append(chr(av))
            elif op is sre_constants.SUBPATTERN:
                walk(av[-1])
            elif op is sre_constants.BRANCH:
                for branch in av[1]:
                    out.append(" ")
                    walk(branch)
            elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and av[0] >= 1:
                walk(av[2])
            else:
                out.append(" ")

    walk(parsed.data)
    return " ".join("".join(out).split())


def _conditions(m: Matcher) -> Iterator[str]:
    """Texts a condition looks for; `none` branches describe what the cause is not, so they are skipped."""
    if isinstance(m, LineRegex):
        yield m.literal if m.literal is not None else _literal_runs(m.source)
    elif isinstance(m, ExceptionMatch):
        yield ": ".join(_literal_runs(p.source) for p in (m.type, m.message) if p is not None)
    elif isinstance(m, (All, AnyOf)):
        for c in m.children:
            yield from _conditions(c)


def signatures(rule: CompiledRule) -> list[str]:
    """What a rule's failure looks like, as plain text: its title and the text its conditions search for."""
    sigs = [rule.rule.title]
    for cond in (rule.matcher, rule.confirm):
        if cond is not None:
            sigs.extend(s for s in _conditions(cond) if len(s.strip()) >= 8)
    return list(dict.fromkeys(sigs))


def nearest_causes(error: str, rules: Sequence[CompiledRule], limit: int = MAX_RELATED) -> list[Suggestion]:
    """Up to `limit` known causes whose signatures resemble the error, best first. Hints, not diagnoses."""
    if not rules or not error.strip():
        return []
    from rapidfuzz import fuzz, utils  # imported here: only unrecognised failures need it

    query = regex.sub(r"<\w+>", " ", mask(error))
    best: dict[str, tuple[float, str]] = {}
    for rule in rules:
        if rule.rule.role == "consequence":
            continue
        for sig in signatures(rule):
            score = fuzz.token_sort_ratio(query, sig, processor=utils.default_process) * 0.5 + fuzz.partial_ratio(
                query, sig, processor=utils.default_process
            ) * 0.5
            family = rule.id.split(".", 1)[0]  # variants of one cause count once
            if score > best.get(family, (0.0, ""))[0]:
                best[family] = (score, rule.id)
    ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
    titles = {r.id: r.rule.title for r in rules}
    return [
        Suggestion(id=rid, title=titles[rid], score=round(score / 100, 2))
        for _, (score, rid) in ranked[:limit]
        if score / 100 >= MIN_SCORE
    ]


def find_unrecognized(
    ctx: Context, diagnoses: Sequence[Diagnosis], rules: Sequence[CompiledRule] = ()
) -> list[Unrecognized]:
    """One entry when the log shows a failure and no alarm-level diagnosis explains it; none for a healthy log.
    A note whose evidence is the salient error line explains it too (a healthy server's log of a rejected request)."""
    if any(d.severity is not Severity.info for d in diagnoses):
        return []
    found = salient_error(ctx)
    if found is None or any(ev.line == found.line for d in diagnoses for ev in d.evidence):
        return []
    return [
        Unrecognized(
            error=found.error,
            line=found.line,
            evidence=list(found.evidence),
            fingerprint=found.fingerprint,
            related=nearest_causes(found.error, rules),
        )
    ]
