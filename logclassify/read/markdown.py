"""GitHub issue bodies: the log lives in fenced code blocks and `<details>` blocks, not in the prose around them.

How an input is recognised as an issue body (`input_format="auto"`) is decided here once, from its content, for a
file, stdin, `classify()` and the service alike: the same bytes get the same answer whichever way they come in.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import regex

from logclassify.lazyre import lazy
from logclassify.read.normalize import looks_like_log_line

_ANY_FENCE = lazy(r"(?m)^\s{0,3}(?:```|~~~)")
_FENCE = lazy(r"^\s{0,3}(`{3,}|~{3,})")
_DETAILS_OPEN = lazy(r"<details\b", regex.IGNORECASE)
_DETAILS_ANYWHERE = lazy(r"<details", regex.IGNORECASE)
_DETAILS_CLOSE = lazy(r"</details\s*>", regex.IGNORECASE)
_HTML_TAG_LINE = lazy(r"^\s*</?(?:details|summary)\b[^>]*>.*$", regex.IGNORECASE)
# A line that is one inline code span: "`ValueError: Model architectures [...] are not supported for now.`"
_INLINE_CODE_LINE = lazy(r"^\s*`(?P<code>[^`]+)`\s*$")
# A prose line that quotes an exception after a short label: "报错信息：RuntimeError: Loading lora ... failed",
# "**Error message**: ValueError: ..." (the exception and its message are kept, the label is not). An exception named
# inside a sentence ("Last week it said torch.OutOfMemoryError: ...") is prose, not the report's error.
_LABELLED_EXCEPTION = lazy(
    r"^\s*[*_]{0,2}[^\s:：.,;!?*_`]{1,20}(?: [^\s:：.,;!?*_`]{1,20}){0,3}[*_]{0,2}\s*[:：][*_]{0,2}\s*"
    r"(?P<exc>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception): \S.*?)[\s`*]*$"
)


ISSUE_BODY_MAX = 1 << 20  # GitHub caps an issue body at 65,536 characters: an input over 1 MiB is a log


def sniff_issue_body(chunks: Iterator[bytes]) -> tuple[Iterator[bytes], str | None]:
    """The `auto` test. Read ahead at most ISSUE_BODY_MAX bytes: the whole text when the input is an issue body (no
    larger than that, with a fenced code block or a <details> block), else None; and the chunks again from the
    start (none lost). A larger input is never buffered whole: it is a log, so a big log with a stray fence is
    neither cut to a Markdown size limit nor stripped of its prose."""
    head: list[bytes] = []
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size > ISSUE_BODY_MAX:
            return itertools.chain(head, chunks), None
    text = b"".join(head).decode("utf-8", "replace")
    return iter(head), (text if looks_like_markdown(text) else None)


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


def _inline_backtick_span(line: str, m: regex.Match[str]) -> bool:
    """True when a line that starts like a backtick fence is not one: its info string (after the backticks) holds a
    backtick, which CommonMark does not allow for a backtick fence, so the line is a paragraph with inline code."""
    return m.group(1)[0] == "`" and "`" in line[m.end() :]


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
        if m and not _inline_backtick_span(line, m):
            fence = m.group(1)
            out.append("")
            continue
        if m:
            # "```text```" on one line: CommonMark's inline code span, not a fence (a backtick fence's info string
            # holds no backtick); pastes put a whole error line in one. Keep the span's text when it is log-shaped.
            inner = line.strip().strip("`").strip()
            out.append(inner if looks_like_log_line(inner) else "")
            continue
        opened = len(_DETAILS_OPEN.findall(line))
        closed = len(_DETAILS_CLOSE.findall(line))
        if opened or closed:
            details = max(0, details + opened - closed)
            out.append("")
            continue
        if (details and not _HTML_TAG_LINE.match(line)) or looks_like_log_line(line):
            out.append(line)
        elif (code := _INLINE_CODE_LINE.match(line)) is not None and looks_like_log_line(code["code"]):
            out.append(code["code"])  # an error quoted in backticks on a line of its own
        elif ("Error: " in line or "Exception: " in line) and (exc := _LABELLED_EXCEPTION.match(line)) is not None:
            out.append(exc["exc"])
        else:
            out.append("")
    return "\n".join(out)
