"""How the values from the log and the corrected command are shown, shared by the text and Markdown answers."""

from __future__ import annotations

from logclassify.models import ArgChange, FixCommand, Value
from logclassify.parse.cmdline import flag, quote


def change_words(c: ArgChange) -> str:
    """`--max-model-len 8192` as it appears in the command (`--enforce-eager` for a bare flag)."""
    if c.value is True:
        return c.flag
    if c.value is False:
        return "--no-" + c.name.replace("_", "-")
    return f"{c.flag} {quote(str(c.value))}" if c.value is not None else c.flag


def change_summary(changes: list[ArgChange], offline: bool = False) -> str:
    """`set --max-model-len 131072 -> 8192; added --enforce-eager; removed --swap-space 16`; for offline use the
    keyword arguments: `set max_model_len 131072 -> 8192; added enforce_eager=True`."""
    parts = []
    for c in changes:
        name = c.name if offline else flag(c.name)
        if c.action == "set":
            old, new = (repr(c.old), repr(c.value)) if offline else (c.old, c.value)
            parts.append(f"set {name} {old} -> {new}")
        elif c.action == "add":
            parts.append(f"added {c.name}={c.value!r}" if offline else f"added {change_words(c)}")
        else:
            parts.append(f"removed {name}" + (f" {c.old}" if c.old not in (None, True) and not offline else ""))
    return "; ".join(parts)


PARTIAL = "the log shows only part of your command: keep the arguments it leaves out"


def command_lines(fc: FixCommand, width: int) -> list[str]:
    """The corrected command, one line when it fits, else one argument per line joined with `\\`."""
    if len(fc.command) <= width or fc.command.startswith("LLM("):
        return [fc.command]
    words = _split(fc.command)
    return [w + " \\" for w in words[:-1]] + [words[-1]]


def _split(command: str) -> list[str]:
    """`vllm serve MODEL` then each `--flag value` group (quoted words kept whole)."""
    tokens: list[str] = []
    quote_char = ""
    current = ""
    for ch in command:
        if quote_char:
            current += ch
            if ch == quote_char:
                quote_char = ""
            continue
        if ch in "'\"":
            quote_char = ch
        if ch == " ":
            tokens.append(current)
            current = ""
            continue
        current += ch
    tokens.append(current)
    if "run" in tokens[:4] and tokens[0] in ("docker", "podman", "sudo"):
        return _split_container(tokens)
    head = 3 if len(tokens) > 2 and not tokens[2].startswith("--") else 2
    groups = [" ".join(tokens[:head])]
    for tok in tokens[head:]:
        if tok.startswith("--"):
            groups.append("  " + tok)
        else:
            groups[-1] += " " + tok
    return groups


def _split_container(tokens: list[str]) -> list[str]:
    """`docker run`, then each option (one dash or two), the image on a line of its own, then vLLM's arguments."""
    head = tokens.index("run") + 1
    groups = [" ".join(tokens[:head])]
    image_seen = False
    for tok in tokens[head:]:
        last = groups[-1].split()
        valued = len(last) == 1 and last[0].startswith("-") and "=" not in last[0]
        if tok.startswith("-") or (not image_seen and not valued and "vllm" in tok.lower()):
            image_seen = image_seen or not tok.startswith("-")
            groups.append("  " + tok)
        else:
            groups[-1] += " " + tok
    return groups


def value_line(v: Value) -> str:
    """`22576  the longest max_model_len the KV cache holds (line 3)`."""
    lines = ", ".join(str(n) for n in v.lines)
    where = f" (line{'s' if len(v.lines) > 1 else ''} {lines})" if v.lines else ""
    return f"{v.value}  {v.about}{where}"
