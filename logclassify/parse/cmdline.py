"""A command as the user would type it, and the same command with a fix's changes applied.

`vllm serve MODEL --flag value ...` for the API server; `LLM(model=..., name=value, ...)` keyword arguments for
offline use. Flags follow vLLM's spelling: `max_model_len` is `--max-model-len`, True is the bare flag, False the
`--no-` form, a list its items one after another, a dict one JSON argument.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from logclassify.models import ArgChange, Command

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")
_POSITIONAL = ("model_tag", "model")
_VARIABLE = re.compile(r"\$(?:[A-Za-z_]\w*|\{[A-Za-z_]\w*\})")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def quote(text: str) -> str:
    """A shell word: as is when it holds only safe characters or is one shell variable (`$MODEL`, `${HF_HOME}`, as
    typed: quoting it would stop the shell expanding it), else single-quoted."""
    if text and all(c in _SAFE for c in text):
        return text
    if _VARIABLE.fullmatch(text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _words(name: str, value: Any) -> list[str]:
    if value is True:
        return [flag(name)]
    if value is False:
        return ["--no-" + name.replace("_", "-")]
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [flag(name), *(quote(_plain(v)) for v in value)] if value else []
    return [flag(name), quote(_plain(value))]


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def model_of(args: dict[str, Any]) -> str | None:
    for key in _POSITIONAL:
        if isinstance(args.get(key), str):
            return str(args[key])
    return None


def serve_words(args: dict[str, Any], program: str = "vllm serve") -> list[str]:
    """`vllm serve MODEL` (or `python -m ...api_server --model MODEL`) and one group of words per other argument, in
    the logged order."""
    model = model_of(args)
    # `vllm serve MODEL` (maybe after `NAME=value` settings typed before it); a container image whose entrypoint is
    # `vllm serve`, given the model as its first argument, is marked by a `model_tag`
    if program.endswith("vllm serve") or "model_tag" in args:
        out = [program + (f" {quote(model)}" if model else "")]
    else:
        out = [program + (f" --model {quote(model)}" if model else "")]
    for name, value in args.items():
        if name in _POSITIONAL and (value == model or name == "model_tag"):
            continue
        words = _words(name, value)
        if words:
            out.append(" ".join(words))
    return out


class Code(str):
    """A keyword argument's value as the user wrote it in Python (`args.model`, `torch.cuda.device_count()`): shown
    as written, never quoted as a string."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def offline_words(args: dict[str, Any]) -> list[str]:
    """`LLM(` and one `name=value` per argument (the model first)."""
    items = sorted(args.items(), key=lambda kv: kv[0] != "model")
    return ["LLM(", *(f"{k}={v!r}," for k, v in items if k != "model_tag"), ")"]


def render(command: Command, args: dict[str, Any]) -> str:
    """The command on one line."""
    if command.kind == "offline":
        words = offline_words(args)
        return words[0] + " ".join(words[1:-1]).rstrip(",") + words[-1]
    return " ".join(serve_words(args, command.program))


def apply(args: dict[str, Any], edits: Sequence[tuple[str, str, Any]]) -> tuple[dict[str, Any], list[ArgChange]]:
    """The arguments after `edits` ((action, name, value): set / add / remove), and what changed. Setting a value an
    argument already has, or removing one it does not have, changes nothing."""
    out = dict(args)
    changes: list[ArgChange] = []
    for action, name, value in edits:
        old = out.get(name)
        if action == "remove":
            if name in out:
                del out[name]
                changes.append(ArgChange(action="remove", name=name, flag=flag(name), old=old))
            continue
        if name in out and _same(old, value):
            continue
        out[name] = value
        changes.append(ArgChange(action="set" if name in args else "add", name=name, flag=flag(name), value=value,
                                 old=old if name in args else None))
    return out, changes


def typed(text: str) -> Any:
    """A value a rule wrote as text (after its placeholders were filled): a number or a boolean when it is one."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _same(a: Any, b: Any) -> bool:
    return a == b or str(a) == str(b)
