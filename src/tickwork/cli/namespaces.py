"""``tickwork namespace ...`` and ``tickwork group ...``: where jobs live."""

from __future__ import annotations

from typing import Annotated

import typer

from tickwork.cli.common import JsonOption, open_client, out, print_json
from tickwork.cli.render import detail_table, simple_table

namespace_app = typer.Typer(help="List and create namespaces.", no_args_is_help=True)
group_app = typer.Typer(help="List, create and change app groups.", no_args_is_help=True)

NamespaceOption = Annotated[str, typer.Option("--namespace", metavar="NS", help="Namespace id.")]
Description = Annotated[str | None, typer.Option("--description")]


@namespace_app.command("list")
def list_namespaces(as_json: JsonOption = False) -> None:
    """List namespaces."""
    with open_client() as client:
        result = client.list_namespaces()
    if as_json:
        print_json(result)
        return
    rows = [[n.get("id"), n.get("name"), n.get("description")] for n in _items(result)]
    out().print(simple_table(("ID", "NAME", "DESCRIPTION"), rows))


@namespace_app.command("create")
def create_namespace(
    name: Annotated[str, typer.Argument(help="Namespace name.")],
    namespace_id: Annotated[
        str | None, typer.Option("--id", help="Namespace id (default: a new UUID).")
    ] = None,
    description: Description = None,
    as_json: JsonOption = False,
) -> None:
    """Create a namespace; print its id."""
    with open_client() as client:
        namespace = client.create_namespace(name, id=namespace_id, description=description)
    if as_json:
        print_json(namespace)
    else:
        typer.echo(namespace.get("id"))


@group_app.command("list")
def list_groups(namespace: NamespaceOption = "default", as_json: JsonOption = False) -> None:
    """List the app groups of a namespace."""
    with open_client() as client:
        result = client.list_groups(namespace)
    if as_json:
        print_json(result)
        return
    rows = [
        [
            g.get("group_id"),
            g.get("app_name"),
            "yes" if g.get("run_on_server") else "no",
            g.get("description"),
        ]
        for g in _items(result)
    ]
    out().print(simple_table(("GROUP", "APP NAME", "RUNS ON SERVER", "DESCRIPTION"), rows))


GroupArgument = Annotated[str, typer.Argument(help="Group id.")]
RunOnServer = Annotated[
    bool | None,
    typer.Option(
        "--run-on-server/--no-run-on-server",
        help="Whether the server's own worker may run the group's jobs: code on the server's "
        "host, so admin keys only (otherwise the runs wait for the group's worker agents).",
        show_default=False,
    ),
]


@group_app.command("create")
def create_group(
    group_id: GroupArgument,
    namespace: NamespaceOption = "default",
    app_name: Annotated[str | None, typer.Option("--app-name")] = None,
    description: Description = None,
    run_on_server: RunOnServer = None,
    as_json: JsonOption = False,
) -> None:
    """Create an app group; show its app key (the workers' credential)."""
    with open_client() as client:
        group = client.create_group(
            namespace,
            group_id,
            app_name=app_name,
            description=description,
            run_on_server=run_on_server,
        )
    if as_json:
        print_json(group)
    else:
        out().print(detail_table(group))


@group_app.command("update")
def update_group(
    group_id: GroupArgument,
    namespace: NamespaceOption = "default",
    app_name: Annotated[str | None, typer.Option("--app-name")] = None,
    description: Description = None,
    run_on_server: RunOnServer = None,
    as_json: JsonOption = False,
) -> None:
    """Change an app group (its name, description, whether it runs on the server)."""
    changes = {
        name: value
        for name, value in (
            ("app_name", app_name),
            ("description", description),
            ("run_on_server", run_on_server),
        )
        if value is not None
    }
    with open_client() as client:
        group = client.update_group(namespace, group_id, changes)
    if as_json:
        print_json(group)
    else:
        out().print(detail_table(group))


def _items(page: dict[str, object]) -> list[dict[str, object]]:
    items = page.get("items")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
