"""``tickwork key ...``: access keys (admin keys only) and their rights on namespaces and app
groups."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from tickwork.cli.common import JsonOption, open_client, out, print_json
from tickwork.cli.render import simple_table

key_app = typer.Typer(
    help="Create access keys and give them rights on namespaces and app groups.",
    no_args_is_help=True,
)

KeyId = Annotated[str, typer.Argument(help="Access key id.")]
Namespace = Annotated[str, typer.Option("--namespace", metavar="NS", help="Namespace id.")]
Group = Annotated[
    str, typer.Option("--group", metavar="G", help="App group (default: the whole namespace).")
]


class RightName(StrEnum):
    READ = "read"
    RUN = "run"
    EDIT = "edit"
    MANAGE = "manage"


RightOption = Annotated[
    RightName,
    typer.Option(
        "--right",
        help="read: see jobs, instances, logs; run: also start, stop, rerun runs; edit: also "
        "create, change, delete jobs; manage: also the group itself (its AppKey; on a whole "
        "namespace, new groups).",
    ),
]


def _items(result: dict[str, Any]) -> list[dict[str, Any]]:
    items = result.get("items")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


@key_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="What the key is for.")] = "",
    admin: Annotated[bool, typer.Option("--admin", help="An admin key (all rights).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a key; print its id and secret (the secret is shown this once)."""
    with open_client() as client:
        key = client.create_access_key(name, admin)
    if as_json:
        print_json(key)
        return
    typer.echo(f"access key id:     {key.get('key_id')}")
    typer.echo(f"access key secret: {key.get('secret')}")
    typer.echo("(the secret is not shown again)", err=True)


@key_app.command("list")
def list_keys(as_json: JsonOption = False) -> None:
    """List keys (never their secrets)."""
    with open_client() as client:
        result = client.list_access_keys()
    if as_json:
        print_json(result)
        return
    rows = [
        [k.get("key_id"), k.get("name"), "yes" if k.get("is_admin") else "no", k.get("created_at")]
        for k in _items(result)
    ]
    out().print(simple_table(("KEY ID", "NAME", "ADMIN", "CREATED"), rows))


@key_app.command("delete")
def delete(key_id: KeyId) -> None:
    """Delete a key and its rights."""
    with open_client() as client:
        client.delete_access_key(key_id)
    typer.echo(f"access key {key_id} deleted")


@key_app.command("grant")
def grant(
    key_id: KeyId,
    namespace: Namespace,
    right: RightOption,
    group: Group = "",
    grant_option: Annotated[
        bool, typer.Option("--grant-option", help="The key may grant this right (or less) on.")
    ] = False,
) -> None:
    """Give a key a right on a namespace, or on one of its app groups."""
    with open_client() as client:
        client.grant(key_id, namespace, group, grant_option, right=right.value)
    where = f"app group {group} of namespace {namespace}" if group else f"namespace {namespace}"
    typer.echo(f"access key {key_id} now holds {right.value!r} on {where}")


@key_app.command("revoke")
def revoke(key_id: KeyId, namespace: Namespace, group: Group = "") -> None:
    """Take a right back."""
    with open_client() as client:
        client.revoke(key_id, namespace, group)
    typer.echo(f"right of {key_id} on {namespace}{'/' + group if group else ''} revoked")


@key_app.command("rights")
def rights(key_id: KeyId, as_json: JsonOption = False) -> None:
    """List a key's rights."""
    with open_client() as client:
        result = client.list_permissions(key_id)
    if as_json:
        print_json(result)
        return
    rows = [
        [
            p.get("namespace"),
            p.get("group_id") or "(all)",
            p.get("right"),
            "yes" if p.get("grant_option") else "no",
        ]
        for p in _items(result)
    ]
    out().print(simple_table(("NAMESPACE", "GROUP", "RIGHT", "GRANT OPTION"), rows))
