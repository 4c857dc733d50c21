"""The ``tickwork`` command: the root, ``tickwork server``, and the client command groups."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from tickwork.cli.cron import cron_app
from tickwork.cli.db import db_app
from tickwork.cli.instances import instance_app
from tickwork.cli.jobs import job_app
from tickwork.cli.keys import key_app
from tickwork.cli.namespaces import group_app, namespace_app
from tickwork.cli.worker import run as worker_run
from tickwork.client import ApiError
from tickwork.domain.errors import TickworkError


class _Root(TyperGroup):
    """Turns tickwork errors into ``error: <message>`` on stderr and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TickworkError as exc:
            typer.echo(f"error: {error_message(exc)}", err=True)
            raise typer.Exit(1) from None


def error_message(exc: TickworkError) -> str:
    """The message, naming the field when the message does not, with a hint for auth."""
    message = exc.message
    if exc.field and exc.field.lower() not in message.lower():
        message = f"{exc.field}: {message}"
    if isinstance(exc, ApiError) and exc.status == 401:
        message += " (check TICKWORK_ACCESS_KEY_ID / TICKWORK_ACCESS_KEY_SECRET)"
    return message


app = typer.Typer(
    cls=_Root,
    help="tickwork: a distributed job scheduler.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(job_app, name="job")
app.add_typer(instance_app, name="instance")
app.add_typer(namespace_app, name="namespace")
app.add_typer(group_app, name="group")
app.add_typer(key_app, name="key")
app.command("worker")(worker_run)

app.add_typer(cron_app, name="cron")
app.add_typer(db_app, name="db")


@app.command("server")
def server(
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to listen on (default 127.0.0.1; env TICKWORK_HOST)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Port (default 9700; env TICKWORK_PORT)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="sqlite:///FILE or postgresql://... (default: SQLite in the home; "
            "env TICKWORK_DATABASE_URL).",
        ),
    ] = None,
    no_worker: Annotated[
        bool | None,
        typer.Option("--no-worker", help="No in-process worker (env TICKWORK_NO_WORKER)."),
    ] = None,
    home: Annotated[
        str | None,
        typer.Option(
            "--home",
            metavar="DIR",
            help="Data and credentials (default ~/.tickwork; env TICKWORK_HOME).",
        ),
    ] = None,
    run_log_max_bytes: Annotated[
        int | None,
        typer.Option(
            "--run-log-max-bytes",
            min=0,
            metavar="BYTES",
            help="Log text one attempt of a run keeps, 0 for no limit (default 10 MiB; "
            "env TICKWORK_RUN_LOG_MAX_BYTES).",
        ),
    ] = None,
    run_log_max_lines: Annotated[
        int | None,
        typer.Option(
            "--run-log-max-lines",
            min=0,
            metavar="LINES",
            help="Log lines one attempt of a run keeps, 0 for no limit (default 100,000; "
            "env TICKWORK_RUN_LOG_MAX_LINES).",
        ),
    ] = None,
    max_body_bytes: Annotated[
        int | None,
        typer.Option(
            "--max-body-bytes",
            min=1,
            metavar="BYTES",
            help="Refuse request bodies larger than this (413; default 1 MiB; "
            "env TICKWORK_MAX_BODY_BYTES).",
        ),
    ] = None,
    schedulerx_timezone: Annotated[
        str | None,
        typer.Option(
            "--schedulerx-timezone",
            metavar="ZONE",
            help="Time zone of SchedulerX jobs created without a Timezone, e.g. Asia/Shanghai "
            "or GMT+8 (default: the zone of the call's RegionId; "
            "env TICKWORK_SCHEDULERX_TIMEZONE).",
        ),
    ] = None,
) -> None:
    """Run a tickwork server (Ctrl-C stops it)."""
    # Imported here so that the client commands do not load the server's dependencies.
    from tickwork.server import serve
    from tickwork.settings import Settings

    settings = Settings.from_env(
        host=host,
        port=port,
        database_url=db,
        no_worker=no_worker,
        home=home,
        run_log_max_bytes=run_log_max_bytes,
        run_log_max_lines=run_log_max_lines,
        max_body_bytes=max_body_bytes,
        schedulerx_timezone=schedulerx_timezone,
    )
    serve(settings)


def main() -> None:
    """Console script entry point."""
    app(prog_name="tickwork")
