"""The `logclassify` command: a thin click layer over the library.

`logclassify FILE...` scans (the `scan` command is implied); `rules`, `probe` and `doctor` are subcommands.
Exit status: 0 fine, 1 with --exit-code when a cause was found, 2 usage errors, bad rules or unreadable inputs.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click

from logclassify import __version__

if TYPE_CHECKING:  # the engine is imported where it is used: --version and --help do not load it
    from logclassify.engine.classifier import Classifier
    from logclassify.engine.loader import CompiledRule
    from logclassify.models import Report

T = TypeVar("T")

FORMATS = ("text", "json", "jsonl", "markdown")

EPILOG = """\b
Examples:
  logclassify server.log                 what went wrong, and how to fix it
  logclassify a.log b.log.gz             several files (gzip is read as is)
  journalctl -u vllm | logclassify       read stdin (also: logclassify -)
  logclassify issue.md                   a GitHub issue body: the logs in its code blocks
  logclassify --format json server.log   for scripts (jsonl: one object per line)
  logclassify --exit-code server.log     exit 1 when a failure is found
  logclassify -j 4 logs/                 every log in a folder, 4 processes, a summary at the end
  logclassify --rules my-rules/ a.log    your own rules on top of the built-in ones
  logclassify --probe server.log         confirm the diagnosis with a live probe (needs torch)
  journalctl -f -u vllm | logclassify --follow -    watch a live server
  logclassify --follow '/var/log/containers/vllm-*.log' --metrics-port 9400   every vLLM pod of a node
  logclassify --follow server.log --hang-after compile=1800   allow a slow first torch.compile
\b
More:
  logclassify rules list                 the known causes
  logclassify rules test                 run every rule's fixtures
  logclassify doctor                     check this machine's environment
  logclassify probe nccl                 reproduce a GPU-stack failure live
  logclassify mine logs/                 group the failures no rule knows, biggest first
  logclassify fleet logs/ -o r.parquet   one row per log and a summary (--ray: on Ray)
"""


INPUTS_HELP = ("Logs to read: files (plain or .gz), folders (every file in them named like a log, recursively: "
               ".log .out .err .txt .jsonl, rotated .1 .2.gz; what is skipped is said on stderr), - for stdin. "
               "An input that cannot be read is named on stderr (exit 2); the others still get their reports.")


def _fail(message: str) -> NoReturn:
    click.echo(f"logclassify: {message}", err=True)
    sys.exit(2)


# Commands imported only when used, so a scan does not pay for them (probes import torch lazily in turn).
_LAZY_COMMANDS = {
    "probe": ("logclassify.probes.cli", "probe_command"),
    "doctor": ("logclassify.probes.cli", "doctor_command"),
    "mine": ("logclassify.mine.cli", "mine_command"),
    "fleet": ("logclassify.fleet.cli", "fleet_command"),
    "serve": ("logclassify.serve.cli", "serve_command"),
}


class _Main(click.Group):
    """A group whose default command is `scan`: `logclassify FILE` means `logclassify scan FILE`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        known = set(self.commands) | set(_LAZY_COMMANDS)
        if not args or (args[0] not in known and args[0] not in ("--help", "-h", "--version")):
            args = ["scan", *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(_LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY_COMMANDS and cmd_name not in self.commands:
            import importlib

            module, attr = _LAZY_COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help(ctx, formatter)
        scan = self.commands["scan"]
        with formatter.section("Scan options (logclassify [OPTIONS] FILE|FOLDER|- ...)"):
            records = [r for r in (p.get_help_record(ctx) for p in scan.params if isinstance(p, click.Option)) if r]
            formatter.write_dl([("FILE|FOLDER|-", INPUTS_HELP), *records])


@click.group(cls=_Main, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="logclassify")
def main() -> None:
    """Say what went wrong in a vLLM / PyTorch / NCCL / CUDA log, why, and how to fix it."""


def _classifier(rule_dirs: Sequence[str], builtin: bool = True) -> Classifier:
    from logclassify.engine.classifier import Classifier, load_rules
    from logclassify.engine.loader import RuleError

    try:
        return Classifier(load_rules(*rule_dirs, builtin=builtin))
    except RuleError as exc:
        _fail("invalid rules:\n  " + "\n  ".join(exc.problems))


def _use_color(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


class _Out:
    """stdout that ends quietly when the reader goes away (`logclassify x.log | head -1`)."""

    def write(self, text: str) -> None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)


@main.command("scan", epilog=EPILOG)
@click.argument("inputs", nargs=-1, metavar="FILE|FOLDER|-", type=click.Path(dir_okay=True, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: for a person; json: one object per input (an array for several); jsonl: one object per "
                   "line, for scripts; markdown: a reply to post on an issue. Example: --format json a.log | jq .")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Classify many files in this many processes (0: one per CPU); reports stay in input order, and a "
                   "worker that dies costs only its file. Example: -j 4 logs/")
@click.option("--stall-timeout", type=click.FloatRange(min=0), default=120.0, show_default=True, metavar="SECS",
              help="With -j: an input that gives no new bytes for this long (a named pipe nobody writes to, a hung "
                   "network mount) is stopped and reported as not read (exit 2); the others still get reports. "
                   "0: wait forever.")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress bar (shown anyway only on a terminal, for an input that takes over a second).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour the text output (auto: only on a terminal, not with NO_COLOR set or TERM=dumb). "
                   "Example: --color always | less -R")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True),
              help="Add a folder of rule files on top of the built-in rules (repeatable). Example: --rules my-rules/")
@click.option("--no-builtin", is_flag=True,
              help="Use only the rules given with --rules (to try your own rules alone).")
@click.option("--input-format", type=click.Choice(["auto", "log", "markdown"]), default="auto", show_default=True,
              help="markdown: read only the code blocks and <details> of an issue body; log: read every line "
                   "(auto: a .md file is markdown; any other file or stdin is when it is at most 1 MiB and has a ``` "
                   "fence or <details>, the same test for both).")
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when a failure is found: a known cause above info severity, or an unrecognised failure "
                   "(like git diff --exit-code). Example: logclassify --exit-code run.log || page-oncall")
@click.option("--all", "show_all", is_flag=True,
              help="Also show the consequences folded under each cause (the NCCL timeouts on other ranks, ...).")
@click.option("--probe", "run_probes", is_flag=True,
              help="Run the live probes the diagnoses name (logclassify probe nccl, cuda, ...) and mark each diagnosis "
                   "confirmed, refuted or unchecked; needs torch. Example: logclassify --probe server.log")
@click.option("--probe-timeout", type=click.FloatRange(min=1), default=120.0, show_default=True,
              help="With --probe: seconds per probe before it counts as hung and is killed.")
@click.option("--follow", "follow_args", multiple=True, metavar="FILE|FOLDER|GLOB|-",
              help="Follow logs as they grow, like tail -F (survives rotation, truncation and deletion); with it, the "
                   "FILE arguments are followed too. A folder or a quoted glob is listed again every second: new "
                   "files are followed from their start, deleted ones forgotten ('/var/log/containers/vllm-*.log'). "
                   "'-' reads a stream: plain lines (journalctl -f -u vllm | logclassify --follow -) or Fluent "
                   "Bit / Vector JSON records, one source per pod. Prints each diagnosis once per source, as soon "
                   "as it is certain. Ctrl-C stops.")
@click.option("--metrics-port", metavar="[HOST:]PORT",
              help="With --follow: serve Prometheus metrics on this port (all interfaces unless HOST is given): "
                   "diagnoses, startup phases, lines and bytes read per source. Needs the metrics extra: pip install "
                   "'logclassify[metrics]'. Example: --metrics-port 9400")
@click.option("--hang-after", multiple=True, metavar="SECS|PHASE=SECS",
              help="With --follow: report a startup hang once a phase is silent this long (default per phase: "
                   "download 900, load_weights 600, compile 900, profile 300, cuda_graphs 300, api_server 180). "
                   "Example: --follow server.log --hang-after compile=1800")
@click.option("--repeat-every", metavar="SECS",
              help="With --follow: a cause that comes back (a crash loop) is reported again, with its count, at most "
                   "once per SECS (default 60; 0: every time).")
@click.option("--no-redact", is_flag=True,
              help="Keep tokens, API keys, passwords in URLs and e-mail addresses in the output (removed by default).")
@click.option("--redact-hosts", is_flag=True,
              help="Also mask IP addresses and host names in the output (before posting it in public).")
def scan(
    inputs: tuple[str, ...],
    fmt: str,
    color: str,
    rule_dirs: tuple[str, ...],
    no_builtin: bool,
    input_format: str,
    exit_code: bool,
    show_all: bool,
    run_probes: bool,
    probe_timeout: float,
    follow_args: tuple[str, ...] = (),
    metrics_port: str | None = None,
    hang_after: tuple[str, ...] = (),
    repeat_every: str | None = None,
    no_redact: bool = False,
    redact_hosts: bool = False,
    jobs: int = 1,
    quiet: bool = False,
    stall_timeout: float = 120.0,
) -> None:
    """Classify log files (plain or .gz), folders of them (recursively: .log, .out, .err, .txt, .jsonl, rotated
    .1 and .2.gz too), or stdin when no file or `-` is given."""
    for name, given in (("--hang-after", bool(hang_after)), ("--repeat-every", repeat_every is not None),
                        ("--metrics-port", metrics_port is not None)):
        if given and not follow_args:
            raise click.UsageError(f"{name} applies to --follow only; add --follow FILE, or leave it out")
    if follow_args:
        follow_all = [*follow_args, *inputs]
        if "-" in follow_all and len(follow_all) > 1:
            _fail("--follow - (stdin) is followed alone: it cannot be mixed with files")
        _follow(follow_all, _classifier(rule_dirs, builtin=not no_builtin), fmt, hang_after,
                redact=not no_redact, hosts=redact_hosts, exit_code=exit_code, repeat_every=repeat_every,
                metrics_port=metrics_port)
        return
    if not inputs:
        if sys.stdin.isatty():
            click.echo("usage: logclassify [OPTIONS] FILE...   (or pipe a log into it)\n"
                       "Try 'logclassify --help' for the options and examples.", err=True)
            sys.exit(2)
        inputs = ("-",)
    classifier = _long_lived(lambda: _classifier(rule_dirs, builtin=not no_builtin))  # the engine is imported here
    from logclassify import batch
    from logclassify.select import alloc

    alloc.allow()  # this process is the command's: a big input's scan may keep freed blocks for reuse
    out = _Out()
    use_color = _use_color(color)
    reports: list[Report] = []
    failed = False

    def note(message: str) -> None:
        click.echo(f"logclassify: {message}", err=True)

    def not_read(message: str) -> None:  # a folder that could not be listed: its logs were not read (exit 2)
        nonlocal failed
        failed = True
        note(message)

    names = batch.expand_inputs(inputs, notice=note, failed=not_read)
    bar = None
    if batch.progress_wanted(fmt, quiet):
        if len(names) > 1:
            bar = batch.Progress(len(names), "files")
        elif names and names[0] != "-":
            bar = batch.Progress(batch.file_sizes(names), "bytes")
    redact = not no_redact or redact_hosts
    results = batch.classify_many(classifier, names, jobs=jobs, input_format=input_format, rule_dirs=rule_dirs,
                                  builtin=not no_builtin, on_progress=bar.update if bar and len(names) > 1 else None,
                                  on_bytes=bar.update if bar and len(names) == 1 else None,
                                  redact=redact, redact_hosts=redact_hosts, stall_s=stall_timeout or None)
    for report, error in results:
        if bar is not None:
            bar.close()  # the bar is redrawn after this input's output
        if error is not None:
            failed = True
            click.echo(f"logclassify: {error}", err=True)
        if fmt not in ("text", "markdown"):  # the text and Markdown answers say it themselves (docs/limits.md)
            for warning in report.warnings:
                click.echo(f"logclassify: {report.source}: warning: {warning}", err=True)
        if run_probes and report.diagnoses:
            report = _apply_probes(report, probe_timeout)
            if redact:  # what the probes printed
                report = _redact(report, redact_hosts)
        reports.append(report)
        if fmt == "jsonl":
            from logclassify.render.jsonout import render_jsonl

            out.write(render_jsonl(report))
        elif fmt in ("text", "markdown") and (report.error is None or report.lines):  # a damaged file: what was read
            out.write(_render_one(report, fmt, use_color, show_all))
            if len(names) > 1:
                out.write("\n")
    if bar is not None:
        bar.close()
    if fmt == "text" and len(names) > 1:
        out.write(batch.summary(reports))
    if fmt == "json":
        from logclassify.render.jsonout import render_json

        out.write(render_json(reports))
    if failed:
        sys.exit(2)
    if exit_code and any(r.alarms or r.unrecognized for r in reports):
        sys.exit(1)


def _long_lived(build: Callable[[], T]) -> T:
    """`build()` with the garbage collector off, then what exists (modules, the compiled rules, the scanner) moved
    out of its sight: loading the rules creates ~100,000 objects that live until exit and no garbage, and the
    collector walked them again and again, during the load (~50 passes) and the scan and at exit (~10 ms of a
    short run's CPU). The command's own process only; the library never does this."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return build()
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def _render_one(report: Report, fmt: str, color: bool, show_all: bool) -> str:
    if fmt == "markdown":
        from logclassify.render.markdown import render_markdown

        return render_markdown(report)
    from logclassify.render.text import render_text

    return render_text(report, color=color, show_all=show_all)


def _redact(report: Report, hosts: bool) -> Report:
    from logclassify.redact import redact_report

    return redact_report(report, hosts=hosts)


def _follow(paths: Sequence[str], classifier: Classifier, fmt: str, hang_after: Sequence[str], *, redact: bool,
            hosts: bool, exit_code: bool, repeat_every: str | None = None, metrics_port: str | None = None) -> None:
    """--follow: print events until the stream ends or Ctrl-C / SIGTERM; exit 1 with --exit-code if one alarmed."""
    from logclassify import follow as live

    def notice(message: str) -> None:
        click.echo(f"logclassify: {message}", err=True)

    try:
        options = live.options(classifier, hang_after, repeat_every, redact=redact or hosts, redact_hosts=hosts)
        on_hub = live.metrics_server(metrics_port, notice) if metrics_port is not None else None
    except ValueError as exc:
        _fail(str(exc))
    alarmed = live.run(paths, classifier, options, fmt=fmt, write=_Out().write,
                       notice=notice, on_hub=on_hub)
    sys.exit(1 if exit_code and alarmed else 0)


def _apply_probes(report: Report, timeout: float) -> Report:
    try:
        from logclassify.probes import apply_probes
    except ImportError as exc:  # pragma: no cover - the probes package ships with logclassify
        _fail(f"probes unavailable: {exc}")
    return apply_probes(report, timeout=timeout)


# -- rules -------------------------------------------------------------------------------------------------


@main.group("rules")
def rules_group() -> None:
    """List, show, validate and test rules."""


def _all_rules(rule_dirs: Sequence[str]) -> list[CompiledRule]:
    from logclassify.engine.classifier import load_rules
    from logclassify.engine.loader import RuleError

    try:
        return load_rules(*rule_dirs)
    except RuleError as exc:
        _fail("invalid rules:\n  " + "\n  ".join(exc.problems))


def _fixture_roots(given: Sequence[str]) -> list[Path]:
    """The fixture folders given, else the source checkout's; none in an installed wheel (said on stderr)."""
    from logclassify.engine.fixtures import NO_FIXTURES, default_fixtures_dir

    if given:
        return [Path(f) for f in given]
    default = default_fixtures_dir()
    if default is None:
        click.echo(f"logclassify: {NO_FIXTURES}", err=True)
        return []
    return [default]


def _fixture_counts(roots: Sequence[Path]) -> dict[str, int]:
    from logclassify.engine.fixtures import find_fixtures, load_expect

    counts: dict[str, int] = {}
    for root in roots:
        for exp, _ in find_fixtures(root):
            try:
                for rid in load_expect(exp):
                    counts[rid] = counts.get(rid, 0) + 1
            except ValueError:
                continue
    return counts


_FIXTURES_OPTION = click.option(
    "--fixtures", "fixture_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
    help="Fixture folders (repeatable); default: fixtures/ of a source checkout (a wheel has none).",
)


@rules_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: a table; json: every rule's id, title, severity, fixture count, probe and file.")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True), help="Add a folder of rules.")
@_FIXTURES_OPTION
def rules_list(fmt: str, rule_dirs: tuple[str, ...], fixture_dirs: tuple[str, ...]) -> None:
    """The known causes: id, severity, fixture count, title."""
    rules = _all_rules(rule_dirs)
    counts = _fixture_counts(_fixture_roots(fixture_dirs))
    rows = [
        {
            "id": r.id,
            "title": r.rule.title,
            "severity": r.rule.severity.value,
            "fixtures": counts.get(r.id, 0),
            "probe": r.rule.probe,
            "path": str(r.path),
        }
        for r in sorted(rules, key=lambda r: r.id)
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r["id"]) for r in rows), default=10)  # type: ignore[arg-type]
    click.echo(f"{'id':<{width}}  {'severity':<8}  {'fixtures':>8}  title")
    for r in rows:
        click.echo(f"{r['id']:<{width}}  {r['severity']:<8}  {r['fixtures']:>8}  {r['title']}")
    click.echo(f"\n{len(rows)} rules")


@rules_group.command("show")
@click.argument("rule_id")
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True), help="Add a folder of rules.")
@_FIXTURES_OPTION
def rules_show(rule_id: str, rule_dirs: tuple[str, ...], fixture_dirs: tuple[str, ...]) -> None:
    """Print a rule's file and the fixtures that prove it."""
    from logclassify.engine.fixtures import find_fixtures, load_expect

    rules = {r.id: r for r in _all_rules(rule_dirs)}
    if rule_id not in rules:
        from rapidfuzz import process

        near = [m[0] for m in process.extract(rule_id, list(rules), limit=3)]
        _fail(f"no rule {rule_id!r}; did you mean: {', '.join(near)}?")
    rule = rules[rule_id]
    click.echo(f"# {rule.path}")
    click.echo(rule.path.read_text(encoding="utf-8").rstrip())
    roots = _fixture_roots(fixture_dirs)
    if roots:
        mine = []
        for exp, log in (f for root in roots for f in find_fixtures(root)):
            try:
                if rule_id in load_expect(exp):
                    mine.append(log or exp)
            except ValueError:
                continue
        click.echo(f"\n# fixtures ({len(mine)})")
        for p in mine:
            click.echo(f"  {p}")


@rules_group.command("validate")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--fixtures", "fixture_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Also warn about conditions that no positive fixture in these folders exercises (repeatable).")
def rules_validate(dirs: tuple[str, ...], fixture_dirs: tuple[str, ...]) -> None:
    """Check rule folders as they load beside the built-in rules: YAML, fields, regexes, duplicate ids, unknown
    facts, phases and probes, `confirm` equal to `match`, regexes anchored on a stripped prefix, copies of another
    rule. One line per finding (file:line: rule: field); exit 2 on errors, warnings do not fail."""
    from logclassify.engine.loader import parse_rule_dirs, review_rule_dirs
    from logclassify.probes.plan import PROBE_NAMES

    paths = [Path(d) for d in dirs]
    review = review_rule_dirs(paths, probes=PROBE_NAMES)
    if fixture_dirs and not review.errors:
        from logclassify.engine.fixtures import unexercised

        review.findings.extend(unexercised(parse_rule_dirs(paths)[0], [Path(f) for f in fixture_dirs]))
    for line in review.errors + review.warnings:
        click.echo(line, err=True)
    if review.errors:
        sys.exit(2)
    click.echo(f"{review.rules} rules OK" + (f" ({len(review.warnings)} warnings)" if review.warnings else ""))


@rules_group.command("schema")
def rules_schema() -> None:
    """The JSON Schema of a rule file, for editors (yaml-language-server)."""
    from logclassify.engine.schema import rule_json_schema

    click.echo(json.dumps(rule_json_schema(), indent=2))


@rules_group.command("test")
@click.argument("fixtures", nargs=-1, type=click.Path(exists=True, file_okay=False))
@_FIXTURES_OPTION
@click.option("--rules", "rule_dirs", multiple=True, type=click.Path(exists=True),
              help="Add a folder of rules; the table then shows only its rules.")
@click.option("--no-builtin", is_flag=True, help="Use only the rules given with --rules.")
@click.option("--update", is_flag=True, help="Rewrite the expect files that differ from what the rules yield now.")
@click.option("-v", "--verbose", is_flag=True, help="List every fixture, not only the failing ones.")
def rules_test(fixtures: tuple[str, ...], fixture_dirs: tuple[str, ...], rule_dirs: tuple[str, ...],
               no_builtin: bool, update: bool, verbose: bool) -> None:
    """Check that every fixture yields exactly its expected ids and evidence lines (like semgrep --test); print a
    diff for each that does not. Exit 1 on a failure (after --update: on a fixture that could not be rewritten)."""
    from logclassify.engine.classifier import Classifier, load_rules
    from logclassify.engine.fixtures import NO_FIXTURES, per_rule, run_fixtures
    from logclassify.engine.loader import RuleError

    roots = _fixture_roots([*fixtures, *fixture_dirs])
    if not roots:
        _fail(f"no fixtures to test: {NO_FIXTURES}")
    try:
        rules = load_rules(*rule_dirs, builtin=not no_builtin)
    except RuleError as exc:
        _fail("invalid rules:\n  " + "\n  ".join(exc.problems))
    results = run_fixtures(Classifier(rules), roots, update=update)
    own = {r.id for r in rules if any(r.path.resolve().is_relative_to(Path(d).resolve()) for d in rule_dirs)}
    rows = per_rule(results, sorted(own) if rule_dirs else [r.id for r in rules])
    width = max(len(r.rule) for r in rows)
    click.echo(f"{'rule':<{width}}  {'fixtures':>8}  {'pass':>4}  {'fail':>4}  confused with")
    for row in rows:
        mark = "" if row.failed == 0 and (row.positives >= 2 or row.rule.startswith("(")) else "  <--"
        conf = ", ".join(sorted(row.confused_with))
        click.echo(f"{row.rule:<{width}}  {row.positives:>8}  {row.passed:>4}  {row.failed:>4}  {conf}{mark}")
    bad = [r for r in results if not r.ok]
    for r in results if verbose else [r for r in results if not r.ok or r.updated]:
        status = "UPDATED" if r.updated else "ok  " if r.ok else "FAIL"
        click.echo(f"{status} {r.path}" + (f": {r.error}" if r.error else ""))
        for line in r.diff:
            click.echo(f"    {line}")
    few = [r.rule for r in rows if r.positives < 2 and not r.rule.startswith("(")]
    updated = f", {sum(r.updated for r in results)} expect files rewritten" if update else ""
    short = sum(not r.pinned for r in results if not r.updated)
    if short:
        updated += f"; {short} in the short form (no line pinned: run --update and review)"
    click.echo(f"\n{len(results)} fixtures, {len(results) - len(bad)} passed, {len(bad)} failed{updated}"
               + (f"; rules with fewer than 2 positive fixtures: {', '.join(few)}" if few else ""))
    sys.exit(1 if any(not r.updated for r in bad) else 0)
