"""Hand-offs not yet taken up (``hand_offs``): taking one up deletes its row, so it is taken
once (issue 21).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hand_offs",
        sa.Column("instance_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("to_server", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_hand_offs")),
    )
    op.create_index(op.f("ix_hand_offs_to_server"), "hand_offs", ["to_server"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_hand_offs_to_server"), table_name="hand_offs")
    op.drop_table("hand_offs")
