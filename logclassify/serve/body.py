"""The request body: read within the size limit, then told apart by its Content-Type and Content-Encoding.

A body is one of: a log as text (`text/*`), bytes (`application/octet-stream`, gzip recognised by its magic
bytes), gzip (`application/gzip`, or any of these with `Content-Encoding: gzip`), or a JSON request
(`application/json`). Anything else is refused with 415, naming what is accepted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from logclassify.serve.problems import Problem, TooLarge
from logclassify.serve.settings import human_size

GZIP_MAGIC = b"\x1f\x8b"
GZIP_TYPES = ("application/gzip", "application/x-gzip")
RAW_TYPES = ("application/octet-stream", *GZIP_TYPES)
ACCEPTED = "text/plain (any text/*), application/octet-stream, application/gzip or application/json"
CURL_HINT = ("curl -H 'Content-Type: text/plain' --data-binary @server.log URL "
             "(a .gz file: -H 'Content-Type: application/gzip')")

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Body:
    """What a request sent: its bytes and how to read them."""

    data: bytes
    kind: str  # "text", "gzip" or "json"


def media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_limited(stream: AsyncIterator[bytes], headers: Mapping[str, str], limit: int) -> bytes:
    """The whole body, or TooLarge as soon as it passes `limit` bytes (by Content-Length before reading, or while
    reading a chunked body): a 2 GB upload is refused after the first chunk past the limit, not stored."""
    too_large = (f"the request body is larger than this server's limit of {human_size(limit)} ({limit:,} bytes); "
                 "send a gzip body (Content-Encoding: gzip), cut the log, or start the server with a larger --max-body")
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(too_large)
    parts: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise TooLarge(too_large)
        parts.append(chunk)
    return b"".join(parts)


def body_kind(headers: Mapping[str, str], data: bytes) -> str:
    """text, gzip or json, from the headers (and gzip's magic bytes for octet-stream); a 415 Problem otherwise."""
    mtype = media_type(headers)
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", ""):
        raise Problem(415, f"Content-Encoding {encoding!r} is not supported: send the body as is, or gzip it "
                           "(Content-Encoding: gzip)")
    gzipped = encoding in ("gzip", "x-gzip")
    if mtype == "application/json" or mtype.endswith("+json"):
        return "gzip-json" if gzipped else "json"
    if mtype.startswith("text/") or mtype in RAW_TYPES:
        if gzipped or mtype in GZIP_TYPES or (mtype == "application/octet-stream" and data.startswith(GZIP_MAGIC)):
            return "gzip"
        return "text"
    shown = f"Content-Type {mtype!r}" if mtype else "a request without a Content-Type"
    raise Problem(415, f"{shown} is not accepted here; send {ACCEPTED}. Example: {CURL_HINT}")


def parse_json(data: bytes, model: type[M]) -> M:
    """A JSON request body as `model`; 400 naming the position of a syntax error or the field that is wrong."""
    try:
        obj: Any = json.loads(data)
    except UnicodeDecodeError:
        raise Problem(400, "the JSON body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:  # its message names line and column, never the text
        raise Problem(400, f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise Problem(400, f"the JSON body must be an object such as {{\"text\": \"...\"}}, not {type(obj).__name__}")
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise Problem(400, "invalid JSON request: " + field_errors(exc)) from None


def field_errors(exc: ValidationError) -> str:
    """`text: Field required; redact: Input should be a valid boolean` (never the input's value)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
