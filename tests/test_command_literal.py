"""`parse.command.literal` reads the common shapes of a logged value without `ast`: to the very value (and type)
`ast.literal_eval` gives, or the text where that fails."""

from __future__ import annotations

import ast
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logclassify.parse.command import literal

# `ast` warns about a backslash escape it does not know ('\9'); both readers meet the same texts
pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")


def _by_ast(text: str) -> Any:
    text = text.strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return text


def _same(text: str) -> None:
    want, got = _by_ast(text), literal(text)
    assert (type(got), got) == (type(want), want), text


@pytest.mark.parametrize("text", [
    "None", "True ", " False", "0", "00", "007", "-1", "8192", "123456789012345678", "12345678901234567890", "1_000",
    "0x10", "0.9", "auto", "torch.bfloat16", "LoadFormat.AUTO", "a.1", "a.", "a..b", "if", "lambda", "class", "_",
    "__debug__", "é", "'org/model'", "''", "'a\"b'", "'a\\nb'", "'a'b'", "'a' 'b'", "'\u2028'", "'\x00'", "'é'",
    "['*']", "DecodingConfig(guided_decoding_backend='xgrammar')",
])
def test_common_shapes_read_as_ast_reads_them(text: str) -> None:
    _same(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aZ_.09'\"\\ -x\u2028\x00é"), max_size=12))
def test_any_text_reads_as_ast_reads_it(text: str) -> None:
    _same(text)
