"""What every client command shares: the client, the output streams, option parsing."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from tickwork.client import Client, format_instant, load_credentials
from tickwork.domain.errors import InvalidParameter

JsonOption = Annotated[bool, typer.Option("--json", help="Print plain JSON (for scripts).")]


def open_client() -> Client:
    """A client for the server named by TICKWORK_URL and the credentials of the environment."""
    url, key_id, secret = load_credentials()
    return Client(url, key_id, secret)


PIPE_WIDTH = 200  # tables written to a pipe or file are not folded to 80 columns


def out() -> Console:
    """Console for results (stdout). Built per call so redirected streams are honoured."""
    wide = not sys.stdout.isatty() and not os.environ.get("COLUMNS")
    return Console(file=sys.stdout, highlight=False, width=PIPE_WIDTH if wide else None)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))


def instant_option(value: str | None, option: str) -> str | None:
    """An ISO-8601 option with a time zone, normalised to UTC; a usage error otherwise."""
    if value is None:
        return None
    try:
        return format_instant(value, option)
    except InvalidParameter as exc:
        raise typer.BadParameter(
            exc.message.removeprefix(f"{option}: "), param_hint=option
        ) from None
