"""Instants on the native wire."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tickwork.api.timefmt import parse_iso, to_iso


@pytest.mark.parametrize(
    "ms", [0, 1, 999, 1_000, 1_733_470_190_835, -1, -1_001, 253_402_300_799_999]
)
def test_to_iso_is_utc_with_milliseconds(ms: int) -> None:
    expected = datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")
    assert to_iso(ms) == f"{expected}{ms % 1000:03d}Z"
    assert parse_iso(to_iso(ms) or "", "t") == ms


def test_instants_of_one_second_keep_their_own_milliseconds() -> None:
    # the second's text is cached; the milliseconds are not
    assert [to_iso(1_733_470_190_000 + n) for n in (5, 250, 999)] == [
        "2024-12-06T07:29:50.005Z",
        "2024-12-06T07:29:50.250Z",
        "2024-12-06T07:29:50.999Z",
    ]
    assert to_iso(None) is None
