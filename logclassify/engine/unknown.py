"""Failures no rule explains: the salient error, a fingerprint that groups duplicates, and look-alike known causes.

A support bot sees the same unknown failure from many machines and vLLM versions. The fingerprint therefore hashes
only what identifies the failure: the exception's short type and its message with everything machine-specific
masked (numbers, hex ids, paths, pids, IPs, host:port, timestamps, tensor shapes, model repo ids) and with the
wrappers vLLM puts around a worker's error ("Error in model execution: ...", "Worker failed with error '...'")
peeled off. Frame function names are used only when the message alone says too little (a bare AssertionError).

The nearest known causes compare the salient error with each rule's signatures, derived from the rule itself (its
regex and `contains` literals, exception patterns, title), so a new rule needs no code here. The masks and the
wrappers are data too (rules/_vocab/fingerprint.yaml and wrappers.yaml).
"""

from __future__ import annotations

import builtins
import functools
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import regex

from logclassify.engine.clip import ERROR_CHARS
from logclassify.engine.match import All, AnyOf, Context, ExceptionMatch, LineRegex, Matcher
from logclassify.lazyre import LazyPattern, lazy
from logclassify.models import Diagnosis, Evidence, Severity, Suggestion, Unrecognized
from logclassify.parse.traceback import ExceptionInfo, Traceback
from logclassify.read.logline import LogLine
from logclassify.vocab import pattern, vocab

if TYPE_CHECKING:
    from logclassify.engine.loader import CompiledRule

if sys.version_info >= (3, 11):
    import re._constants as sre_constants
    import re._parser as sre_parse
else:  # pragma: no cover - Python 3.10
    import sre_constants
    import sre_parse

MAX_RELATED = 3
MIN_SCORE = 0.7  # below this a "related" cause is noise (eval/suggest_loo.py: 97% right at 0.7, 94% at 0.55)
_FRAMES_WHEN_VAGUE = 2  # innermost frames hashed when the message has fewer than two words

_WRAPPING = vocab()["wrappers"]  # rules/_vocab/wrappers.yaml
# Order matters: whole structures (timestamps, IPs, paths) before the numbers inside them.
_MASKS: tuple[tuple[LazyPattern, str], ...] = tuple(
    (pattern(m), m["replace"]) for m in vocab()["fingerprint"]["masks"]
)
# vLLM re-raises a worker's error inside these; the inner message is the failure.
_WRAPPERS: tuple[LazyPattern, ...] = tuple(pattern(m) for m in _WRAPPING["messages"])
# Exceptions that only say "the real error is elsewhere": use another traceback when there is one.
_WRAPPER_TYPES = frozenset(_WRAPPING["types"])
_SEE_ABOVE = pattern(_WRAPPING["see_above"])
# Not failures: a user stopping the server, a clean exit.
_BENIGN = frozenset({"KeyboardInterrupt", "SystemExit", "CancelledError", "GeneratorExit", "StopIteration",
                     "BrokenPipeError"})
_QUIET_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "WARN"})
_EMBEDDED_EXC = lazy(
    r"(?:^|(?<=[\s\]):]))(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Failure))(?:: (?P<msg>\S.*)|\s*$)"
)
# Lines that are failures though no log level says so (matched ignoring case). The one-pass scan keeps every line
# that matches one of them (`classifier.scan_triggers` derives its literals from these very patterns), so a
# failure word added here is found deep in a big log too: one list, never two kept by hand.
FAILURE_LINE_PATTERNS: tuple[str, ...] = (
    r"^Killed\b", r"\bSegmentation fault\b", r"\bcore dumped\b", r"^Fatal Python error\b", r"\bBus error\b",
    r"\bOOMKilled\b", r"\bexit(?:ed)? with (?:exit )?(?:code|status) -?[1-9]", r"\bexit code:? -?[1-9]",
    r"\bexitcode[=: ]+-?[1-9]", r"returned non-zero exit status", r"\b(?:terminated|killed) by signal\b",
    r"^Error\b:", r"^[\w.-]+: (?:[\w ]{0,20} )?error\b",
    # C and C++ runtimes: a failed assert(), glibc's heap checks, an uncaught C++ exception
    r"\bAssertion [`'].+['`] failed", r"\bdouble free or corruption\b", r"\bfree\(\): invalid",
    r"\bmalloc\(\): (?:corrupted|memory corruption)", r"\*\*\* stack smashing detected",
    r"^terminate called after throwing",
    # an HTTP client's error (requests' wording) and a bare "An error occurred ..." sentence
    r"\b[45]\d\d (?:Client|Server) Error:", r"^An error occurred\b",
    # a launcher that hides the server's own output: "vLLM failed to start.  Retry with --enable-serving-output"
    # (InstructLab), "Engine core failed to start", systemd's "Failed to start vllm.service"
    r"\bfailed to start\b",
    # a module-qualified exception inside a line that another tool framed (a table cell, a logger's own columns):
    # "... | worker |   | ray.exceptions.ActorDiedError: The actor died ..."
    r"(?-i:(?<![\w.])[a-z_]\w*\.(?:\w+\.)*[A-Z]\w*(?:Error: |Exception: ))\S",
    # pydantic v1's error list: "<message> (type=value_error)", "... (type=type_error)"
    r"\(type=\w*error\b[\w.]*\)",
    # IPython / Jupyter print the exception's type in the traceback's header line
    r"^(?-i:(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:\([\w.]+\))?)\s{2,}Traceback \(most recent call last\)",
)
FAILURE_LEVELS = frozenset({"ERROR", "CRITICAL", "FATAL"})
_FAILURE_LINE = lazy("|".join(FAILURE_LINE_PATTERNS), regex.IGNORECASE)
# An exception line pasted on its own (no log prefix, no `Traceback` header): `AssertionError`, `ImportError: ...`.
BARE_EXCEPTION_PATTERN = r"^(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception))(?:: (?P<msg>\S.*))?\s*$"
_BARE_EXC = lazy(BARE_EXCEPTION_PATTERN)
_ASSERT_STMT = lazy(r"^\s*assert\b")
# IPython's traceback header names the exception first: "RayTaskError(KeyError)      Traceback (most recent call last)"
_IPYTHON_HEADER = lazy(
    r"^(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:\([\w.]+\))?)\s{2,}Traceback \(most recent call last\)"
)
# The source line of the frame that raised, when a paste stops just before the exception line it would print:
# `    raise ValueError("Either a revision or a version must be specified.")`
_RAISE_STMT = lazy(
    r"^\s*raise (?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception))\((?P<q>[\"'])(?P<msg>[^\"']+)(?P=q)\)\s*$"
)
_FRAME_TAIL = lazy(r'", line \d+, in \S+\s*$')
_PY_WARNING = lazy(r"^\S+:\d+: \w*Warning: ")  # warnings.warn() output on stderr
_WRAPPER_LINE = pattern(_WRAPPING["lines"])
_HEADER = lazy(r"^\d+ validation errors? for \w+$|^Error raised in subprocess:?$")
_TRACE_FRAGMENT = lazy(r'^\s|^File "|^Traceback \(|^\^+$')
_PLACEHOLDER = lazy(r"<\w+>")  # what `mask` put in
_TITLE_PLACEHOLDER = lazy(r"'?\{[\w.]+\}'?")
_LONG_WORD = lazy(r"[A-Za-z]{3,}")
_LOWER_WORD = lazy(r"[a-z]{3,}")
_NOT_SLUG = lazy(r"[^a-z0-9]+")


# -- fingerprint ------------------------------------------------------------------------------------------


def mask(text: str) -> str:
    """The text with what varies between occurrences of one failure replaced by placeholders."""
    out = text.strip()
    for mask_re, repl in _MASKS:
        out = mask_re.sub(repl, out)
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


def summary(message: str, limit: int | None = ERROR_CHARS) -> str:
    """The message's first line, or its first lines when the first is only a header (`1 validation error for X`);
    cut to `limit` characters (the report's error is cut later, after redaction)."""
    lines = [ln.strip() for ln in message.strip().split("\n") if ln.strip()]
    out: list[str] = []
    for ln in lines[:3]:
        out.append(ln)
        text = " ".join(out)
        if len(_LONG_WORD.findall(text)) >= 6 and not ln.endswith(":") and not _HEADER.search(ln):
            break
    return " ".join(out)[:limit]


def fingerprint(exc_type: str, message: str, functions: Sequence[str] = ()) -> str:
    """`<type-slug>:<10 hex>`, equal for the same failure on any machine or vLLM version."""
    short = exc_type.split("(", 1)[0].rsplit(".", 1)[-1]
    masked = mask(summary(unwrap(message))).lower()
    words = _LOWER_WORD.findall(_PLACEHOLDER.sub(" ", masked))
    basis = [short, masked]
    if len(words) < 2:
        basis.extend(functions[-_FRAMES_WHEN_VAGUE:])
    slug = _NOT_SLUG.sub("-", short.lower()).strip("-") or "error"
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
        first = summary(self.message, None).replace("^M", "").strip()
        if self.type == "error":
            return first
        return f"{self.type}: {first}" if first else self.type

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
    evidence = [Evidence(line=exc.line, text=exc.text)]
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
    raised: Salient | None = None
    previous: LogLine | None = None
    for line in ctx.lines:
        before, previous = previous, line
        msg = line.message.replace("^M", "").strip()
        if not msg or line.level in _QUIET_LEVELS or _PY_WARNING.search(msg):
            continue
        if line.level is None and (bare := _bare_exception(line, msg, before)) is not None:
            return bare
        if line.level is None and before is not None and (r := _raise_statement(line, before)) is not None:
            raised = r  # the last one is the innermost frame's
            continue
        if not (line.level in FAILURE_LEVELS or _FAILURE_LINE.search(msg)):
            continue
        ev = (Evidence(line=line.number, text=line.text.replace("^M", "").strip()),)
        m = _EMBEDDED_EXC.search(msg) or _IPYTHON_HEADER.match(msg)
        if m is not None and _short(m["type"]) not in _BENIGN:
            return Salient(m["type"], m.groupdict().get("msg") or "", line.number, ev)
        if msg.startswith('File "'):
            fragment = Salient("error", msg, line.number, ev)  # the last one is the innermost frame
        elif _TRACE_FRAGMENT.match(line.message):
            continue
        elif _WRAPPER_LINE.search(msg):
            wrapper = wrapper or Salient("error", msg, line.number, ev)
        elif first is None:
            first = Salient("error", msg, line.number, ev)
    return first or wrapper or raised or fragment


def _short(exc_type: str) -> str:
    """`ray.exceptions.RayTaskError(KeyError)` -> `RayTaskError`."""
    return exc_type.split("(", 1)[0].rsplit(".", 1)[-1]


def _raise_statement(line: LogLine, before: LogLine) -> Salient | None:
    """`raise ValueError("...")` printed under its frame line: the exception the paste stops short of."""
    m = _RAISE_STMT.match(line.message)
    if m is None or before.number != line.number - 1 or not _FRAME_TAIL.search(before.message):
        return None
    evidence = (Evidence(line=before.number, text=before.text.strip()[:400]),
                Evidence(line=line.number, text=line.text.strip()[:400]))
    return Salient(m["type"], m["msg"], line.number, evidence)


def _bare_exception(line: LogLine, msg: str, before: LogLine | None) -> Salient | None:
    """An exception line pasted without its traceback; a bare `AssertionError` is identified by the `assert`
    statement printed just above it, when the paste has it."""
    m = _BARE_EXC.match(msg)
    if m is None or m["type"].rsplit(".", 1)[-1] in _BENIGN:
        return None
    evidence = [Evidence(line=line.number, text=line.text.replace("^M", "").strip()[:400])]
    context: tuple[str, ...] = ()
    if not m["msg"] and before is not None and before.number == line.number - 1 and _ASSERT_STMT.match(before.message):
        evidence.insert(0, Evidence(line=before.number, text=before.text.strip()[:400]))
        context = (before.message.strip(),)
    return Salient(m["type"], m["msg"] or "", line.number, tuple(evidence), context)


def _from_cut_traceback(ctx: Context) -> Salient | None:
    """A traceback whose exception line is missing (the paste stops inside it): name its last frame and ask for
    the lines after it, rather than call the log healthy."""
    cut = [tb.final for tb in ctx.tracebacks if not tb.final.type and tb.final.frames]
    if not cut:
        return None
    fr = cut[-1].frames[-1]
    short_file = "/".join(fr.file.replace("\\", "/").split("/")[-2:])
    message = (f"the log stops inside a traceback (last frame: {fr.function} in {short_file}:{fr.lineno}); "
               "the lines after it, with the exception, are needed")
    where = f'File "{fr.file}", line {fr.lineno}, in {fr.function}'
    return Salient("error", message, fr.line, (Evidence(line=fr.line, text=where),), (fr.function,))


def salient_error(ctx: Context) -> Salient | None:
    """The last exception of the root traceback, else the first failing line, else a traceback cut before its
    exception; None for a healthy log."""
    return _from_tracebacks(ctx) or _from_lines(ctx) or _from_cut_traceback(ctx)


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


_WORD = lazy(r"[a-z][a-z0-9_]{2,}")
DISTINCTIVE_SHARE = 0.05  # a word in at most this share of the causes (and at most 2) tells causes apart


# Python's own phrasing ("cannot import name", "has no attribute", "got an unexpected keyword argument") says which
# mistake was made, not in which subsystem: sharing these words makes two failures no more alike.
_PYTHON_PHRASING = frozenset(
    {
        "the", "and", "for", "from", "with", "not", "has", "have", "had", "was", "were", "are", "can", "cannot", "could",
        "should", "must", "got", "any", "all", "none", "import", "imported", "name", "named", "module", "attribute",
        "object", "objects", "argument", "arguments", "keyword", "unexpected", "expected", "positional", "required",
        "missing", "defined", "found", "exist", "exists", "type", "types", "value", "values", "invalid", "error",
        "errors", "exception", "failed", "failure", "during", "while", "occurred", "support", "supported", "unsupported",
        # the traceback header and frame lines: every Python failure prints them
        "traceback", "most", "recent", "call", "last", "file", "line",
    }
)


# Python's built-in exception names (`ModuleNotFoundError`, `KeyError`) say which mistake, not which subsystem, too.
_BUILTIN_EXCEPTIONS = frozenset(
    n.lower() for n in dir(builtins) if n.endswith(("Error", "Exception", "Warning", "Interrupt", "Exit"))
)


def _words(text: str) -> set[str]:
    return set(_WORD.findall(_PLACEHOLDER.sub(" ", text.lower()))) - _PYTHON_PHRASING - _BUILTIN_EXCEPTIONS


def _family_words(rules: Sequence[CompiledRule]) -> dict[str, set[str]]:
    """The words each cause (a rule and its variants) looks for, from its signatures."""
    families: dict[str, set[str]] = {}
    for rule in rules:
        if rule.rule.role == "cause":  # consequences and generic fallbacks are no look-alike
            families.setdefault(rule.id.split(".", 1)[0], set()).update(*(_words(sig) for sig in signatures(rule)))
    return families


def _without_placeholders(title: str) -> str:
    """A rule's title as a suggestion shows it: no diagnosis filled its `{capture}` placeholders, so they read `...`."""
    return str(_TITLE_PLACEHOLDER.sub("...", title))


@dataclass(frozen=True)
class _CauseTable:
    """What `nearest_causes` compares an error with, which depends only on the rules: built once per rule pack
    (it took ~30 ms, as long as classifying a small log, for every log with an unrecognised failure)."""

    families: dict[str, set[str]]  # cause family -> the words its signatures look for
    frequency: dict[str, int]  # word -> how many families use it
    rare: int  # a word used by at most this many families is distinctive
    # per cause rule, in rule order: (family, id, its signatures as rapidfuzz's default_process leaves them)
    signatures: tuple[tuple[str, str, tuple[str, ...]], ...]
    titles: dict[str, str]

    @classmethod
    def of(cls, rules: Sequence[CompiledRule]) -> _CauseTable:
        from rapidfuzz import utils

        families = _family_words(rules)
        frequency: dict[str, int] = {}
        for words in families.values():
            for w in words:
                frequency[w] = frequency.get(w, 0) + 1
        sigs = tuple(
            (rule.id.split(".", 1)[0], rule.id, tuple(utils.default_process(s) for s in signatures(rule)))
            for rule in rules
            if rule.rule.role == "cause"
        )
        return cls(families, frequency, max(2, int(DISTINCTIVE_SHARE * len(families))), sigs,
                   {r.id: _without_placeholders(r.rule.title) for r in rules})


_TABLES: dict[int, tuple[tuple[CompiledRule, ...], _CauseTable]] = {}  # id of the caller's sequence -> its table
_TABLES_KEPT = 8  # leave-one-out evaluation passes a new list per rule; a classifier passes one tuple for ever


def _cause_table(rules: Sequence[CompiledRule]) -> _CauseTable:
    """The table of `rules`, reused while the same sequence holds the same rules (checked element by element: a
    list changed in place gets a new table)."""
    kept = _TABLES.get(id(rules))
    if kept is not None and len(kept[0]) == len(rules) and all(a is b for a, b in zip(kept[0], rules, strict=True)):
        return kept[1]
    table = _CauseTable.of(rules)
    if len(_TABLES) >= _TABLES_KEPT:
        del _TABLES[next(iter(_TABLES))]
    _TABLES[id(rules)] = (tuple(rules), table)
    return table


def _score(fuzz: Any, query: str, sig: str, bound: float) -> float:
    """`token_sort_ratio * 0.5 + partial_ratio * 0.5`, exact when it reaches `bound`; below it, a lower bound that
    is above 0 exactly when the score is. (partial_ratio, the costly half, is skipped or cut off where it cannot
    lift the score to `bound`: only a cause's best score, and only one that is shown, is ever used.)"""
    tsr: float = fuzz.token_sort_ratio(query, sig)
    if tsr == 0:  # whether the score is above 0 at all decides where the cause is listed among equals
        pr: float = fuzz.partial_ratio(query, sig)
    elif 2 * bound - tsr > 100:
        pr = 0.0
    else:
        pr = fuzz.partial_ratio(query, sig, score_cutoff=max(0.0, 2 * bound - tsr - 1e-6))
    return tsr * 0.5 + pr * 0.5


def nearest_causes(error: str, rules: Sequence[CompiledRule], limit: int = MAX_RELATED) -> list[Suggestion]:
    """Up to `limit` known causes that plausibly are the same family as the error, best first. Hints, not diagnoses.

    A cause qualifies only when the error shares a distinctive word with it (one that few causes use, such as
    `illegal` or `NCCL`, not `error` or `memory`) and its signatures read alike; better no suggestion than noise.
    """
    if not rules or not error.strip():
        return []
    from rapidfuzz import fuzz, utils  # imported here: only unrecognised failures need it

    query = _PLACEHOLDER.sub(" ", mask(error))
    table = _cause_table(rules)
    distinctive = {w for w in _words(query) if table.frequency.get(w, 0) <= table.rare}
    processed = utils.default_process(query)  # what processor=default_process makes of it for every comparison
    shown = MIN_SCORE * 100
    best: dict[str, tuple[float, str]] = {}
    for family, rid, sigs in table.signatures:  # variants of one cause count once
        if not distinctive & table.families[family]:
            continue
        for sig in sigs:
            held = best.get(family, (0.0, ""))[0]
            score = _score(fuzz, processed, sig, max(shown, held))
            if score > held:
                best[family] = (score, rid)
    ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
    return [
        Suggestion(id=rid, title=table.titles[rid], score=round(score / 100, 2))
        for _, (score, rid) in ranked[:limit]
        if score / 100 >= MIN_SCORE
    ]


def find_unrecognized(
    ctx: Context, diagnoses: Sequence[Diagnosis], rules: Sequence[CompiledRule] = ()
) -> list[Unrecognized]:
    """One entry when the log shows a failure and no alarm-level diagnosis explains it; none for a healthy log.
    A note whose evidence is the salient error line explains it too (a healthy server's log of a rejected request).
    A fallback diagnosis (a generic answer) explains nothing specific: the failure keeps its fingerprint, so that
    reports of one bug group together and `mine` still finds it."""
    specific = [d for d in diagnoses if d.role != "fallback"]
    if any(d.severity is not Severity.info for d in specific):
        return []
    found = salient_error(ctx)
    if found is None or any(ev.line == found.line for d in specific for ev in d.evidence):
        return []
    generic = next((d.id for d in diagnoses if d.role == "fallback"), None)
    return [
        Unrecognized(
            error=found.error,
            line=found.line,
            evidence=list(found.evidence),
            fingerprint=found.fingerprint,
            related=nearest_causes(found.error[:ERROR_CHARS], rules),
            generic_answer=generic,
        )
    ]
