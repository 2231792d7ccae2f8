"""GitHub issue bodies: the log lives in fenced code blocks and `<details>` blocks, not in the prose around them."""

from __future__ import annotations

import regex

from logclassify.lazyre import lazy
from logclassify.read.normalize import looks_like_log_line

_ANY_FENCE = lazy(r"(?m)^\s{0,3}(?:```|~~~)")
_FENCE = lazy(r"^\s{0,3}(`{3,}|~{3,})")
_DETAILS_OPEN = lazy(r"<details\b", regex.IGNORECASE)
_DETAILS_ANYWHERE = lazy(r"<details", regex.IGNORECASE)
_DETAILS_CLOSE = lazy(r"</details\s*>", regex.IGNORECASE)
_HTML_TAG_LINE = lazy(r"^\s*</?(?:details|summary)\b[^>]*>.*$", regex.IGNORECASE)


def looks_like_markdown(text: str) -> bool:
    """True when the text has a fenced code block or a <details> block: an issue body, not a raw log."""
    end = min(len(text), 200_000)  # the head of a large input is enough (and is not copied)
    fenced = (_has(text, "```", end) or _has(text, "~~~", end)) and _ANY_FENCE.search(text, 0, end) is not None
    return fenced or (_has(text, "<d", end, "<D") and _DETAILS_ANYWHERE.search(text, 0, end) is not None)


def _has(text: str, needle: str, end: int, other: str = "") -> bool:
    """Whether `needle` (or `other`, which starts with the same character) is in `text[:end]`.

    Found by its first character, which logs rarely hold: a one-character search is a fast memchr, several times
    faster than searching for the whole needle. Past a few hundred false starts, a plain search finishes the job.
    """
    first = needle[0]
    i = text.find(first, 0, end)
    for _ in range(256):
        if i < 0:
            return False
        if text.startswith(needle, i, end) or (other and text.startswith(other, i, end)):
            return True
        i = text.find(first, i + 1, end)
    return i >= 0 and (text.find(needle, i, end) >= 0 or (bool(other) and text.find(other, i, end) >= 0))


def log_lines_of_markdown(text: str) -> str:
    """Blank the prose: keep code fences, <details> blocks and log-shaped lines, and the line count (line numbers).

    Log-shaped lines outside fences are kept because pastes are not always fenced, and a raw log may contain a
    stray ``` line of its own.
    """
    lines = text.split("\n")
    out: list[str] = []
    fence: str | None = None
    details = 0
    for line in lines:
        m = _FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip()[len(m.group(1)) :]:
                fence = None
                out.append("")
            else:
                out.append(line)
            continue
        if m:
            fence = m.group(1)
            out.append("")
            continue
        opened = len(_DETAILS_OPEN.findall(line))
        closed = len(_DETAILS_CLOSE.findall(line))
        if opened or closed:
            details = max(0, details + opened - closed)
            out.append("")
            continue
        if (details and not _HTML_TAG_LINE.match(line)) or looks_like_log_line(line):
            out.append(line)
        else:
            out.append("")
    return "\n".join(out)
