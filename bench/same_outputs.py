"""Dump `logclassify --format json` for every fixture, corpus and held-out log into a folder, one file per log.

Run it before and after a change that must not change any output, then compare the two folders:

    python bench/same_outputs.py /tmp/before            # on the old code
    python bench/same_outputs.py /tmp/after             # on the new code
    diff -r /tmp/before /tmp/after && echo identical

Each group of logs is classified by one `logclassify --format json` process (run from the group's folder, so that
the `source` fields do not depend on where the checkout is); its raw output is kept as `GROUP.json` and split into
`GROUP/<path of the log>.json`, one object per log, for readable diffs. `--big LOG` adds that log alone (a file of
64 MB or more goes through the forked byte-range scan) as `big.json`. A group whose folder is missing (the shared
corpus outside a full checkout) is named on stderr and skipped; a failing command stops the script.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = (".log", ".txt", ".md", ".gz")
GROUPS = {
    "fixtures": ROOT / "fixtures",
    "corpus": ROOT / "tests" / "data" / "corpus",
    "shared-corpus": ROOT.parent / "shared" / "corpus",  # ../shared, as in the README; --shared-corpus elsewhere
    "heldout": ROOT / "eval" / "heldout",
}


def logs_in(folder: Path) -> list[str]:
    """The logs below `folder`, as sorted paths relative to it."""
    found = folder.rglob("*")
    return sorted(str(p.relative_to(folder)) for p in found if p.name.endswith(SUFFIXES) and p.name != "README.md")


def classify(cmd: list[str], folder: Path, names: list[str]) -> bytes:
    """`--format json` for `names`, run in `folder`; exit status 0 or 2 (an unreadable input) is an answer."""
    proc = subprocess.run([*cmd, "--format", "json", "--quiet", *names], cwd=folder, capture_output=True, check=False)
    if proc.returncode not in (0, 2) or not proc.stdout:
        sys.exit(f"same_outputs: {' '.join(cmd)} failed in {folder} (exit {proc.returncode}):\n"
                 f"{proc.stderr.decode(errors='replace')}")
    return proc.stdout


def dump_group(cmd: list[str], name: str, folder: Path, out: Path) -> int:
    names = logs_in(folder)
    if not names:
        print(f"same_outputs: no logs in {folder}, group {name!r} skipped", file=sys.stderr)
        return 0
    raw = classify(cmd, folder, names)
    (out / f"{name}.json").write_bytes(raw)
    reports = json.loads(raw)
    if len(names) == 1:
        reports = [reports]
    for rel, report in zip(names, reports, strict=True):
        dest = out / name / f"{rel}.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder to write (must not exist or be empty)")
    ap.add_argument("--cmd", default=f"{sys.executable} -m logclassify",
                    help="the logclassify command (default: this Python's -m logclassify)")
    ap.add_argument("--shared-corpus", type=Path, default=GROUPS["shared-corpus"], help="default: %(default)s")
    ap.add_argument("--big", type=Path, help="also a large log, alone (the forked parallel scan from 64 MB)")
    args = ap.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        sys.exit(f"same_outputs: {args.out} is not empty")
    args.out.mkdir(parents=True, exist_ok=True)
    cmd = args.cmd.split()
    total = 0
    for name, folder in {**GROUPS, "shared-corpus": args.shared_corpus}.items():
        if not folder.is_dir():
            print(f"same_outputs: {folder} not found, group {name!r} skipped", file=sys.stderr)
            continue
        total += dump_group(cmd, name, folder, args.out)
    if args.big is not None:
        big = args.big.resolve()
        (args.out / "big.json").write_bytes(classify(cmd, big.parent, [big.name]))
        total += 1
    print(f"{total} logs -> {args.out}")


if __name__ == "__main__":
    main()
