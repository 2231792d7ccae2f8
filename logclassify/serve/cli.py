"""`logclassify serve`: start the HTTP service and the page (needs `pip install 'logclassify[serve]'`)."""

from __future__ import annotations

import os
import sys

import click

from logclassify.serve.settings import MIB, TOKEN_ENV, Settings, default_concurrency, parse_size


def _size(_ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        size = parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None
    if size < 1:
        raise click.BadParameter(f"{value!r}: give at least 1 byte", param=param)
    return size


@click.command("serve", epilog="""\b
Examples:
  logclassify serve                          http://127.0.0.1:8080/ (the page), /docs (the API)
  logclassify serve --host 0.0.0.0 --port 9000 --rules my-rules/
  LOGCLASSIFY_TOKEN=s3cret logclassify serve --host 0.0.0.0
  curl -H 'Content-Type: text/plain' --data-binary @server.log http://127.0.0.1:8080/v1/classify
""")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 to be reachable from other machines (then set a token).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True),
              help="Add a folder of rule files on top of the built-in ones (repeatable); loaded once, at start.")
@click.option("--no-builtin", is_flag=True, help="Use only the rules given with --rules.")
@click.option("--token", envvar=TOKEN_ENV, show_envvar=True,
              help="Require 'Authorization: Bearer TOKEN' on /v1/* and /metrics (prefer the environment variable: "
                   "a command line is visible to every user of the machine).")
@click.option("--max-body", default="64M", show_default=True, callback=_size,
              help="Largest request body (as sent); a larger one is refused with 413. Sizes: 500k, 64M, 1G.")
@click.option("--max-inflated", default="1G", show_default=True, callback=_size,
              help="Largest size a gzip body may inflate to (413 beyond).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds a request may take, from its arrival to its answer (504 beyond).")
@click.option("--max-concurrent", type=click.IntRange(min=1), default=None,
              help="Classifications at once (default: CPUs, between 2 and 4); the others queue.")
@click.option("--max-queue", type=click.IntRange(min=0), default=64, show_default=True,
              help="Requests that may wait for a slot; one more is answered 503 with Retry-After.")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="Log one line per request (method, path, status; never the body).")
def serve_command(host: str, port: int, rule_dirs: tuple[str, ...], no_builtin: bool, token: str | None,
                  max_body: int, max_inflated: int, timeout_s: float, max_concurrent: int | None, max_queue: int,
                  access_log: bool) -> None:
    """Serve the classifier over HTTP: POST /v1/classify (a log: text, gzip or JSON), /v1/classify-issue,
    GET /v1/rules, /healthz, /metrics, the API's docs at /docs, and at / a page to paste or drop a log into.
    Bodies are never logged or stored; replies are redacted unless a request asks otherwise."""
    try:
        import uvicorn

        from logclassify.serve.app import create_app
    except ImportError as exc:
        click.echo(f"logclassify: serve needs the serve extra ({exc.name} is missing): "
                   "pip install 'logclassify[serve]'", err=True)
        sys.exit(2)
    from logclassify.engine.classifier import Classifier, load_rules
    from logclassify.engine.loader import RuleError

    try:
        classifier = Classifier(load_rules(*rule_dirs, builtin=not no_builtin))
    except RuleError as exc:
        click.echo("logclassify: invalid rules:\n  " + "\n  ".join(exc.problems), err=True)
        sys.exit(2)
    if token is not None and not token.strip():
        token = None
    settings = Settings(max_body=max_body, max_inflated=max_inflated, timeout_s=timeout_s,
                        max_concurrent=max_concurrent or default_concurrency(), max_queue=max_queue, token=token)
    if host not in ("127.0.0.1", "localhost", "::1") and token is None:
        click.echo(f"logclassify: warning: listening on {host} without a token: anyone who can reach this port can "
                   f"use it (set {TOKEN_ENV})", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"logclassify: {len(classifier.rules)} rules; the page: http://{shown}:{port}/  the API: "
               f"http://{shown}:{port}/docs  (limits: body {max_body // MIB or max_body} "
               f"{'MiB' if max_body >= MIB else 'bytes'}, {timeout_s:g} s, {settings.max_concurrent} at once)", err=True)
    os.environ.pop(TOKEN_ENV, None)  # not inherited by anything the server starts
    uvicorn.run(create_app(classifier, settings), host=host, port=port, access_log=access_log,
                log_level="info", server_header=False, timeout_graceful_shutdown=5)
