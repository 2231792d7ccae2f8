"""Prometheus metrics of one app, in a registry of its own (two apps in one process never share counts)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from logclassify.models import Report
from logclassify.serve.gate import Gate

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_SIZE_BUCKETS = tuple(float(1 << n) for n in range(10, 31, 2))  # 1 KiB .. 1 GiB


class Metrics:
    def __init__(self, gate: Gate) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("logclassify_http_requests", "HTTP requests by route and status",
                                ["route", "status"], registry=self.registry)
        self.latency = Histogram("logclassify_http_request_seconds", "Time to answer, by route", ["route"],
                                 buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.body_bytes = Histogram("logclassify_request_body_bytes", "Bytes of classified request bodies (as sent)",
                                    buckets=_SIZE_BUCKETS, registry=self.registry)
        self.causes = Counter("logclassify_headline_causes", "Classifications by headline rule id "
                              "(none: no known cause; unrecognized: only failures no rule knows)", ["id"],
                              registry=self.registry)
        running = Gauge("logclassify_classifications_running", "Classifications running now", registry=self.registry)
        running.set_function(lambda: gate.running)
        waiting = Gauge("logclassify_classifications_waiting", "Requests waiting for a slot", registry=self.registry)
        waiting.set_function(lambda: gate.waiting)

    def classified(self, report: Report, body_size: int) -> None:
        headline = report.headline
        self.causes.labels(headline.id if headline else "unrecognized" if report.unrecognized else "none").inc()
        self.body_bytes.observe(body_size)
