"""Which derived values and corrected commands rest on real logs: the fixtures that pin each, by source.

    python eval/value_fixtures.py            # per value name and per rule with a value step: real / synthetic fixtures
    python eval/value_fixtures.py --gaps     # only those without a fixture from a real public thread

Reads the `values:` and `commands:` pinned in fixtures/**/*.expect.yaml and their `source:`. A source is real when
it is a URL of a public thread (`https://...`); anything else ("synthetic ...", an index id) counts as synthetic.
The value names come from the rules' `{values.NAME}` placeholders, so a value no rule asks for is not listed.
It reads only fixtures/ and rules/ (never eval/random or eval/heldout).
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
VALUE = re.compile(r"values\.([a-z_]+)")
SPLIT = {"oom_phase": ("load_weights", "profile", "kv_cache", "cuda_graphs", "sampler", "serving")}  # per value too
SETS = re.compile(r"^\s*(?:set|add|remove):", re.M)


def real(source: object) -> bool:
    return isinstance(source, str) and source.startswith("https://")


def asked() -> tuple[dict[str, set[str]], set[str]]:
    """Per value name the rules that ask for it; the rules whose fix changes the user's command."""
    per_value: dict[str, set[str]] = defaultdict(set)
    changing: set[str] = set()
    for path in sorted((ROOT / "rules").rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        doc = yaml.safe_load(text)
        rules = doc if isinstance(doc, list) else [doc]
        for rule in rules:
            if not isinstance(rule, dict) or "id" not in rule:
                continue
            dumped = yaml.safe_dump(rule)
            for name in VALUE.findall(dumped):
                per_value[name].add(rule["id"])
            if SETS.search(dumped):
                changing.add(rule["id"])
    return per_value, changing


def pinned() -> tuple[dict[str, list[tuple[str, bool]]], dict[str, list[tuple[str, bool]]]]:
    """Per value name, and per rule id with a corrected command: (fixture, real source)."""
    values: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    commands: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for path in sorted((ROOT / "fixtures").rglob("*.expect.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        ok = real(doc.get("source"))
        name = str(path.relative_to(ROOT / "fixtures")).removesuffix(".expect.yaml")
        for item in doc.get("expect") or []:
            if not isinstance(item, dict):
                continue
            for v in item.get("values") or []:
                values[v["name"]].append((name, ok))
                if v["name"] in SPLIT:
                    values[f"{v['name']}={v.get('value')}"].append((name, ok))
            if item.get("commands"):
                commands[item["id"]].append((name, ok))
    return values, commands


def line(label: str, rows: list[tuple[str, bool]]) -> tuple[bool, str]:
    n_real = sum(ok for _, ok in rows)
    synthetic = [n for n, ok in rows if not ok]
    extra = f"  synthetic: {', '.join(synthetic)}" if synthetic else ""
    return n_real == 0, f"{label:<48} real {n_real:>2}  synthetic {len(synthetic):>2}{extra}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gaps", action="store_true", help="list only those without a real-log fixture")
    args = ap.parse_args(argv)
    per_value, changing = asked()
    values, commands = pinned()
    gaps = 0
    print("derived values (rules that ask for them):")
    for name in sorted(per_value):
        labels = [(name, f"  {name} ({', '.join(sorted(per_value[name]))})")]
        labels += [(f"{name}={v}", f"    {name}={v}") for v in SPLIT.get(name, ())]
        for key, label in labels:
            gap, text = line(label, values.get(key, []))
            gaps += gap
            if gap or not args.gaps:
                print(text)
    print("corrected commands (rules whose fix sets, adds or removes an argument):")
    for rid in sorted(changing):
        gap, text = line(f"  {rid}", commands.get(rid, []))
        gaps += gap
        if gap or not args.gaps:
            print(text)
    print(f"{gaps} without a fixture from a real thread")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
