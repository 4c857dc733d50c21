"""Bounded JSON: documents nested past the limit are refused naming the field, never a
RecursionError."""

from __future__ import annotations

import json

import pytest

from tickwork.domain.bounded_json import check_depth, loads, too_deep
from tickwork.domain.errors import InvalidParameter


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["[[[[", "]]", {"k": "{{{{\\"[["}]', 2),  # brackets inside strings, escaped quotes
        ("[[], [[]], []]", 3),
    ],
)
def test_depth_counts_arrays_and_objects_only(text: str, depth: int) -> None:
    assert not too_deep(text, depth)
    if depth:
        assert too_deep(text, depth - 1)


def test_bytes_are_measured_like_text() -> None:
    text = '{"é": ["[[[["], "x": [[["ü"]]]}'
    assert too_deep(text.encode(), 3) and not too_deep(text.encode(), 4)


def test_deep_documents_are_refused_naming_the_field() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(RecursionError):
        json.loads(deep)  # what every caller's document went through before
    with pytest.raises(InvalidParameter) as caught:
        loads(deep, field="ContactInfo")
    assert caught.value.field == "ContactInfo"
    assert "deeper than 64 levels" in caught.value.message
    with pytest.raises(InvalidParameter):
        check_depth('{"a":' * 65 + "0" + "}" * 65, field="body")


def test_shallow_documents_parse_and_malformed_ones_say_so() -> None:
    assert loads('{"a": [1, 2]}', field="x") == {"a": [1, 2]}
    with pytest.raises(json.JSONDecodeError):
        loads("{oops", field="x")


def test_a_number_too_long_to_read_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError):
        json.loads("[" + "9" * 5000 + "]")  # not a JSONDecodeError: callers missed it (500)
    with pytest.raises(InvalidParameter) as caught:
        loads("[" + "9" * 5000 + "]", field="JobIdList")
    assert caught.value.field == "JobIdList"
