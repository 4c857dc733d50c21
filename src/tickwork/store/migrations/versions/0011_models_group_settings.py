"""SchedulerX settings of an app group, kept to be read back (issue 14, item 4): AppVersion,
MaxJobs, EnableLog, MonitorConfigJson, MonitorContactsJson, NotificationPolicyName.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("app_version", sa.Integer),
    ("max_jobs", sa.Integer),
    ("enable_log", sa.Boolean),
    ("monitor_config", sa.Text),
    ("monitor_contacts", sa.Text),
    ("notification_policy", sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table("app_groups") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_groups") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
