"""Rights levels on permissions, and the app groups the server's own worker may run.

A permission granted before levels existed let its key do everything on its scope: it keeps
that (``manage``). Only the ``default`` group of the ``default`` namespace, the embedded
default's own, runs on the server's in-process worker until an admin allows another
(docs/security.md).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("permissions") as batch:
        batch.add_column(sa.Column("right", sa.SmallInteger(), nullable=False, server_default="4"))
    with op.batch_alter_table("app_groups") as batch:
        batch.add_column(
            sa.Column("run_on_server", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE app_groups SET run_on_server = TRUE "
        "WHERE namespace = 'default' AND group_id = 'default'"
    )


def downgrade() -> None:
    with op.batch_alter_table("app_groups") as batch:
        batch.drop_column("run_on_server")
    with op.batch_alter_table("permissions") as batch:
        batch.drop_column("right")
