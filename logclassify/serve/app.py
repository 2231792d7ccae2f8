"""The FastAPI app: the classification API, the rules, health, metrics, the page and its offline docs.

Built once per server by `create_app` with a `Classifier` (the rules are compiled once, at start) and `Settings`.
Request bodies are read here and handed to `reading.run` in the `Gate`'s threads; nothing logs or keeps them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from functools import partial
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from logclassify import __version__
from logclassify.engine.classifier import Classifier
from logclassify.models import Report
from logclassify.serve import body as bodies
from logclassify.serve import reading
from logclassify.serve.gate import Gate
from logclassify.serve.guard import Guard
from logclassify.serve.metrics import Metrics
from logclassify.serve.negotiate import wants_markdown
from logclassify.serve.openapi import ERRORS, classify_body_doc, document
from logclassify.serve.problems import Problem
from logclassify.serve.rulesview import rule_detail, rule_summaries
from logclassify.serve.schemas import ClassifyRequest, Health, InputFormat, IssueRequest, RuleDetail, RuleSummary
from logclassify.serve.settings import Settings

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("logclassify.serve")

Redact = Annotated[bool, Query(description="remove tokens, keys, passwords and e-mail addresses (raw bodies; "
                                           "a JSON body says it in its own field)")]
RedactHosts = Annotated[bool, Query(description="also mask IP addresses and host names (raw bodies)")]
Source = Annotated[str, Query(max_length=512, description="the name the report gives its input (raw bodies)")]
Format = Annotated[InputFormat, Query(description="auto: an issue body (``` fences, <details>) is read as Markdown; "
                                                  "log: every line; markdown: only code blocks and <details>")]


def create_app(classifier: Classifier, settings: Settings) -> Guard:
    """The ASGI app: the FastAPI app (`.fastapi`) inside the token and metrics guard."""
    gate = Gate(settings.max_concurrent, settings.max_queue)
    metrics = Metrics(gate)
    app = FastAPIOffline(
        title="logclassify", version=__version__, redoc_url=None, static_url="/docs-assets",
        description="Say what went wrong in a vLLM / PyTorch / NCCL / CUDA log, why, and how to fix it. "
                    "The reply is the same Report JSON as `logclassify --format json`.",
    )
    app.state.classifier = classifier
    app.state.settings = settings
    app.state.gate = gate
    app.openapi = partial(document, app)  # type: ignore[method-assign]
    _errors(app)
    _api(app, classifier, settings, gate, metrics)
    _site(app, classifier, metrics)
    return Guard(app, metrics, settings.token)


async def _job(request: Request, settings: Settings, default: reading.Job) -> reading.Job:
    """The request's log as a Job: a raw body with the query's options, or a JSON body with its own."""
    deadline = time.monotonic() + settings.timeout_s
    try:
        data = await asyncio.wait_for(bodies.read_limited(request.stream(), request.headers, settings.max_body),
                                      timeout=settings.timeout_s)
    except asyncio.TimeoutError:
        raise Problem(408, f"the request body did not arrive within this server's time limit of "
                           f"{settings.timeout_s:g} s") from None
    request.state.deadline = deadline
    request.state.body_size = len(data)
    kind = bodies.body_kind(request.headers, data)
    if kind not in ("json", "gzip-json"):
        return reading.Job(data, kind == "gzip", default.source, default.input_format, default.redact,
                           default.redact_hosts, settings.max_inflated)
    if kind == "gzip-json":
        data = reading.inflate(data, settings.max_inflated)
    if default.input_format == "markdown":  # /v1/classify-issue
        issue = bodies.parse_json(data, IssueRequest)
        return reading.Job(issue.body.encode("utf-8", "surrogatepass"), False, issue.source, "markdown",
                           issue.redact, issue.redact_hosts, settings.max_inflated)
    req = bodies.parse_json(data, ClassifyRequest)
    return reading.Job(req.text.encode("utf-8", "surrogatepass"), False, req.source, req.input_format, req.redact,
                       req.redact_hosts, settings.max_inflated)


def _reply(report: Report, accept: str | None) -> Response:
    if wants_markdown(accept):
        from logclassify.render.markdown import render_markdown

        return PlainTextResponse(render_markdown(report), media_type="text/markdown; charset=utf-8")
    from logclassify.render.jsonout import render_json

    return Response(render_json([report]), media_type="application/json")


def _api(app: FastAPI, classifier: Classifier, settings: Settings, gate: Gate, metrics: Metrics) -> None:
    async def classify_job(request: Request, job: reading.Job) -> Response:
        try:
            report = await gate.run(partial(reading.run, classifier, job), request.state.deadline, settings.timeout_s)
        except Problem:
            raise
        except Exception as exc:  # a defect: said without the body or the exception's message (it may quote it)
            log.error("classification failed with %s (the body and message are not logged); where:\n%s",
                      type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
            raise Problem(500, f"classification failed ({type(exc).__name__}); this is a defect in logclassify: "
                               "please report it with the log if you can share it") from None
        metrics.classified(report, request.state.body_size)
        return _reply(report, request.headers.get("accept"))

    @app.post("/v1/classify", summary="Classify a log", responses=ERRORS,
              openapi_extra=classify_body_doc(ClassifyRequest, "the log"))
    async def classify(request: Request, redact: Redact = True, redact_hosts: RedactHosts = False,
                       source: Source = "<request>", input_format: Format = "auto") -> Response:
        """The body is the log: text, gzip (`Content-Encoding: gzip` or `Content-Type: application/gzip`), or JSON
        `{"text": ..., "redact": ..., "redact_hosts": ...}`. The reply is the Report JSON of `logclassify --format
        json`; with `Accept: text/markdown`, the Markdown reply of `--format markdown`. Redaction is on by default."""
        default = reading.Job(b"", False, source, input_format, redact, redact_hosts, settings.max_inflated)
        return await classify_job(request, await _job(request, settings, default))

    @app.post("/v1/classify-issue", summary="Classify a GitHub issue body", responses=ERRORS,
              openapi_extra=classify_body_doc(IssueRequest, "the issue's Markdown"))
    async def classify_issue(request: Request, redact: Redact = True, redact_hosts: RedactHosts = False,
                             source: Annotated[str, Query(max_length=512)] = "<issue>") -> Response:
        """The body is an issue's Markdown (text, gzip, or JSON `{"body": ...}`): the logs in its code blocks and
        `<details>` are read, and its versions. As `logclassify --format json issue.md`."""
        default = reading.Job(b"", False, source, "markdown", redact, redact_hosts, settings.max_inflated)
        return await classify_job(request, await _job(request, settings, default))

    @app.get("/v1/rules", summary="The known causes", responses=ERRORS)
    def rules() -> list[RuleSummary]:
        return rule_summaries(classifier.rules)

    @app.get("/v1/rules/{rule_id}", summary="One rule: what it says and its file", responses=ERRORS)
    def rule(rule_id: str) -> RuleDetail:
        return rule_detail(classifier.rules, rule_id)

    @app.get("/healthz", summary="Liveness (no token needed)")
    def healthz() -> Health:
        return Health(version=__version__, rules=len(classifier.rules))


def _site(app: FastAPI, classifier: Classifier, metrics: Metrics) -> None:
    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def _errors(app: FastAPI) -> None:
    def problem(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)

    @app.exception_handler(Problem)
    async def on_problem(_request: Request, exc: Problem) -> JSONResponse:
        return problem(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        found = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return problem(400, f"invalid request: {found}")

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 404:
            message = f"no such page: {request.url.path} (the API: /docs)"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path} (the API: /docs)"
        return problem(exc.status_code, message, dict(exc.headers or {}))
