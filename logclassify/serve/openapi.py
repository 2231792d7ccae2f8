"""The OpenAPI document: FastAPI's, plus what it cannot see because the classify routes read their body
themselves (to enforce the size limit while reading and accept text, gzip and JSON): the request bodies, and the
Report schema of the reply (from `Report.model_json_schema()`, the same one the library documents)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, TypeAdapter

from logclassify.models import Report
from logclassify.serve.schemas import ErrorReply

_REF = "#/components/schemas/{model}"

_ERROR_CASES = {
    400: "malformed JSON, a wrong field, or an unreadable gzip body",
    401: "the bearer token is missing or wrong (servers started with --token)",
    404: "no such rule",
    408: "the body did not arrive in time",
    413: "the body (or the gzip body once inflated) is over the server's limit; the message names it",
    415: "a Content-Type or Content-Encoding that is not accepted; the message lists those that are",
    503: "the queue is full: try again after Retry-After seconds",
    504: "the request took longer than the server's time limit",
}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorReply, "description": why} for status, why in _ERROR_CASES.items()
}


def classify_body_doc(model: type[BaseModel], what: str) -> dict[str, Any]:
    """The requestBody and 200 reply of a classify route (added to FastAPI's document through openapi_extra)."""
    raw = {"schema": {"type": "string"}, "example": "RuntimeError: CUDA error: out of memory\n"}
    return {
        "requestBody": {
            "required": True,
            "description": f"{what}: as text, as gzip, or as JSON",
            "content": {
                "text/plain": raw,
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "application/gzip": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}},
            },
        },
        "responses": {
            "200": {
                "description": "the Report (as `logclassify --format json`), or Markdown with Accept: text/markdown",
                "content": {
                    "application/json": {"schema": {"$ref": _REF.format(model="Report")}},
                    "text/markdown": {"schema": {"type": "string"}},
                },
            }
        },
    }


def _add_schema(components: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    for sub, body in schema.pop("$defs", {}).items():
        components.setdefault(sub, body)
    components[name] = schema


def document(app: FastAPI) -> dict[str, Any]:
    """Built once, then cached on the app as FastAPI does."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    from logclassify.serve.schemas import ClassifyRequest, IssueRequest

    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    for operations in doc.get("paths", {}).values():  # invalid parameters are answered 400 (ErrorReply), not 422
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    _add_schema(components, "Report", TypeAdapter(Report).json_schema(ref_template=_REF))
    for model in (ClassifyRequest, IssueRequest):
        _add_schema(components, model.__name__, model.model_json_schema(ref_template=_REF))
    app.openapi_schema = doc
    return doc
