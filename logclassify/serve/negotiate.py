"""Which reply a client asked for with its Accept header: the Report JSON (the default) or the Markdown reply."""

from __future__ import annotations


def wants_markdown(accept: str | None) -> bool:
    """True when text/markdown is preferred over JSON (a higher q, or the same q and listed first); `*/*`, no
    header, or a JSON-only header give JSON."""
    best: dict[str, tuple[float, int]] = {}
    for order, part in enumerate((accept or "").split(",")):
        kind, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        kind = kind.lower()
        if kind in ("text/markdown", "application/json") and kind not in best:
            best[kind] = (q, -order)
    markdown = best.get("text/markdown")
    return markdown is not None and markdown[0] > 0 and markdown > best.get("application/json", (0.0, 1))
