"""What a person reads after a fleet run: how many logs each cause took down, its share, when it was first and last
seen, and a few example sources; then the logs with a failure no rule knows (by fingerprint), the healthy ones and
the ones that could not be read. Built row by row in constant memory, whatever the number of logs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

EXAMPLES = 3  # example sources kept per cause


@dataclass
class CauseStats:
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    examples: list[str] = field(default_factory=list)

    def add(self, source: str, seen: datetime | None) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(source)
        if seen is not None:
            self.first = seen if self.first is None else min(self.first, seen)
            self.last = seen if self.last is None else max(self.last, seen)


@dataclass
class Summary:
    """Counts by headline cause: a log counts once, under its root cause (a cause above info severity). A log with
    no such cause but an unrecognised failure counts under its first fingerprint; one with neither is healthy."""

    logs: int = 0
    causes: dict[str, CauseStats] = field(default_factory=dict)
    unknown: dict[str, CauseStats] = field(default_factory=dict)
    healthy: int = 0
    not_read: CauseStats = field(default_factory=CauseStats)
    seen_from: Counter[str] = field(default_factory=Counter)

    def add(self, row: dict[str, Any]) -> None:
        self.logs += 1
        source, seen = str(row["source"]), row.get("seen")
        if row.get("seen_from"):
            self.seen_from[str(row["seen_from"])] += 1
        if row.get("error") and not row.get("lines"):
            self.not_read.add(source, None)
        elif row.get("cause_id") and row.get("cause_severity") != "info":
            self.causes.setdefault(str(row["cause_id"]), CauseStats()).add(source, seen)
        elif row.get("unrecognized"):
            self.unknown.setdefault(str(row["unrecognized"][0]), CauseStats()).add(source, seen)
        else:
            self.healthy += 1

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (`--summary-json`)."""

        def one(key: str, s: CauseStats) -> dict[str, Any]:
            return {"id": key, "count": s.count, "share": round(s.count / self.logs, 4) if self.logs else 0.0,
                    "first_seen": _iso(s.first), "last_seen": _iso(s.last), "examples": s.examples}

        return {
            "logs": self.logs,
            "causes": [one(k, s) for k, s in _ranked(self.causes)],
            "unrecognized": [one(k, s) for k, s in _ranked(self.unknown)],
            "healthy": self.healthy,
            "not_read": self.not_read.count,
            "seen_from": dict(self.seen_from),
        }

    def render(self) -> str:
        """A table for a person: one line per cause, most frequent first."""
        head = f"Fleet summary: {self.logs:,} log{'s' if self.logs != 1 else ''}"
        table: list[tuple[str, CauseStats]] = list(_ranked(self.causes))
        table += [(f"unrecognised {fp}", s) for fp, s in _ranked(self.unknown)]
        width = max([len(k) for k, _ in table] + [len("cause")])
        lines = [head, f"  {'cause':<{width}}  {'logs':>7}  {'share':>6}  {'first seen':<16}  {'last seen':<16}  examples"]
        for key, s in table:
            lines.append(f"  {key:<{width}}  {s.count:>7,}  {self._share(s.count):>6}  {_short(s.first):<16}  "
                         f"{_short(s.last):<16}  {', '.join(s.examples)}")
        lines.append(f"  {'no failure found':<{width}}  {self.healthy:>7,}  {self._share(self.healthy):>6}")
        if self.not_read.count:
            lines.append(f"  {'not read':<{width}}  {self.not_read.count:>7,}  {self._share(self.not_read.count):>6}"
                         f"  {'':<16}  {'':<16}  {', '.join(self.not_read.examples)}")
        if self.seen_from:
            told = ", ".join(f"{n:,} from {_SEEN_FROM.get(k, k)}" for k, n in sorted(self.seen_from.items()))
            lines.append(f"Times seen (UTC): {told}.")
        return "\n".join(lines) + "\n"

    def _share(self, n: int) -> str:
        return f"{100 * n / self.logs:.1f}%" if self.logs else "-"


_SEEN_FROM = {"log": "the log's own timestamps", "mtime": "the files' modification times"}


def _ranked(table: dict[str, CauseStats]) -> list[tuple[str, CauseStats]]:
    return sorted(table.items(), key=lambda kv: (-kv[1].count, kv[0]))


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when is not None else None


def _short(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M") if when is not None else "-"
