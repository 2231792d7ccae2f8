"""One pass over the raw bytes that keeps only the lines some rule might care about, with their context.

Every rule condition that names text becomes a *trigger*; the triggers of all rules (plus the traceback header, the
failure words, fact and phase markers) are searched together in one multi-pattern pass over each chunk, so the cost
is one pass over the bytes whatever the number of rules. Two kinds of trigger:

* anchors (rule conditions, traceback header, failure words): a line that matches one is kept with CONTEXT_BEFORE
  lines before it and CONTEXT_AFTER after; a traceback header keeps lines until CONTEXT_AFTER lines past its
  exception line, at most TRACEBACK_AFTER;
* markers (fact, phase and environment literals): the line alone is kept, for the first MARKER_LINES lines holding
  that literal and the last MARKER_LAST ones. Markers such as "Avg prompt throughput" are on most lines of a serving
  log; keeping each with context would keep the whole file.

A line matches an anchor when the condition's regex (with ^ $ \\A \\Z dropped: the message starts after a prefix that
the raw line still has) is found in the raw line, or, for conditions without a usable regex, when the line contains
one of the condition's literals. Lines that the normaliser rewrites (ANSI colour codes, journald JSON, pasted escape
sequences) match on the literal alone. The last TAIL_LINES lines of the input are always kept: a log that stops in
the middle of a startup phase is evidence too. The selection depends only on the lines, never on how the input was
cut into chunks or byte ranges (tests/test_scale.py).

Backends: Hyperscan (the `hyperscan` package, where it has wheels), rule regexes compiled as prefilters; elsewhere
`bytes.find` per literal. Both give exactly the same selection: candidate lines are always verified in Python.
Large plain files are scanned in byte ranges by forked worker processes (`Scanner.select_file`). bench/README.md
has the measurements behind these choices.

The stage between `read` (bytes, lines) and `parse`: it knows nothing of rules. The engine turns its rules into
`Trigger`s and hands the scanner a frozen `ScanPlan` of them. The package, one job a module: `triggers` (what a line
is searched for, and the check of a candidate line), `plan` (the triggers of all rules as fixed search tables),
`hyperscan_db` (the Hyperscan databases and their on-disk cache), `scanner` (`Scanner`: candidates from either
backend, `select`), `window` (what is kept around a hit: context lengths, quotas, `Window`), `state` (the line
keeping of one input: windows, markers, tail, walked line by line), `repeats` (past the first lines, a crash loop's
chunks of known line shapes kept by the same rules in bulk), `parallel` (`select_file`'s forked byte-range workers
and the merge of their results), `literal_index` (which literals occur in a text, and on which lines).
"""

from __future__ import annotations

from logclassify.select.literal_index import LiteralIndex, Located, Presence
from logclassify.select.plan import ScanPlan
from logclassify.select.scanner import Scanner
from logclassify.select.state import Selection
from logclassify.select.triggers import ANCHOR, MARKER, TRACEBACK, Trigger

# The limits (CONTEXT_BEFORE, PARALLEL_MIN_BYTES, ...) are not re-exported: each is read in the module that defines
# it, so that is where to change one (a test's monkeypatch), and a patch here would fail rather than do nothing.
__all__ = [
    "ANCHOR",
    "MARKER",
    "TRACEBACK",
    "LiteralIndex",
    "Located",
    "Presence",
    "ScanPlan",
    "Scanner",
    "Selection",
    "Trigger",
]
