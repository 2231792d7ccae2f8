#!/usr/bin/env python3
"""Leave-one-out measure of the "related" suggestions (issue 15 §2), on the rule side only.

For every positive fixture of the pack, classify its log with its cause's family removed (the rule and its
variants), as if that cause had no rule yet; the failure then reads as unrecognised, and the suggestions for it
are right when they name the removed family, noise when they name only others. Tune suggestion settings here,
never on the held-out sets; measure those once with eval/score.py's suggestion_* fields.

Usage: python eval/suggest_loo.py [--min-score X]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from logclassify import Classifier, default_classifier
from logclassify.engine import unknown
from logclassify.engine.fixtures import find_fixtures, load_expect

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-score", type=float, default=None, help="override unknown.MIN_SCORE for this run")
    args = ap.parse_args()
    if args.min_score is not None:
        unknown.MIN_SCORE = args.min_score
    rules = default_classifier().rules
    families = sorted({r.id.split(".", 1)[0] for r in rules})
    without = {f: Classifier([r for r in rules if r.id.split(".", 1)[0] != f]) for f in families}
    count: Counter[str] = Counter()
    for expect, log in find_fixtures(ROOT / "fixtures"):
        ids = load_expect(expect)
        if log is None or not ids:
            continue
        family = ids[0].split(".", 1)[0]
        if family not in without:
            continue
        report = without[family].classify(log.read_text(errors="replace"))
        if not report.unrecognized:
            count["no unrecognised failure"] += 1
            continue
        related = unknown.nearest_causes(report.unrecognized[0].error, rules)
        names = [s.id.split(".", 1)[0] for s in related]
        count["unrecognised"] += 1
        count["right" if family in names else ("noise" if names else "none shown")] += 1
    shown = count["right"] + count["noise"]
    print(f"min_score={unknown.MIN_SCORE} fixtures_unrecognised={count['unrecognised']} shown={shown} "
          f"right={count['right']} noise={count['noise']} none_shown={count['none shown']} "
          f"precision={count['right'] / shown:.0%}" if shown else "nothing shown")


if __name__ == "__main__":
    main()
