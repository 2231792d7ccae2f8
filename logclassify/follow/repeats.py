"""How often each cause came back, and when a repeat may be printed (the rate limit on repeats).

A crash loop brings the same cause back with every restart: each occurrence must reach the alerting, but a server
that restarts every few seconds must not flood it. The first occurrence of a cause is printed at once; a repeat is
printed at once when the cause's last event is at least `every_s` old, else it is held, and the held event (the
latest occurrence, with the count so far) is printed when that time has passed. So every occurrence is counted
and shows in the next event, and one cause prints at most one event per `every_s`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from logclassify.models import Event


@dataclass
class _Seen:
    count: int
    first_at: str  # ISO time of the first event
    printed_at: float  # clock time of the last event printed
    held: Event | None = None


class Repeats:
    """Counts occurrences per cause key (a rule id, or an unrecognised failure's fingerprint)."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.seen: dict[str, _Seen] = {}

    def occurred(self, key: str, ev: Event, now: float) -> Event | None:
        """The cause of `ev` occurred (again): the event to print now, numbered, or None when it is held back."""
        seen = self.seen.get(key)
        if seen is None:
            self.seen[key] = _Seen(1, ev.at, now)
            return ev
        seen.count += 1
        numbered = dataclasses.replace(ev, occurrence=seen.count, first_at=seen.first_at)
        if now - seen.printed_at >= self.every_s:
            seen.printed_at, seen.held = now, None
            return numbered
        seen.held = numbered
        return None

    def due(self, now: float, at: str) -> list[Event]:
        """Held repeats whose wait is over, stamped with the time they are printed (`at`)."""
        out = []
        for seen in self.seen.values():
            if seen.held is not None and now - seen.printed_at >= self.every_s:
                out.append(dataclasses.replace(seen.held, at=at))
                seen.printed_at, seen.held = now, None
        return out

    def flush(self, at: str) -> list[Event]:
        """Every held repeat, now (the input ended, or the user stopped following)."""
        return self.due(float("inf"), at)
