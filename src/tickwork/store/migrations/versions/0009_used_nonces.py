"""Signature nonces accepted, shared by every server and kept across restarts (``used_nonces``).

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "used_nonces",
        sa.Column("key_id", sa.String(length=255), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=False),
        sa.Column("kept_until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "nonce", name=op.f("pk_used_nonces")),
    )
    op.create_index(op.f("ix_used_nonces_kept_until"), "used_nonces", ["kept_until"])


def downgrade() -> None:
    op.drop_index(op.f("ix_used_nonces_kept_until"), table_name="used_nonces")
    op.drop_table("used_nonces")
