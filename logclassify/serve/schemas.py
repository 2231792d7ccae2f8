"""The request and reply shapes of the API (pydantic: they validate requests and make the OpenAPI document).

The classification reply is the library's `Report`, exactly as `logclassify --format json` prints it; its schema
comes from `Report.model_json_schema()`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

InputFormat = Literal["auto", "log", "markdown"]


class ClassifyRequest(BaseModel):
    """A log sent as JSON (the other way: the raw log as the body, text or gzip)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="the log, or a GitHub issue body (its code blocks are read)")
    redact: bool = Field(default=True, description="remove tokens, keys, passwords and e-mail addresses from the reply")
    redact_hosts: bool = Field(default=False, description="also mask IP addresses and host names")
    source: str = Field(default="<request>", max_length=512, description="the name the report gives its input")
    input_format: InputFormat = Field(
        default="auto", description="auto: an issue body (``` fences, <details>) is read as Markdown; log: every line")


class IssueRequest(BaseModel):
    """A GitHub issue body sent as JSON."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(description="the issue's Markdown: logs in code blocks and <details>, versions in its text")
    redact: bool = True
    redact_hosts: bool = False
    source: str = Field(default="<issue>", max_length=512)


class RuleSummary(BaseModel):
    id: str
    title: str
    severity: str
    role: str
    tags: list[str]
    probe: str | None


class RuleDetail(RuleSummary):
    cause: str
    fix: list[object] = Field(description="the numbered steps")
    docs: list[str]
    confidence: float
    source: str = Field(description="the rule's YAML file as written")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    rules: int


class ErrorReply(BaseModel):
    """Every answer other than 200: what went wrong and what to change."""

    error: str
    status: int
