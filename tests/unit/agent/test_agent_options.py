"""The agent's options: server URLs, labels, the connect URL, and the CLI's env twins."""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from tickwork import __version__
from tickwork.agent.agent import Agent, AgentRefused
from tickwork.agent.options import AgentOptions, connect_url, parse_labels, parse_servers
from tickwork.cli.main import app
from tickwork.domain.errors import InvalidParameter
from tickwork.worker.protocol import CONNECT_PATH

runner = CliRunner()


def test_servers_are_parsed_in_order_without_duplicates() -> None:
    assert parse_servers("http://a:9700, https://b/base/ ,c:1,http://a:9700") == (
        "http://a:9700",
        "https://b/base",
        "http://c:1",
    )


@pytest.mark.parametrize("text", ["", " , ", "ftp://a", "http://", "http://a:x", "http://a?q=1"])
def test_bad_servers_are_refused(text: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_servers(text)


def test_labels_split_on_commas() -> None:
    assert parse_labels(["gpu, big", "gpu", " ", "eu"]) == ("gpu", "big", "eu")


def test_connect_url_maps_the_scheme_and_names_the_agent() -> None:
    options = AgentOptions(
        servers=("http://h:1",),
        app_key="k",
        namespace="ns",
        group="g",
        labels=("a", "b"),
        concurrency=8,
        address="me:1",
    )
    url = connect_url("http://h:1", options)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("ws", "h:1", CONNECT_PATH)
    assert parse_qs(parts.query) == {
        "namespace": ["ns"],
        "group": ["g"],
        "worker_id": [options.worker_id],
        "address": ["me:1"],
        "labels": ["a,b"],
        "version": [__version__],
        "concurrency": ["8"],
        "job_types": ["command,http,processor,python,shell"],
    }
    secure = urlsplit(connect_url("https://h/base", options))
    assert (secure.scheme, secure.path) == ("wss", "/base" + CONNECT_PATH)


def test_defaults() -> None:
    options = AgentOptions(servers=("http://127.0.0.1:9700",), app_key="k")
    assert (options.namespace, options.group, options.concurrency) == ("default", "default", 64)
    assert options.address == f"{socket.gethostname()}:{os.getpid()}"
    assert len(options.worker_id) == 32
    assert options.worker_id != AgentOptions(servers=("http://x",), app_key="k").worker_id


@pytest.mark.parametrize(
    "changes",
    [{"concurrency": 0}, {"app_key": ""}, {"labels": ("a,b",)}, {"drain_timeout": -1.0}],
)
def test_bad_options_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameter):
        AgentOptions(**{"servers": ("http://x",), "app_key": "k", **changes})


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[AgentOptions]:
    """Run ``tickwork worker`` without connecting: record the options it would use."""
    seen: list[AgentOptions] = []

    async def fake_run(self: Agent, *, handle_signals: bool = True) -> None:
        seen.append(self.options)

    monkeypatch.setattr(Agent, "run", fake_run)
    for name in list(os.environ):
        if name.startswith("TICKWORK_"):
            monkeypatch.delenv(name)
    return seen


def test_cli_flags(captured: list[AgentOptions]) -> None:
    result = runner.invoke(
        app,
        [
            "worker",
            "--server",
            "http://a:1,http://b:2",
            "--namespace",
            "ns",
            "--group",
            "g",
            "--app-key",
            "secret",
            "--label",
            "x",
            "--label",
            "y,z",
            "--concurrency",
            "3",
            "--address",
            "here:9",
            "--drain-timeout",
            "1.5",
        ],
    )
    assert result.exit_code == 0, result.output
    (options,) = captured
    assert options.servers == ("http://a:1", "http://b:2")
    assert (options.namespace, options.group, options.app_key) == ("ns", "g", "secret")
    assert options.labels == ("x", "y", "z")
    assert (options.concurrency, options.address, options.drain_timeout) == (3, "here:9", 1.5)


def test_cli_environment_twins(captured: list[AgentOptions]) -> None:
    env = {
        "TICKWORK_SERVER": "https://s:443",
        "TICKWORK_NAMESPACE": "ns2",
        "TICKWORK_GROUP": "g2",
        "TICKWORK_APP_KEY": "k2",
        "TICKWORK_LABELS": "l1,l2",
        "TICKWORK_CONCURRENCY": "5",
        "TICKWORK_WORKER_ADDRESS": "box:1",
    }
    result = runner.invoke(app, ["worker"], env=env)
    assert result.exit_code == 0, result.output
    (options,) = captured
    assert options.servers == ("https://s:443",)
    assert (options.namespace, options.group, options.app_key) == ("ns2", "g2", "k2")
    assert (options.labels, options.concurrency, options.address) == (("l1", "l2"), 5, "box:1")


def test_cli_defaults(captured: list[AgentOptions]) -> None:
    result = runner.invoke(app, ["worker", "--app-key", "k"])
    assert result.exit_code == 0, result.output
    (options,) = captured
    assert options.servers == ("http://127.0.0.1:9700",)
    assert (options.namespace, options.group, options.concurrency) == ("default", "default", 64)
    assert options.labels == ()
    assert options.drain_timeout == 30.0


def test_cli_needs_an_app_key(captured: list[AgentOptions]) -> None:
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "--app-key" in result.output
    assert captured == []


def test_cli_bad_server_is_an_error(captured: list[AgentOptions]) -> None:
    result = runner.invoke(app, ["worker", "--app-key", "k", "--server", "ftp://x"])
    assert result.exit_code == 1
    assert "error:" in result.output
    assert captured == []


def test_cli_refusal_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refused(self: Agent, *, handle_signals: bool = True) -> None:
        raise AgentRefused("wrong AppKey for default/default")

    monkeypatch.setattr(Agent, "run", refused)
    result = runner.invoke(app, ["worker", "--app-key", "k"])
    assert result.exit_code == 1
    assert "error: wrong AppKey for default/default" in result.output
