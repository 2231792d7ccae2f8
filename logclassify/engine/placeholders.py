"""The placeholders a rule's text may hold: `{NAME}` (a capture), `{facts.NAME}`, `{values.NAME}`.

Only these shapes are placeholders, so that other braces in a rule's text (a JSON example such as `{"level": 0}`)
are left alone. Shared by the validator, which checks the names at load, and `engine.answer`, which fills them.
"""

from __future__ import annotations

from logclassify.lazyre import lazy

PLACEHOLDER = lazy(r"\{((?:facts|values)\.[A-Za-z_][\w.]*|[A-Za-z_]\w*)\}")


def placeholders(text: str) -> list[str]:
    """The placeholder names in a text, in order (`max_len`, `facts.model`, `values.max_len_fits`)."""
    return PLACEHOLDER.findall(text) if "{" in text else []
