"""``tickwork worker``: run an agent that executes the jobs of one app group for a server."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from tickwork.agent.options import (
    DEFAULT_CONCURRENCY,
    DEFAULT_DRAIN_TIMEOUT_S,
    DEFAULT_GROUP,
    DEFAULT_NAMESPACE,
    DEFAULT_SERVER,
    AgentOptions,
    default_address,
    parse_labels,
    parse_servers,
)

__all__ = ["build_options", "run"]


def build_options(
    server: str,
    namespace: str,
    group: str,
    app_key: str | None,
    labels: list[str] | None,
    concurrency: int,
    address: str | None,
    drain_timeout: float,
) -> AgentOptions:
    """The agent's options from the command line (raises ``InvalidParameter``)."""
    if not app_key:
        raise typer.BadParameter(
            "the app group's AppKey is needed (or TICKWORK_APP_KEY)", param_hint="--app-key"
        )
    servers = parse_servers(server)
    return AgentOptions(
        servers=servers,
        namespace=namespace.strip(),
        group=group.strip(),
        app_key=app_key,
        labels=parse_labels(labels or []),
        concurrency=concurrency,
        address=(address or "").strip() or default_address(servers[0]),
        drain_timeout=drain_timeout,
    )


def run(
    server: Annotated[
        str,
        typer.Option(
            "--server",
            envvar="TICKWORK_SERVER",
            metavar="URL[,URL...]",
            help="Servers to connect to, tried in turn.",
        ),
    ] = DEFAULT_SERVER,
    namespace: Annotated[
        str,
        typer.Option("--namespace", envvar="TICKWORK_NAMESPACE", help="Namespace of the group."),
    ] = DEFAULT_NAMESPACE,
    group: Annotated[
        str,
        typer.Option("--group", envvar="TICKWORK_GROUP", help="App group whose jobs to run."),
    ] = DEFAULT_GROUP,
    app_key: Annotated[
        str | None,
        typer.Option(
            "--app-key",
            envvar="TICKWORK_APP_KEY",
            show_envvar=True,
            help="The group's AppKey (required).",
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            envvar="TICKWORK_LABELS",
            help="A label of this worker; repeat, or comma-separate.",
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            envvar="TICKWORK_CONCURRENCY",
            min=1,
            help="Runs at most this many jobs at once.",
        ),
    ] = DEFAULT_CONCURRENCY,
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            envvar="TICKWORK_WORKER_ADDRESS",
            help="How instances name this worker (default <ip>:<pid>).",
        ),
    ] = None,
    drain_timeout: Annotated[
        float,
        typer.Option(
            "--drain-timeout",
            envvar="TICKWORK_DRAIN_TIMEOUT",
            min=0,
            metavar="SECONDS",
            help="On SIGTERM/SIGINT, how long running jobs may go on before they are killed.",
        ),
    ] = DEFAULT_DRAIN_TIMEOUT_S,
) -> None:
    """Run a worker agent: execute the jobs of one app group (SIGTERM or Ctrl-C drains it)."""
    from tickwork.agent.agent import Agent, AgentRefused
    from tickwork.process_secrets import withhold_secrets
    from tickwork.worker.guardian import Guardian

    options = build_options(
        server, namespace, group, app_key, label, concurrency, address, drain_timeout
    )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The options are read: no job finds the AppKey or any setting in the environment.
    withhold_secrets()
    guardian = Guardian()  # kills the runs if this agent dies
    try:
        asyncio.run(Agent(options, guardian=guardian).run())
    except AgentRefused as exc:
        typer.echo(f"error: {exc.reason}", err=True)
        raise typer.Exit(1) from None
    finally:
        guardian.close()
