"""Print a digest of what the scan keeps of each log, for several ways of cutting it into chunks, to compare two
versions of `logclassify.select` (a change that must not change what is kept):

    PYTHONPATH=/path/to/old python bench/same_selection.py LOG ... > /tmp/old.txt
    python bench/same_selection.py LOG ... > /tmp/new.txt
    diff /tmp/old.txt /tmp/new.txt && echo identical

Per log and cutting (the reader's default 4 MiB chunks, 64 KiB ones, 1 MiB ones, and the forked byte-range scan
of `select_file` where it applies) one line: the kept lines (number and text) as a SHA-256, their count, the line
count, the counts of what was not examined, and every failure signature with its first line and repeat count (as
a SHA-256, and the largest three in full). The digest is what the report is made from, so equal digests mean equal
reports; it is more sensitive than comparing reports, which show only part of it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys

from logclassify.engine.classifier import Classifier
from logclassify.read.sources import iter_chunks
from logclassify.select.state import Selection


def digest(sel: Selection) -> str:
    kept = hashlib.sha256()
    n = 0
    for seg in sel.segments:
        for ln in seg:
            kept.update(f"{ln.number}\t{ln.text}\n".encode("utf-8", "surrogatepass"))
            n += 1
    d = sel.dropped
    sigs = sorted((s.line, s.repeats, sig) for sig, s in d.signatures.items())
    top = sorted(sigs, key=lambda t: -t[1])[:3]
    return (f"kept {n} {kept.hexdigest()[:16]} lines {sel.total_lines} bytes {sel.bytes_read} dropped {d.lines} "
            f"{d.first}-{d.last} markers {d.markers} sigs {len(sigs)} "
            f"{hashlib.sha256(repr(sigs).encode()).hexdigest()[:16]} top {[(t[0], t[1]) for t in top]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--sizes", default="4194304,65536,1048576", help="chunk sizes (bytes), comma-separated")
    args = ap.parse_args()
    clf = Classifier()
    for path in args.logs:
        with open(path, "rb") as f:
            data = f.read()
        for size in (int(s) for s in args.sizes.split(",")):
            sel = clf.scanner.select(iter_chunks(io.BytesIO(data), chunk_size=size))
            print(f"{path} chunks {size}: {digest(sel)}", flush=True)
        par = clf.scanner.select_file(path, workers=2)
        if par is not None:
            print(f"{path} select_file: {digest(par)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
