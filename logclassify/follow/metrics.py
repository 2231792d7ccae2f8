"""`--follow ... --metrics-port N`: what the hub counted, as Prometheus metrics (the `metrics` extra).

prometheus_client is imported only here and only when the option is given, so that the plain command starts as
fast as before and the core never needs it. The values are read from the hub's `SourceStats` at each scrape (a
custom collector on a registry of our own, next to the process's RSS and CPU), so the follow loop pays nothing per
line for them; a source the hub forgot disappears from the phase gauges at once and from the counters `keep_s`
later.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logclassify.follow.hub import Hub

_SPEC = re.compile(r"^(?:(?P<host>\[[0-9a-fA-F:.]+\]|[\w.-]+):)?(?P<port>\d{1,5})$")


def parse_listen(spec: str) -> tuple[str, int]:
    """`9400`, `127.0.0.1:9400` or `[::1]:9400` as (host, port); all interfaces when no host is given."""
    m = _SPEC.match(spec.strip())
    if m is None or int(m["port"]) > 65535:
        raise ValueError(f"--metrics-port: {spec!r} is not a port (1-65535, or 0 for any free port), "
                         "optionally after HOST:")
    host = (m["host"] or "0.0.0.0").strip("[]")
    return host, int(m["port"])


class HubCollector:
    """A prometheus_client collector over a hub's counts (set once the hub exists)."""

    def __init__(self, wallclock: Callable[[], float] = time.time) -> None:
        self.hub: Hub | None = None
        self.wallclock = wallclock

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        hub = self.hub
        if hub is None:
            return
        with hub.lock:
            stats = [(key, s, dict(s.diagnoses)) for key, s in hub.stats.items()]
            followed, forgotten = len(hub.followers), hub.forgotten
        now = self.wallclock()
        diag = CounterMetricFamily("logclassify_diagnoses", "Occurrences of each known cause, per source",
                                   labels=["source", "id", "severity"])
        unknown = CounterMetricFamily("logclassify_unrecognized", "Failures no rule explains, per source",
                                      labels=["source"])
        lines = CounterMetricFamily("logclassify_lines_read", "Log lines read, per source", labels=["source"])
        nbytes = CounterMetricFamily("logclassify_bytes_read", "Log bytes read, per source", labels=["source"])
        phase = GaugeMetricFamily("logclassify_startup_phase", "1 for the startup phase each source is in "
                                  "(serving once up); status running, done or failed", labels=["source", "phase", "status"])
        phase_s = GaugeMetricFamily("logclassify_startup_phase_seconds", "Seconds since the source entered its "
                                    "current phase (as seen live)", labels=["source", "phase", "status"])
        silent = GaugeMetricFamily("logclassify_silent_seconds", "Seconds since the source's last line",
                                   labels=["source"])
        for key, s, diagnoses in stats:
            for (rule, severity), n in sorted(diagnoses.items()):
                diag.add_metric([key, rule, severity], n)
            unknown.add_metric([key], s.unrecognized)
            lines.add_metric([key], s.lines)
            nbytes.add_metric([key], s.bytes)
            if s.forgotten_at is not None:
                continue
            if s.phase is not None:
                phase.add_metric([key, *s.phase], 1)
                phase_s.add_metric([key, *s.phase], round(now - s.phase_since, 3))
            if s.last_line_at:
                silent.add_metric([key], round(now - s.last_line_at, 3))
        yield from (diag, unknown, lines, nbytes, phase, phase_s, silent)
        yield GaugeMetricFamily("logclassify_sources", "Files and record sources followed now", value=followed)
        yield CounterMetricFamily("logclassify_sources_forgotten", "Files forgotten (deleted, or no longer "
                                  "matching) since the start", value=forgotten)


def metrics_server(spec: str, notice: Callable[[str], None]) -> Callable[[Hub], None]:
    """Listen on `spec` now (a ValueError names what is wrong: the port, the missing extra, an address in use) and
    return what attaches the hub once it exists."""
    host, port = parse_listen(spec)
    try:
        from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
    except ImportError:
        raise ValueError("--metrics-port needs prometheus_client: pip install 'logclassify[metrics]'") from None
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    collector = HubCollector()
    registry.register(collector)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ValueError(f"--metrics-port: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    notice(f"serving metrics on http://{host}:{server.server_port}/metrics")

    def attach(hub: Hub) -> None:
        collector.hub = hub

    return attach
