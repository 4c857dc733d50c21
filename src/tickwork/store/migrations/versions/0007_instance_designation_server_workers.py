"""A run's own designation on its instance (so it survives hand-offs and adoption), and the
worker agents connected to each server (so any server lists every live worker).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("designation", sa.Text(), nullable=True))
    with op.batch_alter_table("servers") as batch:
        batch.add_column(sa.Column("workers", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("servers") as batch:
        batch.drop_column("workers")
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("designation")
