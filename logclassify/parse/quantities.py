"""Memory sizes and counts as vLLM, PyTorch and NCCL print them, read into numbers and written back for people."""

from __future__ import annotations

import math

_UNITS = {
    "b": 1, "bytes": 1, "byte": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40,
}
SIZE = r"\d+(?:\.\d+)?\s*(?:[KMGT]i?B|bytes?|B)"  # a size with its unit, e.g. `1.23 GiB`, `0 bytes`
GIB = 1 << 30


def size_bytes(text: str) -> float | None:
    """`1.23 GiB` -> bytes; torch prints GiB/MiB/KiB (binary), `df -h` prints 64M (binary too). None if unreadable."""
    t = text.strip().replace(",", "")
    i = len(t)
    while i > 0 and not (t[i - 1].isdigit() or t[i - 1] == "."):
        i -= 1
    number, unit = t[:i].strip(), t[i:].strip().lower()
    try:
        value = float(number)
    except ValueError:
        return None
    factor = _UNITS.get(unit or "b")
    return value * factor if factor is not None else None


def human(n: float) -> str:
    """Bytes for people: `2.00 GiB`, `565.31 MiB`, `9.19 MiB`."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {unit}"
    return f"{n:.0f} bytes"


def ceil2(x: float) -> float:
    """Up to the next hundredth (a fraction that must be at least x)."""
    return math.ceil(round(x * 100, 6)) / 100


def floor2(x: float) -> float:
    """Down to the hundredth (a fraction that must be at most x)."""
    return math.floor(round(x * 100, 6)) / 100


def integer(text: str) -> int | None:
    """`131072`, `32768.0`, `1,505,068` -> int; None for anything else (`None`, `1.5`)."""
    t = text.strip().replace(",", "")
    try:
        value = float(t)
    except ValueError:
        return None
    return int(value) if value.is_integer() and math.isfinite(value) else None
