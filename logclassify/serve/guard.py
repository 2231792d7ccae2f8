"""The outermost layer: the bearer token for data routes, and one count and timing per request for /metrics.

A plain ASGI middleware (no body buffering): it sees the route and the status, never the body.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from logclassify.serve.metrics import Metrics

PROTECTED_PREFIXES = ("/v1/", "/metrics")


def needs_token(path: str) -> bool:
    """The routes that compute or reveal something: the API and the metrics. The page, its assets, /docs and the
    OpenAPI document are static files (a browser cannot send a bearer header when it opens a page; the page
    asks for the token and sends it with its API calls); /healthz is for load balancers."""
    return path.startswith(PROTECTED_PREFIXES)


class Guard:
    """The served ASGI app: `fastapi` is the app inside (its `.state` holds the classifier, settings and gate)."""

    def __init__(self, app: FastAPI, metrics: Metrics, token: str | None) -> None:
        self.app = app
        self.fastapi = app
        self.metrics = metrics
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            if self.token is not None and needs_token(scope["path"]) and not self._authorised(scope):
                status = 401
                await _unauthorised(send, bool(_header(scope, b"authorization")))
            else:
                await self.app(scope, receive, sending)
        finally:
            route = _route_label(scope)
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - start)

    def _authorised(self, scope: Scope) -> bool:
        given = _header(scope, b"authorization")
        scheme, _, value = given.partition(b" ")
        return scheme.lower() == b"bearer" and self.token is not None and hmac.compare_digest(value.strip(), self.token)


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return b""


def _route_label(scope: Scope) -> str:
    """The route's template (/v1/rules/{rule_id}), never the raw path: a label per URL would grow without end."""
    route: Any = scope.get("route")
    if route is not None and isinstance(getattr(route, "path", None), str):
        return str(route.path)
    path = str(scope.get("path", ""))
    for prefix in ("/static/", "/docs-assets/"):
        if path.startswith(prefix):
            return prefix + "*"
    return "other"


async def _unauthorised(send: Send, had_header: bool) -> None:
    why = "the bearer token is wrong" if had_header else "this server needs a bearer token"
    body = (b'{"error": "' + why.encode() + b': send Authorization: Bearer <token> (the --token or LOGCLASSIFY_TOKEN '
            b'the server was started with)", "status": 401}')
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"www-authenticate", b'Bearer realm="logclassify"')]})
    await send({"type": "http.response.body", "body": body})
