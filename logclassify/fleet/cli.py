"""`logclassify fleet PATHS... --output results.parquet [--ray [ADDRESS]]`: one row per log and a summary.

Without --ray the logs are classified by this machine's processes (`-j`), with --ray by a Ray cluster: `local`
(the default address) starts Ray on this machine, `auto` joins the cluster this node belongs to. docs/fleet.md.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import Any

import click

from logclassify.fleet.output import OutputError, open_writer, output_format
from logclassify.fleet.summary import Summary

_ADDRESS = re.compile(r"^(local|auto|[A-Za-z][\w+.-]*://\S+|[\w.-]+:\d+)$")
_ERRORS_SHOWN = 10

EPILOG = """\b
Examples:
  logclassify fleet logs/ --output results.parquet              this machine's processes (-j 0: every CPU)
  logclassify fleet logs/ --output results.parquet --ray        Ray in local mode on this machine
  logclassify fleet s3://bucket/jobs/ -o results.parquet --ray auto    on the Ray cluster of this node
  logclassify fleet logs/ -o results.jsonl --summary-json summary.json
"""


def _note(message: str) -> None:
    click.echo(f"logclassify: {message}", err=True)


@click.command("fleet", epilog=EPILOG)
@click.argument("inputs", nargs=-1, required=True, metavar="PATH|URI...")
@click.option("-o", "--output", required=True, metavar="FILE.parquet|FILE.jsonl",
              help="Where the rows go, one per log; the name's suffix picks Parquet or JSON lines.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help="Classify on Ray: no ADDRESS (or local) starts Ray on this machine, auto joins this node's cluster, "
                   "ray://HOST:10001 a remote one. Needs pip install 'logclassify[ray]'.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="With --ray: at most this many Ray workers (default: as many as the cluster's CPUs).")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, show_default=True,
              help="Without --ray: processes on this machine (0: one per CPU).")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True),
              help="Add a folder of rule files (repeatable); with --ray it is sent to every worker.")
@click.option("--no-builtin", is_flag=True, help="Use only the rules given with --rules.")
@click.option("--input-format", type=click.Choice(["auto", "log", "markdown"]), default="auto", show_default=True,
              help="markdown: read the code blocks of issue bodies; auto: a .md file is one.")
@click.option("--summary-json", metavar="FILE", help="Also write the summary as JSON to FILE.")
@click.option("--no-redact", is_flag=True, help="Keep tokens, keys and e-mail addresses in the rows.")
@click.option("--redact-hosts", is_flag=True, help="Also mask IP addresses and host names in the rows.")
@click.option("-q", "--quiet", is_flag=True, help="No progress from Ray, and no summary on stdout.")
def fleet_command(inputs: tuple[str, ...], output: str, ray_address: str | None, workers: int | None, jobs: int,
                  rule_dirs: tuple[str, ...], no_builtin: bool, input_format: str, summary_json: str | None,
                  no_redact: bool, redact_hosts: bool, quiet: bool) -> None:
    """Classify many logs (files, folders, URIs such as s3://bucket/prefix/) into one table, one row per log, and
    print a summary: how many logs each cause took down, its share, when first and last seen, examples."""
    if ray_address is not None and not _ADDRESS.match(ray_address):
        raise click.UsageError(f"--ray {ray_address}: not a Ray address (local, auto, ray://HOST:PORT, HOST:PORT); "
                               f"to name a path after --ray, write --ray local {ray_address}")
    if workers is not None and ray_address is None:
        raise click.UsageError("--workers applies to --ray; without Ray, -j sets the processes")
    try:
        output_format(output)
    except OutputError as exc:
        raise click.UsageError(str(exc)) from None
    from logclassify.fleet.sources import list_sources

    failed = False

    def not_read(message: str) -> None:
        nonlocal failed
        failed = True
        _note(message)

    sources = list_sources(inputs, notice=_note, failed=not_read)
    redact = (not no_redact or redact_hosts, redact_hosts)
    rows = (_ray_rows(sources, ray_address, workers, rule_dirs, not no_builtin, input_format, redact, quiet)
            if ray_address is not None else _local_rows(sources, jobs, rule_dirs, not no_builtin, input_format, redact))
    try:
        writer = open_writer(output)
    except OutputError as exc:
        _note(str(exc))
        sys.exit(2)
    summary = Summary()
    errors = 0
    try:
        for row in rows:
            writer.write([row])
            summary.add(row)
            if row["error"]:
                errors += 1
                if errors <= _ERRORS_SHOWN:
                    _note(f"{row['source']}: {row['error']}")
    finally:
        writer.close()
    if errors > _ERRORS_SHOWN:
        _note(f"... and {errors - _ERRORS_SHOWN} more logs read in part or not at all (the rows' error column)")
    if summary_json:
        with open(summary_json, "w", encoding="utf-8") as f:
            json.dump(summary.as_dict(), f, indent=2)
            f.write("\n")
    if not quiet:
        click.echo(summary.render(), nl=False)
    _note(f"{summary.logs:,} rows written to {output}")
    if failed or errors:
        sys.exit(2)


def _classifier(rule_dirs: tuple[str, ...], builtin: bool) -> Any:
    from logclassify.engine.classifier import Classifier, load_rules
    from logclassify.engine.loader import RuleError

    try:
        return Classifier(load_rules(*rule_dirs, builtin=builtin))
    except RuleError as exc:
        _note("invalid rules:\n  " + "\n  ".join(exc.problems))
        sys.exit(2)


def _local_rows(sources: Any, jobs: int, rule_dirs: tuple[str, ...], builtin: bool, input_format: str,
                redact: tuple[bool, bool]) -> Iterator[dict[str, Any]]:
    from logclassify.fleet.local import local_rows

    classifier = _classifier(rule_dirs, builtin)
    return local_rows(classifier, sources, jobs=jobs, rule_dirs=rule_dirs, builtin=builtin, input_format=input_format,
                      redact=redact)


def _ray_rows(sources: Any, address: str, workers: int | None, rule_dirs: tuple[str, ...], builtin: bool,
              input_format: str, redact: tuple[bool, bool], quiet: bool) -> Iterator[dict[str, Any]]:
    import importlib.util

    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):  # ValueError: ray stands in sys.modules as None
        found = False
    if not found:
        _note("--ray needs Ray: pip install 'logclassify[ray]' (or leave --ray out to use this machine's processes)")
        sys.exit(2)
    from logclassify.fleet.rulepack import RulePack

    _classifier(rule_dirs, builtin)  # invalid rules are named here, with their files, before any worker starts
    try:
        pack = RulePack.of(rule_dirs, builtin)
    except (OSError, ValueError) as exc:
        _note(str(exc))
        sys.exit(2)
    return _ray_iter(sources, address, workers, pack, input_format, redact, quiet)


def _ray_iter(sources: Any, address: str, workers: int | None, pack: Any, input_format: str,
              redact: tuple[bool, bool], quiet: bool) -> Iterator[dict[str, Any]]:
    import ray

    from logclassify.fleet import ray_batch

    started = ray_batch.connect(address, quiet=quiet or not sys.stderr.isatty())
    try:
        if sources:
            ds = ray_batch.classify_sources(sources, rules=pack, workers=workers, input_format=input_format,
                                            redact=redact)
            yield from ray_batch.iter_rows(ds)
    finally:
        if started:
            ray.shutdown()
