"""Mining unknown failures: read many logs, group what no rule explains, draft a rule for a group.

The facade a maintainer (or the `logclassify mine` command) uses: `mine()` gives the groups by size,
`draft_rule()` writes a rule skeleton and its fixtures for one group. This layer sits on top of the classifier
and never runs during a scan.
"""

from logclassify.mine.draft import DraftError, draft_rule
from logclassify.mine.groups import Group, Occurrence, mine, occurrences
from logclassify.mine.inputs import InputText, iter_inputs
from logclassify.mine.templates import TemplateMiner, similarity, tokens

__all__ = [
    "DraftError",
    "Group",
    "InputText",
    "Occurrence",
    "TemplateMiner",
    "draft_rule",
    "iter_inputs",
    "mine",
    "occurrences",
    "similarity",
    "tokens",
]
