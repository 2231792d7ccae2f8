"""Add a batch of cases (dicts in addcase.py's input form) to eval/random, in the order they were drawn."""
import json
import subprocess
import sys


def add(cases: list[dict[str, object]]) -> None:
    for c in cases:
        c.setdefault("kind", "failure")
        c.setdefault("ext", "log")
        p = subprocess.run([sys.executable, "addcase.py", "random"], input=json.dumps(c), text=True,
                           capture_output=True, check=False)
        print(p.stdout.strip() or p.stderr)
