"""Signed calls accepted (``used_nonces``): shared by every server, kept across restarts.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "used_nonces",
        sa.Column("kept_until", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=255), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("kept_until", "key_id", "nonce", name=op.f("pk_used_nonces")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("used_nonces")
