"""The static shards of a sharding job."""

from __future__ import annotations

import pytest

from tickwork.domain.errors import InvalidParameter
from tickwork.domain.sharding import MAX_SHARDS, Shard, parse_shards


def test_shards_are_read_in_order_with_their_parameters() -> None:
    assert parse_shards("0=Beijing, 1=Shanghai\n7 = Wu han ,3=") == [
        Shard(0, "Beijing"),
        Shard(1, "Shanghai"),
        Shard(7, "Wu han"),
        Shard(3, ""),
    ]


def test_a_parameter_may_hold_an_equals_sign() -> None:
    assert parse_shards("0=a=b") == [Shard(0, "a=b")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "which is empty"),
        (" , \n", "which is empty"),
        ("Beijing", "'Beijing' is not 'id=parameter'"),
        ("-1=x", "'-1=x' is not 'id=parameter'"),
        ("a=x", "'a=x' is not 'id=parameter'"),
        ("0=x,0=y", "shard id 0 appears twice"),
        (",".join(f"{n}=x" for n in range(MAX_SHARDS + 1)), f"at most {MAX_SHARDS}"),
    ],
)
def test_bad_shards_are_refused_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_shards(text, field="Parameters")
    assert caught.value.field == "Parameters"
    assert message in caught.value.message
