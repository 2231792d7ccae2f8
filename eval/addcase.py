#!/usr/bin/env python3
"""Add one labelled case to a set: anonymise the pasted text, write it, append its cases.jsonl line.

Usage: addcase.py SETDIR < case.json   where case.json holds "slug", "ext" (log|md), "text" and the
cases.jsonl fields ("labels", "source", "vllm_version", "note", "shows_failure", "kind").
The file is numbered after the highest NNN already in SETDIR, so cases keep the order they were drawn in.
"""
import json
import pathlib
import re
import sys

# (pattern, replacement): secrets, addresses and personal names that a pasted log can carry.
SCRUB = [
    (re.compile(r"hf_[A-Za-z0-9]{20,}"), "hf_<TOKEN>"),
    (re.compile(r"sk-[A-Za-z0-9_-]{16,}"), "sk-<TOKEN>"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._-]{16,}"), r"\1<TOKEN>"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "user@example.com"),
    (re.compile(r"\b(?!127\.0\.0\.1\b)(?!0\.0\.0\.0\b)(\d{1,3}\.){3}\d{1,3}\b"), "10.0.0.1"),
    (re.compile(r"(/home/|/Users/|/data/home/|C:\\Users\\)[^/\\\s]+"), r"\1user"),
    (re.compile(r"(@|\bip-|\bhost=)[a-z0-9-]*[0-9][a-z0-9-]*(?=[:\s\]])", re.I), r"\1host"),
]


def scrub(text: str) -> str:
    for pat, rep in SCRUB:
        text = pat.sub(rep, text)
    return text


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    case = json.load(sys.stdin)
    nums = [int(p.name[:3]) for p in root.glob("[0-9][0-9][0-9]-*")]
    name = f"{max(nums, default=0) + 1:03d}-{case.pop('slug')}.{case.pop('ext', 'log')}"
    (root / name).write_text(scrub(case.pop("text")).rstrip("\n") + "\n")
    line = {"file": name, **case}
    for key in ("labels", "source", "vllm_version", "note", "shows_failure", "kind"):
        if key not in line:
            raise SystemExit(f"{name}: field {key!r} missing")
    with (root / "cases.jsonl").open("a") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
