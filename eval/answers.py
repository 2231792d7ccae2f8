"""How many diagnoses answer in the user's own numbers: a value derived from the log or a corrected command.

    python eval/answers.py                         # ../shared/corpus and fixtures/: counts per folder and rule
    python eval/answers.py --show                  # also every value and command, with its input lines, to read
    python eval/answers.py --show DIR...           # other folders (a held-out sample only when its owner scores it)

Counts the diagnoses (consequences included) whose answer carries at least one derived value (`values` with a
name that is not a fact), a corrected command, or a fix step filled with the log's own numbers (a capture), out of
all diagnoses, and the logs whose command was read back, by the shape it was read from (vLLM's `non-default args`
or `Namespace`, a typed or GPUStack-logged `command line`, an offline `LLM(...)` call in the `code`, the
`engine config` line).
`--show` prints, for each such diagnosis, each value with the text of the lines it comes from, and each corrected
command with its changes: the way to check by reading that no number is wrong. It never reads eval/random.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from logclassify import Classifier  # noqa: E402
from logclassify.engine.placeholders import placeholders  # noqa: E402
from logclassify.models import Diagnosis, Report  # noqa: E402

DEFAULT = (ROOT.parent / "shared" / "corpus", ROOT / "fixtures")
SUFFIXES = (".log", ".txt", ".md", ".gz")


def logs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.name.endswith(SUFFIXES) and p.name != "README.md")


def every(diagnoses: list[Diagnosis]) -> Iterator[Diagnosis]:
    for d in diagnoses:
        yield d
        yield from every(d.consequences)


def generic_steps(clf: Classifier) -> dict[str, set[str]]:
    """Per rule, the fix steps as written without values: plain steps and the `else` of conditional ones."""
    out: dict[str, set[str]] = {}
    for r in clf.rules:
        out[r.id] = {s.text.strip() for s in r.rule.fix if not placeholders(s.text)} | {
            s.otherwise.strip() for s in r.rule.fix if s.otherwise}
    return out


def derived(d: Diagnosis, generic: dict[str, set[str]]) -> bool:
    """A value derived from the log, a corrected command, or a step whose text was filled from the log."""
    if any(not v.name.startswith("facts.") for v in d.values) or d.commands:
        return True
    plain = generic.get(d.id)
    return plain is not None and any(step not in plain for step in d.fix)


def show(path: Path, report: Report, d: Diagnosis, lines: list[str]) -> None:
    print(f"== {path.name}: {d.id}")
    for v in d.values:
        print(f"   {v.name} = {v.value}   ({v.about})")
        for n in v.lines:
            print(f"      {n:>5} | {lines[n - 1][:220] if 0 < n <= len(lines) else '?'}")
    for c in d.commands:
        print(f"   step {c.step}: {c.command}")
        print(f"      changes: {[(x.action, x.name, x.old, x.value) for x in c.changes]}")
    if report.command is not None and d.commands:
        print(f"   logged ({report.command.source}, line {report.command.line}): {report.command.text}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*", type=Path, default=list(DEFAULT))
    ap.add_argument("--show", action="store_true", help="print every value and command with its input lines")
    args = ap.parse_args(argv)
    clf = Classifier()
    generic = generic_steps(clf)
    for folder in args.folders:
        if "random" in folder.parts:
            print(f"{folder}: eval/random is never read", file=sys.stderr)
            continue
        if not folder.is_dir():
            print(f"{folder}: no such folder, skipped", file=sys.stderr)
            continue
        total = with_values = commands_read = n_logs = 0
        per_rule: Counter[str] = Counter()
        per_source: Counter[str] = Counter()
        for path in logs(folder):
            n_logs += 1
            report = clf.classify_path(path)
            commands_read += report.command is not None
            if report.command is not None:
                per_source[report.command.source] += 1
            text = path.read_bytes().decode("utf-8", "replace").splitlines() if args.show else []
            for d in every(report.diagnoses):
                total += 1
                if derived(d, generic):
                    with_values += 1
                    per_rule[d.id] += 1
                    if args.show:
                        show(path, report, d, text)
        print(f"{folder}: {n_logs} logs, {commands_read} with the user's command read back; {with_values} of "
              f"{total} diagnoses carry a value from the log or a corrected command")
        print("   commands read from: " + ", ".join(f"{src} {n}" for src, n in per_source.most_common()))
        for rid, n in per_rule.most_common():
            print(f"   {n:>3}  {rid}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
