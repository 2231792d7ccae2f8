"""Helper: add a batch of cases (list CASES) through addcase.py's logic."""
import json, subprocess, sys
def add(cases):
    for c in cases:
        c.setdefault("kind", "failure")
        c.setdefault("ext", "log")
        p = subprocess.run([sys.executable, "addcase.py", "random"], input=json.dumps(c), text=True, capture_output=True)
        print(p.stdout.strip() or p.stderr)
