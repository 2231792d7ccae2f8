"""`logclassify mine`: the unknown failures of many logs, grouped and ranked, and a rule drafted for one group."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from logclassify.engine.classifier import Classifier, load_rules
from logclassify.engine.loader import RuleError
from logclassify.mine.draft import DraftError, draft_rule
from logclassify.mine.groups import Group, mine
from logclassify.mine.templates import DEFAULT_THRESHOLD

EPILOG = """\b
Examples:
  logclassify mine logs/                          groups of unknown failures, biggest first
  logclassify mine backlog.jsonl --min-size 2     a support bot's backlog (one JSON text a line)
  logclassify mine logs/ --format json            for scripts
  logclassify mine logs/ --draft new/ --group 1 --id lora-bad-target
                                                  write new/rules/drafts/lora-bad-target.yaml and its fixtures
  logclassify rules test new/fixtures --rules new/rules    then prove the draft
"""


def _print_groups(groups: list[Group], top: int) -> None:
    if not groups:
        click.echo("no unrecognised failures found")
        return
    for n, g in enumerate(groups[:top], 1):
        click.echo(f"#{n}  {g.size} report(s), {len(g.fingerprints)} fingerprint(s)")
        click.echo(f"    template: {g.template}")
        for line in g.occurrences[0].excerpt:
            click.echo(f"    | {line[:200]}")
        shown = g.sources[:5]
        click.echo("    sources: " + ", ".join(shown) + (f" (+{len(g.sources) - len(shown)} more)" if len(g.sources) > 5 else ""))
        click.echo("")
    rest = len(groups) - top
    if rest > 0:
        click.echo(f"... {rest} smaller group(s) not shown (--top N)")


@click.command("mine", epilog=EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Add a folder of rules: failures they explain are not mined.")
@click.option("--min-size", default=1, show_default=True, type=click.IntRange(min=1),
              help="Show only groups with at least this many reports.")
@click.option("--top", default=20, show_default=True, type=click.IntRange(min=1), help="Show at most this many groups.")
@click.option("--threshold", default=DEFAULT_THRESHOLD, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Token similarity (0..1) at which two masked messages are one template.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: the groups, biggest first; json: for scripts.")
@click.option("--draft", "draft_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write a rule skeleton and fixtures for --group into this folder.")
@click.option("--group", "group_no", type=click.IntRange(min=1), help="Which group to draft (its number, 1 = biggest).")
@click.option("--id", "rule_id", help="Id of the drafted rule (default: unknown-<fingerprint>).")
@click.option("--area", default="drafts", show_default=True, help="rules/<area>/ and fixtures/<area>/ of the draft.")
@click.option("--no-redact", is_flag=True,
              help="Keep tokens, keys, passwords and e-mails in excerpts and drafted fixtures (redacted by default).")
def mine_command(
    paths: tuple[str, ...], rule_dirs: tuple[str, ...], min_size: int, top: int, threshold: float, fmt: str,
    draft_dir: Path | None, group_no: int | None, rule_id: str | None, area: str, no_redact: bool,
) -> None:
    """Group the failures no rule explains across many logs (files, folders, .jsonl of texts), biggest first.

    Two reports of one failure land in one group even when numbers, paths, model names or a few words of the
    message differ (vLLM versions reword messages). Use --draft to turn a group into a tested rule.
    """
    if (draft_dir is None) != (group_no is None):
        raise click.UsageError("--draft DIR and --group N go together")
    try:
        classifier = Classifier(load_rules(*rule_dirs))
    except RuleError as exc:
        click.echo("logclassify: invalid rules:\n  " + "\n  ".join(exc.problems), err=True)
        sys.exit(2)
    problems: list[str] = []
    found = mine(paths, classifier, threshold=threshold, problems=problems, redact=not no_redact)
    groups = [g for g in found if g.size >= min_size]
    for p in problems:
        click.echo(f"logclassify mine: {p}", err=True)
    if draft_dir is not None and group_no is not None:
        if group_no > len(groups):
            raise click.UsageError(f"--group {group_no}: there are only {len(groups)} group(s)")
        chosen = groups[group_no - 1]
        try:
            written, missed = draft_rule(chosen, draft_dir, rule_id or f"unknown-{chosen.fingerprints[0][:8]}", area=area,
                                         redact=not no_redact)
        except DraftError as exc:
            click.echo(f"logclassify mine: {exc}", err=True)
            sys.exit(2)
        for path in written:
            click.echo(f"wrote {path}")
        for source in missed:
            click.echo(f"logclassify mine: the drafted rule does not match {source}; edit its match", err=True)
        fixtures, rules = draft_dir / "fixtures", draft_dir / "rules"
        click.echo(f"next: fill in the TODOs, then: logclassify rules test {fixtures} --rules {rules}")
        sys.exit(1 if missed else 0)
    if fmt == "json":
        click.echo(json.dumps([g.to_json() for g in groups], indent=2))
    else:
        _print_groups(groups, top)
