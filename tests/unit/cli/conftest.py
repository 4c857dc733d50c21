"""Fixtures of the client and CLI tests: a scripted HTTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_stub import KEY_ID, SECRET, StubServer, start_stub


@pytest.fixture
def stub() -> Iterator[StubServer]:
    state, stop = start_stub()
    try:
        yield state
    finally:
        stop()


@pytest.fixture
def cli_env(stub: StubServer, tmp_path: Path) -> dict[str, str]:
    """Environment that points the CLI at the stub server."""
    return {
        "TICKWORK_URL": stub.url,
        "TICKWORK_ACCESS_KEY_ID": KEY_ID,
        "TICKWORK_ACCESS_KEY_SECRET": SECRET,
        "TICKWORK_HOME": str(tmp_path / "home"),
    }
