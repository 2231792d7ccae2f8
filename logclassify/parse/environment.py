"""Facts from the "Your current environment" section of a vLLM issue: the output of `python collect_env.py`.

Bug reports carry their versions there rather than in the log. collect_env prints `key: value` (before mid-2025)
or `key   : value` padded into columns (after); both are read line by line, so the section may sit in a code
fence, a `<details>` block or a plain log. GPU lines (`GPU 0: NVIDIA ...`) and environment variables are already
read by `parse.facts`; this adds the rest into the same facts list, so rules can use them as `fact:` conditions.
The keys and the packages read are data (`collect_env` in rules/_vocab/facts.yaml).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import regex

from logclassify.lazyre import lazy
from logclassify.parse.facts import Fact
from logclassify.read.lineindex import LineIndex
from logclassify.read.logline import LogLine
from logclassify.vocab import vocab

_VOCAB = vocab()["facts"]["collect_env"]  # rules/_vocab/facts.yaml
# (fact, the key as collect_env prints it, value pattern: greedy, anything after a space is ignored)
_KEYS: tuple[tuple[str, str, str], ...] = tuple((k["name"], k["key"], k["value"]) for k in _VOCAB["keys"])
KEY_LITERALS = tuple(key for _, key, _ in _KEYS)  # what the reader looks up in the lines
PACKAGE_LITERALS = ("[pip", "[conda]")  # the package lines
# What keeps a line in the scan (a key as short as "OS" would keep almost every line).
LITERALS: tuple[str, ...] = (*(key for key in KEY_LITERALS if len(key) > 3), "[pip3] ", "[pip] ", "[conda] ")
_LINES = tuple(
    (name, key, lazy(rf"^\s*{regex.escape(key)}\s*:\s*{value}(?:\s.*)?$")) for name, key, value in _KEYS
)
# `[pip3] nvidia-nccl-cu12==2.21.5` and friends: package versions that matter for diagnosis.
_PACKAGES: dict[str, str] = dict(_VOCAB["packages"])
_PIP = lazy(r"^\s*\[(?:pip3?|conda)\]\s+([\w.-]+)\s*(?:==|\s+)\s*(\d[\w.+-]*)")
_NOT_A_VALUE = lazy(r"^(?:N/?A|Could not collect|None)\b", regex.IGNORECASE)


def environment_facts(lines: Iterable[LogLine], index: LineIndex | None = None) -> list[Fact]:
    """Facts from collect_env lines, in input order (later log lines, read by `parse.facts`, win)."""
    lines = lines if isinstance(lines, Sequence) else list(lines)
    index = index if index is not None else LineIndex(lines)
    found: list[tuple[int, Fact]] = []
    for i in index.lines_with_any(PACKAGE_LITERALS):
        msg = lines[i].message
        if "[pip" in msg or "[conda]" in msg:
            m = _PIP.match(msg)
            if m is not None and m[1].lower() in _PACKAGES:
                found.append((i, Fact(_PACKAGES[m[1].lower()], m[2], lines[i].number, msg.strip())))
    for i in index.lines_with_any(KEY_LITERALS):
        msg = lines[i].message
        if "[pip" in msg or "[conda]" in msg:
            continue
        for name, key, pattern in _LINES:
            if key not in msg:
                continue
            m = pattern.match(msg)
            if m is not None:
                if not _NOT_A_VALUE.match(m[1]):
                    found.append((i, Fact(name, m[1].strip(), lines[i].number, msg.strip())))
                break
    found.sort(key=lambda f: f[0])
    return [f for _, f in found]
