"""Errors a request can meet, each with its HTTP status and a message that says what to change.

A message never quotes the request body: bodies are logs, and logs hold secrets.
"""

from __future__ import annotations


class Problem(Exception):
    """An answer other than 200: `status`, a message for the caller, extra response headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class TooLarge(Problem):
    def __init__(self, message: str) -> None:
        super().__init__(413, message)


class TimeUp(Exception):
    """Raised inside a classification whose request ran out of time (checked between chunks of the input)."""
