"""Peel the prefixes that log shippers, containers, Ray, torch and vLLM put before a message.

A line such as

    Jun 10 21:32:17 gpu-3 vllm[412]: (VllmWorker rank=1 pid=9) ERROR 06-10 21:32:17 [core.py:88] boom

becomes the message ``boom`` with level ERROR, a timestamp and the process tag ``VllmWorker rank=1 pid=9``.
Prefixes stack in any order, so they are stripped in a loop. Colour codes (real or pasted as text), carriage
returns and records that lost their newlines are dealt with first.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import regex

from logclassify.lazyre import LazyPattern, lazy
from logclassify.read.logline import LogLine

# Colour and control sequences: real ESC, and the forms pasted logs carry as text (^[[, #033[, \033[, \x1b[, \u001b[).
_ANSI = lazy(
    r"(?:\x1b|\^\[|#033|\\033|\\x1b|\\u001b|\\e)\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]"
    r"|(?:\x1b|\^\[)?_bk;t=\d+(?:\x07|\^G)?|[\x00\x07\x08]"
)
# One of these is in every match of _ANSI (a backslash for the escapes pasted as text).
_ANSI_NEEDS = ("\x1b", "^[", "#033", "\\", "_bk;t=", "\x00", "\x07", "\x08")
# Record separators that lost their meaning: CR (real or syslog's #015), syslog's #012 for LF.
_SPLIT_CONTROL = lazy(r"\r\n?|#015|#012")
# A vLLM record or a traceback that starts in the middle of a line (a paste that lost its newlines). Never right
# after a process tag: `(VllmWorker rank=0 pid=7) ERROR 02-21 ...` is one record (a split there left a worker's long
# `File ...` lines without their tag, so the worker's frames and its exception fell apart).
_EMBEDDED_RECORD = lazy(
    r"(?<=\S)(?<!\([^()]{0,120}pid=\d+[^()]{0,60}\))"
    r"\s+(?=(?:\([A-Za-z_][\w.:-]* pid=\d+[^)]*\) )?(?:INFO|WARNING|ERROR|DEBUG|CRITICAL) \d\d-\d\d \d\d:\d\d:\d\d"
    r"|Traceback \(most recent call last\):)"
)
# What an embedded record starts with; it follows a non-space and a space, so it is found at index 2 or later.
_EMBEDDED_STARTS = ("INFO ", "WARNING ", "ERROR ", "DEBUG ", "CRITICAL ", "Traceback (most recent call last):")


def _maybe_embedded(text: str) -> bool:
    find = text.find  # one call per start, no generator: this runs on every long line
    return (
        find("INFO ", 2) >= 0 or find("WARNING ", 2) >= 0 or find("ERROR ", 2) >= 0 or find("DEBUG ", 2) >= 0
        or find("CRITICAL ", 2) >= 0 or find(_EMBEDDED_STARTS[-1], 2) >= 0
    )


# Each prefix: a compiled pattern anchored at the start, with optional named groups level/ts/tag/origin.
_PREFIXES: list[LazyPattern] = [
    # journalctl -o short-iso:  2024-06-10T21:32:17+0000 host unit[123]:
    lazy(
        r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)) [\w.-]+ [^\s:\[]+(?:\[\d+\])?: "
    ),
    # journalctl -o short:  Jun 10 21:32:17 host unit[123]:  The month is the locale's abbreviation: `12月 05`
    # (zh_CN, ja_JP), `12월 05` (ko_KR), `déc. 05` (fr_FR), `Dez 05` (de_DE), `дек 05` (ru_RU).
    lazy(
        r"(?P<ts>(?:[A-Z][a-z]{2}|\d{1,2}[月월]|\p{L}{3,5}\.?) [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?) [\w.-]+"
        r" [^\s:\[]+(?:\[\d+\])?: "
    ),
    # Buildkite: [2024-06-10T21:32:17Z]
    lazy(r"\[(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?)\] "),
    # docker logs -t / kubectl logs --timestamps, then CRI's stream and tag:  2024-...Z stdout F
    lazy(r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+(?:(?:stdout|stderr) [FP] )?"),
    # docker compose:  vllm-1  |     and kubectl --prefix:  [pod/vllm-0/vllm]
    lazy(r"[\w.-]+(?:[-_]\d+)?\s+\| ?"),
    lazy(r"\[pod/[^\]\s]+\] "),
    # Ray and vLLM process tags: (VllmWorker rank=1 pid=9) (RayWorkerWrapper pid=1, ip=10.0.0.2) (EngineCore_0 pid=7)
    # and Ray Serve's replica:app:deployment names, (ServeReplica:default:VLLMDeployment pid=1328933)
    lazy(
        r"\((?P<tag>(?:[A-Za-z_][\w.:-]*(?: |, ?)?)?(?:(?:pid|ip|rank|tp|pp|dp|node)=[^,()\s]+(?:, ?| )?)+"
        r"|raylet|gcs_server|autoscaler|monitor|dashboard)\)\s?"
    ),
    # torch.distributed rank prefix:  [rank0]:   and a service name in brackets:  [vllm]:
    lazy(r"\[(?P<tag>rank\d+)\]: ?"),
    lazy(r"\[[A-Za-z][\w.-]{0,30}\]: "),
    # glog-style prefix from torch/c10d:  [W1022 12:34:56.789 123 ProcessGroupNCCL.cpp:4115]  or [W socket.cpp:663]
    lazy(r"\[(?P<glevel>[IWEF])(?:\d{4} \d\d:\d\d:\d\d(?:\.\d+)? +\d+ )?\s*(?P<origin>[\w./-]+:\d+)\] ?"),
    # vLLM:  INFO 06-10 21:32:17 [file.py:88]   INFO 06-10 21:32:17.123 [file.py:88]   older:  INFO 06-10 21:32:17 file.py:88]
    lazy(
        r"(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL) (?P<ts>\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) "
        r"(?:\[(?P<origin>[\w./<>-]+:\d+)\]|(?P<origin>[\w./<>-]+:\d+)\]) ?"
    ),
    # Python logging with a date (ray, transformers):  2024-06-10 21:32:17,123\tINFO worker.py:1234 --
    lazy(
        r"(?:\[)?(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d+)?)\]?[\t ]+"
        r"\[?(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\]?"
        r"(?: (?P<origin>[\w./-]+:\d+) --| \d+ \[(?P<origin>[\w./-]+:\d+)\])?[\t ]+"
    ),
    # FastChat:  2024-04-27 10:13:05 | ERROR | stderr |
    lazy(
        r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d+)?) \| (?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) \| [\w.-]+ \| "
    ),
    # Python's logging with asctime - name - level:  2025-08-13 04:39:39,465 - __main__ - INFO -
    lazy(
        r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d+)?) - [\w.<>-]+ - "
        r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) - "
    ),
    # uvicorn / Python's basic logging:  INFO:     message   ERROR:root:message
    lazy(r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?:[\w.]+:|\s+)"),
    # a paste quoted in an issue comment or e-mail:  > Traceback ...   >   File "..."   > > nested
    lazy(r"(?:> ?)+"),
]
_RAY_REPEAT = lazy(r"\[repeated \d+x across cluster\]")  # at the end of a message, spaces around it dropped
_MAX_PEELS = 12


def strip_ansi(text: str) -> str:
    """Remove colour codes, real or pasted as literal text."""
    if "\x1b" not in text and "[" not in text and "\x00" not in text and "\x07" not in text:
        return text
    # nothing the pattern could match (one of _ANSI_NEEDS is in every match): the sub would change nothing
    if not (
        "\x1b" in text or "^[" in text or "#033" in text or "\\" in text or "_bk;t=" in text or "\x00" in text
        or "\x07" in text or "\x08" in text
    ):
        return text
    return str(_ANSI.sub("", text))


def _journald_json(text: str) -> tuple[str, str | None, str | None] | None:
    """A `journalctl -o json` record: its MESSAGE, time and process, or None if the line is not one."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict) or "MESSAGE" not in record:
        return None
    message = record["MESSAGE"]
    if isinstance(message, list):  # journald writes non-UTF-8 messages as a byte array
        message = bytes(b & 0xFF for b in message if isinstance(b, int)).decode("utf-8", "replace")
    elif not isinstance(message, str):
        message = "" if message is None else str(message)
    ts: str | None = None
    raw_ts = record.get("__REALTIME_TIMESTAMP")
    if isinstance(raw_ts, str) and raw_ts.isdigit():
        ts = datetime.fromtimestamp(int(raw_ts) / 1e6, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return str(message), ts, None


# A literal each prefix needs (by index in _PREFIXES): a line without it is not tried against that prefix.
_NEEDS = {0: ": ", 1: ": ", 2: "] ", 4: "|", 5: "[pod/", 6: ")", 7: "]:", 8: "]: ", 9: "]", 10: "]", 12: " | ", 13: " - ",
          14: ":", 15: ">"}
_GROUPS = ("ts", "level", "glevel", "origin", "tag")
# (compiled pattern, needed literal, (field, group number) for each of _GROUPS the pattern has)
_Prefix = tuple[regex.Pattern[str], str, tuple[tuple[str, int], ...]]
# The ASCII characters each prefix (by index in _PREFIXES) can start with; a test checks them against the patterns.
_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_WORD = _DIGITS + _UPPER + _UPPER.lower() + "_"
_LEVEL_INITIALS = "DIWEC"  # DEBUG INFO WARNING/WARN ERROR CRITICAL
FIRST_CHARS = (
    _DIGITS, _DIGITS + _UPPER + _UPPER.lower(), "[", _DIGITS, _WORD + ".-", "[", "(", "[", "[", "[", _LEVEL_INITIALS,
    "[" + _DIGITS, _DIGITS, _DIGITS, _LEVEL_INITIALS, ">",
)
_BY_FIRST = {chr(c): tuple(k for k, chars in enumerate(FIRST_CHARS) if chr(c) in chars) for c in range(128)}
_EVERY = tuple(range(len(_PREFIXES)))  # a first character outside ASCII (or none): any prefix may match
_COMPILED: dict[int, _Prefix] = {}


def _prefix(k: int) -> _Prefix:
    found = _COMPILED.get(k)
    if found is None:
        pattern = _PREFIXES[k].compiled
        # a name used twice (the two spellings of vLLM's origin) is one group in the regex module
        groups = tuple((name, pattern.groupindex[name]) for name in _GROUPS if name in pattern.groupindex)
        found = _COMPILED[k] = (pattern, _NEEDS.get(k, ""), groups)
    return found


_BY_START: dict[str, tuple[_Prefix, ...]] = {}
_START = 4  # characters of a text that choose its candidate prefixes
_MAX_STARTS = 4096  # distinct starts remembered (a log has a few hundred)


def _prefixes_for(text: str) -> tuple[_Prefix, ...]:
    """(compiled pattern, needed literal, groups) of the prefixes, in order, that can match at the start of `text`.

    They are chosen by the first character (FIRST_CHARS), then by partial matching of the first _START characters
    (`INFO` rules out journald's `Jun 10`, `Rece` every timestamp), once per distinct start. Only the prefixes a
    log's lines can start with are ever compiled.
    """
    start = text[:_START]
    found = _BY_START.get(start)
    if found is not None:
        return found
    found = tuple(
        e for e in (_prefix(k) for k in _BY_FIRST.get(start[:1], _EVERY)) if e[0].match(start, partial=True) is not None
    )
    if len(_BY_START) >= _MAX_STARTS:
        _BY_START.clear()
    _BY_START[start] = found
    return found


def _peel(line: LogLine) -> LogLine:
    """Strip stacked prefixes from `line.message`, filling level, timestamp, process and origin."""
    msg = line.message
    tags: list[str] = []
    if msg[:1].isspace():  # a paste indented as a whole: a prefix after the indent is still a prefix
        bare = msg.lstrip()
        if any(need in bare and p.match(bare) for p, need, _ in _prefixes_for(bare)):
            msg = bare
    for _ in range(_MAX_PEELS):
        for pattern, need, names in _BY_START.get(msg[:_START]) or _prefixes_for(msg):
            if need not in msg:
                continue
            m = pattern.match(msg)
            if m is None or m.end() == 0:
                continue
            if names:
                found = m.groups()
                for name, group in names:
                    value = found[group - 1]
                    if not value:
                        continue
                    if name == "ts":
                        line.timestamp = value
                    elif name == "level":
                        line.level = "WARNING" if value == "WARN" else value
                    elif name == "glevel":
                        if not line.level:
                            line.level = {"I": "INFO", "W": "WARNING", "E": "ERROR", "F": "CRITICAL"}[value]
                    elif name == "origin":
                        line.origin = value
                    else:
                        tags.append(value.strip())
            msg = msg[m.end() :]
            break
        else:
            break
    if "across cluster]" in msg:  # found from the end: `\s*...\s*$` took quadratic time on a line of spaces
        msg = msg.rstrip()
        start = msg.rfind("[repeated ")
        if start >= 0 and _RAY_REPEAT.fullmatch(msg, start):
            msg = msg[:start]
    line.message = msg.rstrip()
    if tags:
        line.process = " ".join(tags)
    return line


def _one_record(text: str) -> bool:
    """No CR, no syslog control escape and no embedded record: the line is one record (the common case)."""
    return "\r" not in text and "#01" not in text and (len(text) <= 200 or not _maybe_embedded(text))


def _split_records(text: str) -> list[str]:
    """Split a physical line into the records it holds (CR progress updates, lost newlines)."""
    if _one_record(text):
        return [text] if text.strip() else [""]
    parts = _SPLIT_CONTROL.split(text) if ("\r" in text or "#01" in text) else [text]
    out: list[str] = []
    for part in parts:
        if len(part) > 200 and _maybe_embedded(part) and _EMBEDDED_RECORD.search(part):
            out.extend(p for p in _EMBEDDED_RECORD.split(part) if p)
        elif part or not out:
            out.append(part)
    # A progress bar redrawn with CRs leaves empty pieces; keep at least one record per line.
    kept = [p for p in out if p.strip()]
    return kept or [""]


def normalize_line(number: int, raw: str) -> list[LogLine]:
    """Turn one physical input line into one or more `LogLine` records, all carrying `number`."""
    text = strip_ansi(raw).rstrip("\n")
    if text.startswith("{") and '"MESSAGE"' in text:
        parsed = _journald_json(text)
        if parsed is not None:
            message, ts, _ = parsed
            out: list[LogLine] = []
            for piece in message.split("\n"):
                for record in _split_records(strip_ansi(piece)):
                    line = _peel(LogLine(number, record, record))
                    if line.timestamp is None:
                        line.timestamp = ts
                    out.append(line)
            return out
    if _one_record(text):
        record = text if text.strip() else ""  # what _split_records gives, without building its list
        return [_peel(LogLine(number, record.rstrip(), record))]
    return [_peel(LogLine(number, record.rstrip(), record)) for record in _split_records(text)]


_LOG_SHAPED = lazy(
    r"\s*(?:Traceback \(most recent call last\)|File \"[^\"]+\", line \d+"
    r"|(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Exit|Interrupt)(?:\([\w.]+\))?: \S"
    # a line that starts with a date and time (a tracer's or a script's own log)
    r"|\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d"
    # a progress bar ("Processed prompts: 100%|███| 4/4", "Loading safetensors checkpoint shards:  50% Completed | 1/2")
    r"|[^\n|]{0,120}?\b\d{1,3}%(?: Completed)? ?\|"
    # the command that was run (environment settings first, a shell prompt): what facts and the command are read from
    r"|(?:[$#] )?(?:[A-Z_][A-Z0-9_]*=\S* +)*(?:vllm +serve|python3?(?:\.\d+)? +(?:-\w|\S+\.py\b)|torchrun +-"
    r"|docker +(?:run|compose)|ray +start|accelerate +launch))"
)


def looks_like_log_line(text: str) -> bool:
    """True for a line a log would print (a recognised prefix, a traceback line), false for prose."""
    bare = strip_ansi(text).lstrip()
    if not bare:
        return False
    return any(need in bare and p.match(bare) for p, need, _ in _prefixes_for(bare)) or _LOG_SHAPED.match(bare) is not None
