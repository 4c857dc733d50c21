"""load_credentials and the instant format of the client."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tickwork.client import DEFAULT_URL, format_instant, load_credentials
from tickwork.domain.errors import InvalidParameter, Unauthenticated


def write_credentials(home: Path, **values: object) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "credentials.json").write_text(json.dumps(values))


def test_environment_keys_win_over_the_file(tmp_path: Path) -> None:
    write_credentials(tmp_path, url="http://file:1", access_key_id="f", access_key_secret="fs")
    env = {"TICKWORK_ACCESS_KEY_ID": "e", "TICKWORK_ACCESS_KEY_SECRET": "es"}
    assert load_credentials(tmp_path, env) == (DEFAULT_URL, "e", "es")
    env["TICKWORK_URL"] = "http://env:2"
    assert load_credentials(tmp_path, env) == ("http://env:2", "e", "es")


def test_file_gives_url_and_keys(tmp_path: Path) -> None:
    write_credentials(tmp_path, url="http://file:1", access_key_id="f", access_key_secret="fs")
    assert load_credentials(tmp_path, {}) == ("http://file:1", "f", "fs")
    assert load_credentials(tmp_path, {"TICKWORK_URL": "http://env:2"}) == (
        "http://env:2",
        "f",
        "fs",
    )


def test_file_without_url_uses_the_default(tmp_path: Path) -> None:
    write_credentials(tmp_path, access_key_id="f", access_key_secret="fs")
    assert load_credentials(tmp_path, {}) == (DEFAULT_URL, "f", "fs")


def test_home_comes_from_tickwork_home_when_not_given(tmp_path: Path) -> None:
    write_credentials(tmp_path / "h", access_key_id="f", access_key_secret="fs")
    assert load_credentials(None, {"TICKWORK_HOME": str(tmp_path / "h")})[1:] == ("f", "fs")


def test_no_credentials_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Unauthenticated) as caught:
        load_credentials(tmp_path, {})
    assert "TICKWORK_ACCESS_KEY_ID" in caught.value.message
    assert str(tmp_path / "credentials.json") in caught.value.message


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"TICKWORK_ACCESS_KEY_ID": "e"}, "TICKWORK_ACCESS_KEY_SECRET is not"),
        ({"TICKWORK_ACCESS_KEY_SECRET": "s"}, "TICKWORK_ACCESS_KEY_ID is not"),
    ],
)
def test_half_a_key_in_the_environment_is_refused(
    tmp_path: Path, env: dict[str, str], missing: str
) -> None:
    write_credentials(tmp_path, access_key_id="f", access_key_secret="fs")
    with pytest.raises(Unauthenticated, match=missing):
        load_credentials(tmp_path, env)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "cannot read credentials"),
        ("[1, 2]", "must be a JSON object"),
        ('{"access_key_id": "f"}', "access_key_secret is missing"),
        ('{"access_key_id": "", "access_key_secret": "s"}', "access_key_id is missing"),
    ],
)
def test_bad_credentials_file_names_the_problem(tmp_path: Path, content: str, problem: str) -> None:
    (tmp_path / "credentials.json").write_text(content)
    with pytest.raises(InvalidParameter, match=problem):
        load_credentials(tmp_path, {})


def test_format_instant_accepts_offsets_and_epoch_ms() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert format_instant("2026-11-21T12:30:00+08:00", "from") == "2026-11-21T04:30:00.000Z"
    assert format_instant("2026-11-21T04:30:00.25Z", "from") == "2026-11-21T04:30:00.250Z"
    assert format_instant(datetime(2026, 11, 21, 12, 30, tzinfo=shanghai), "x") == (
        "2026-11-21T04:30:00.000Z"
    )
    assert format_instant(1_795_235_400_123, "x") == "2026-11-21T04:30:00.123Z"
    moment = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    assert format_instant(moment, "x") == "2026-01-02T03:04:05.006Z"


@pytest.mark.parametrize("value", ["2026-11-21T04:30:00", datetime(2026, 11, 21, 4, 30)])
def test_format_instant_refuses_naive_datetimes(value: str | datetime) -> None:
    with pytest.raises(InvalidParameter, match="from: .*has no time zone") as caught:
        format_instant(value, "from")
    assert caught.value.field == "from"


def test_format_instant_refuses_garbage() -> None:
    with pytest.raises(InvalidParameter, match="to: 'yesterday' is not an ISO-8601"):
        format_instant("yesterday", "to")


def test_default_home_is_dot_tickwork(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write_credentials(tmp_path / ".tickwork", access_key_id="f", access_key_secret="fs")
    assert load_credentials(None, {}) == (DEFAULT_URL, "f", "fs")
