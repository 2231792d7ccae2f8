#!/usr/bin/env python3
"""Score `logclassify` on a labelled set of real reports (eval/random, eval/heldout, or any folder with cases.jsonl).

Usage: python eval/score.py [SET_DIR] [--cmd 'logclassify --format json'] [--aliases FILE] [-v] [--json]

Each line of SET_DIR/cases.jsonl: {"file", "labels", "kind", "shows_failure", ...} (eval/README.md). A predicted id
matches a label when it equals the label, starts with "<label>.", or equals (or starts with "<alias>.") one of the
rule ids that SET_DIR/aliases.yaml maps the label to. The alias file exists because rule writers name their own
ids after the labels were written; it maps ids and never changes a label.

Figures (failure = kind "failure" or "client-error" with a label other than "none"; readable = shows_failure true;
known = labelled with a cause id, not only `other`):
  top1        readable known failures whose first diagnosis (the headline: first alarm, else first note) is a
              labelled cause
  anywhere    readable known failures with a labelled cause among the diagnoses
  unreadable  the same two figures for known failures whose pasted log stops before the error (shows_failure false)
  other-unrecognised  failures labelled only `other` (cause unknown) answered "unrecognised", their right answer
  false-cause cases (any kind) with an alarm (a diagnosis above info) that matches no label; a case labelled
              `other` (cause unknown) counts an alarm as false, since its right answer is "unrecognised"
  healthy-alarm  healthy cases with any alarm
  unrecognised   failures answered only "unrecognised" (no alarm, at least one unrecognized entry)
  green-on-failure  readable failures answered with nothing at all: no alarm and no unrecognized entry, i.e. the
              text output's "no known failure" check
  suggestions  over the failures answered only "unrecognised": how often a "related" cause is shown; of those with a
              known label, how often one suggestion matches it (right) or none does (noise); on cases labelled only
              `other` (cause unknown) a suggestion cannot be checked and is counted apart
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import pathlib
import shlex
import subprocess
import sys
from dataclasses import dataclass, field

import yaml

HERE = pathlib.Path(__file__).resolve().parent


@dataclass
class Answer:
    """What the tool said about one case."""

    ids: list[str] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)
    unrecognized: int = 0
    related: list[str] = field(default_factory=list)  # the "related" suggestions of the unrecognised failures
    error: str = ""

    @property
    def headline(self) -> str | None:
        return self.alarms[0] if self.alarms else (self.ids[0] if self.ids else None)


def load_aliases(path: pathlib.Path) -> dict[str, list[str]]:
    """label -> rule ids; a missing file is an empty map, a malformed one is an error naming the file."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: expected a mapping label -> [rule ids], got {type(data).__name__}")
    out: dict[str, list[str]] = {}
    for label, ids in data.items():
        ids = [ids] if isinstance(ids, str) else ids
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise SystemExit(f"{path}: label {label!r}: expected a rule id or a list of them")
        out[str(label)] = ids
    return out


def matches(pred: str, labels: list[str], aliases: dict[str, list[str]]) -> bool:
    names = [n for lab in labels for n in [lab, *aliases.get(lab, [])]]
    return any(pred == n or pred.startswith(n + ".") for n in names)


def run(cmd: list[str], path: pathlib.Path) -> Answer:
    try:
        p = subprocess.run([*cmd, str(path)], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return Answer(error="timeout")
    try:
        out = json.loads(p.stdout)
    except json.JSONDecodeError:
        return Answer(error=f"no JSON (exit {p.returncode}): {(p.stderr or p.stdout).strip()[-200:]}")
    if isinstance(out, list):
        out = out[0] if out else {}
    diags = out.get("diagnoses", [])
    ids = [str(d.get("id") or d.get("rule_id") or "?") for d in diags]
    alarms = [i for i, d in zip(ids, diags, strict=True) if str(d.get("severity", "")).lower() != "info"]
    unrec = out.get("unrecognized") or []
    related = [str(s.get("id")) for u in unrec for s in (u.get("related") or [])]
    return Answer(ids=ids, alarms=alarms, unrecognized=len(unrec), related=related, error=str(out.get("error") or ""))


def load_cases(root: pathlib.Path) -> list[dict[str, object]]:
    cases = []
    for n, line in enumerate((root / "cases.jsonl").read_text().splitlines(), 1):
        if not line.strip():
            continue
        case = json.loads(line)
        for key in ("file", "labels"):
            if key not in case:
                raise SystemExit(f"{root / 'cases.jsonl'}:{n}: field {key!r} missing")
        if case.get("moved_to_rule_side"):  # its thread was used to write rules: no longer held out (eval/README.md)
            continue
        cases.append(case)
    return cases


def pct(n: int, d: int) -> str:
    return f"{100 * n / d:.0f}% ({n}/{d})" if d else "n/a"


def score(root: pathlib.Path, cmd: list[str], aliases: dict[str, list[str]], verbose: bool) -> dict[str, object]:
    cases = load_cases(root)
    with cf.ThreadPoolExecutor(2) as ex:
        answers = list(ex.map(lambda c: run(cmd, root / str(c["file"])), cases))
    c = {k: 0 for k in ("readable", "top1", "anywhere", "unreadable", "u_top1", "u_anywhere", "false", "healthy",
                        "healthy_alarm", "failures", "unrecognised", "green", "errors", "other", "other_unrec",
                        "readable_all", "sugg", "sugg_known", "sugg_right", "sugg_other")}
    for case, ans in zip(cases, answers, strict=True):
        labels = [str(x) for x in case["labels"] if x not in ("none", "other")]  # type: ignore[union-attr]
        known = [str(x) for x in case["labels"] if x != "none"]  # type: ignore[union-attr]
        healthy = case.get("kind") == "healthy" or not known
        readable = bool(case.get("shows_failure", True))
        false = [a for a in ans.alarms if not matches(a, labels, aliases)]
        c["errors"] += bool(ans.error)
        c["false"] += bool(false)
        mark = "ok"
        if healthy:
            c["healthy"] += 1
            c["healthy_alarm"] += bool(ans.alarms)
            mark = "ALARM" if ans.alarms else "ok"
        else:
            c["failures"] += 1
            head = ans.headline
            t1 = head is not None and matches(head, labels, aliases)
            anywhere = any(matches(i, labels, aliases) for i in ans.ids)
            only_unrec = not ans.alarms and ans.unrecognized > 0
            c["unrecognised"] += only_unrec
            if only_unrec and ans.related:
                c["sugg"] += 1
                if labels:
                    c["sugg_known"] += 1
                    c["sugg_right"] += any(matches(r, labels, aliases) for r in ans.related)
                else:
                    c["sugg_other"] += 1
            green = not ans.alarms and not ans.unrecognized
            c["readable_all"] += readable
            c["green"] += readable and green
            if labels:
                prefix = "" if readable else "u_"
                c["readable" if readable else "unreadable"] += 1
                c[prefix + "top1"] += t1
                c[prefix + "anywhere"] += anywhere
                mark = "ok" if t1 else ("any" if anywhere else ("GREEN" if readable and green else "miss"))
            else:
                c["other"] += 1
                c["other_unrec"] += only_unrec
                mark = "ok" if only_unrec else ("GREEN" if readable and green else "miss")
        if verbose or mark not in ("ok",) or false:
            extra = f"  false={false}" if false else ""
            extra += f"  related={ans.related}" if ans.related else ""
            err = f"  ERROR {ans.error}" if ans.error else ""
            print(f"{mark:5} {case['file']}: labels={case['labels']} got={ans.ids} unrec={ans.unrecognized}{extra}{err}")
    summary = {
        "cases": len(cases),
        "failures": c["failures"],
        "readable_known_failures": c["readable"],
        "top1": pct(c["top1"], c["readable"]),
        "anywhere": pct(c["anywhere"], c["readable"]),
        "unreadable_known_failures": c["unreadable"],
        "unreadable_top1": pct(c["u_top1"], c["unreadable"]),
        "unreadable_anywhere": pct(c["u_anywhere"], c["unreadable"]),
        "other_answered_unrecognised": pct(c["other_unrec"], c["other"]),
        "false_cause_cases": c["false"],
        "healthy": c["healthy"],
        "healthy_with_alarm": c["healthy_alarm"],
        "answered_unrecognised": pct(c["unrecognised"], c["failures"]),
        "green_on_readable_failure": pct(c["green"], c["readable_all"]),
        "suggestion_shown_when_unrecognised": pct(c["sugg"], c["unrecognised"]),
        "suggestion_right": pct(c["sugg_right"], c["sugg_known"]),
        "suggestion_noise": pct(c["sugg_known"] - c["sugg_right"], c["sugg_known"]),
        "suggestion_on_cause_unknown": c["sugg_other"],
        "errors": c["errors"],
    }
    return summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("set_dir", nargs="?", default=str(HERE / "random"))
    ap.add_argument("--cmd", default="logclassify --format json")
    ap.add_argument("--aliases", help="label -> rule ids (default: SET_DIR/aliases.yaml)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case, not only the misses")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    a = ap.parse_args()
    root = pathlib.Path(a.set_dir)
    aliases = load_aliases(pathlib.Path(a.aliases) if a.aliases else root / "aliases.yaml")
    summary = score(root, shlex.split(a.cmd), aliases, a.verbose)
    if a.json:
        print(json.dumps(summary, indent=2))
    else:
        print("  ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
