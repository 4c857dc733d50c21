"""Permissions of access keys, job script versions, notification policies.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "permissions",
        sa.Column("key_id", sa.String(length=255), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.Column("grant_option", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["access_keys.key_id"],
            name=op.f("fk_permissions_key_id_access_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["namespace"],
            ["namespaces.id"],
            name=op.f("fk_permissions_namespace_namespaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_id", "namespace", "group_id", name=op.f("pk_permissions")),
    )
    op.create_table(
        "script_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("creator", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_script_versions_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_versions")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_script_versions_job_id_id"), "script_versions", ["job_id", "id"], unique=False
    )
    op.create_table(
        "notification_policies",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("channel_time_range", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notification_policies")),
    )


def downgrade() -> None:
    op.drop_table("notification_policies")
    op.drop_index(op.f("ix_script_versions_job_id_id"), table_name="script_versions")
    op.drop_table("script_versions")
    op.drop_table("permissions")
