"""Initial schema: keys, namespaces, app groups, calendars, jobs, instances, logs.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_keys",
        sa.Column("key_id", sa.String(length=255), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_access_keys")),
    )
    op.create_table(
        "namespaces",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_namespaces")),
    )
    op.create_table(
        "app_groups",
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.Column("app_key", sa.Text(), nullable=False),
        sa.Column("app_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace"],
            ["namespaces.id"],
            name=op.f("fk_app_groups_namespace_namespaces"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("namespace", "group_id", name=op.f("pk_app_groups")),
    )
    op.create_table(
        "calendars",
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("months", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace"],
            ["namespaces.id"],
            name=op.f("fk_calendars_namespace_namespaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("namespace", "name", "year", name=op.f("pk_calendars")),
    )
    op.create_table(
        "jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("job_type", sa.String(length=32), nullable=False),
        sa.Column("time_type", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("execute_mode", sa.String(length=32), nullable=False),
        sa.Column("class_name", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("max_concurrency", sa.Integer(), nullable=False),
        sa.Column("max_attempt", sa.Integer(), nullable=False),
        sa.Column("attempt_interval", sa.Integer(), nullable=False),
        sa.Column("page_size", sa.Integer(), nullable=False),
        sa.Column("consumer_size", sa.Integer(), nullable=False),
        sa.Column("queue_size", sa.Integer(), nullable=False),
        sa.Column("dispatcher_size", sa.Integer(), nullable=False),
        sa.Column("time_expression", sa.Text(), nullable=False),
        sa.Column("calendar", sa.Text(), nullable=False),
        sa.Column("data_offset", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("timeout_enable", sa.Boolean(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("timeout_kill_enable", sa.Boolean(), nullable=False),
        sa.Column("fail_enable", sa.Boolean(), nullable=False),
        sa.Column("fail_times", sa.Integer(), nullable=False),
        sa.Column("miss_worker_enable", sa.Boolean(), nullable=False),
        sa.Column("success_notice_enable", sa.Boolean(), nullable=False),
        sa.Column("send_channel", sa.Text(), nullable=False),
        sa.Column("task_max_attempt", sa.Integer(), nullable=False),
        sa.Column("task_attempt_interval", sa.Integer(), nullable=False),
        sa.Column("contact_info", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("x_attrs", sa.Text(), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("command_args", sa.Text(), nullable=False),
        sa.Column("envs", sa.Text(), nullable=False),
        sa.Column("replicas", sa.Integer(), nullable=False),
        sa.Column("misfire_policy", sa.String(length=32), nullable=False),
        sa.Column("start_time", sa.BigInteger(), nullable=True),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("history_limit", sa.Integer(), nullable=True),
        sa.Column("next_fire_time", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace", "group_id"],
            ["app_groups.namespace", "app_groups.group_id"],
            name=op.f("fk_jobs_namespace_group_id_app_groups"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_jobs_namespace_group_id_id"), "jobs", ["namespace", "group_id", "id"], unique=False
    )
    op.create_index(
        op.f("ix_jobs_status_next_fire_time"), "jobs", ["status", "next_fire_time"], unique=False
    )

    op.create_table(
        "instances",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.Column("trigger_type", sa.Integer(), nullable=False),
        sa.Column("time_type", sa.Integer(), nullable=False),
        sa.Column("schedule_time", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("data_time", sa.BigInteger(), nullable=True),
        sa.Column("start_time", sa.BigInteger(), nullable=True),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("executor", sa.Text(), nullable=False),
        sa.Column("progress", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("instance_parameters", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("fire_key", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_instances_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_instances_job_id_fire_key"), "instances", ["job_id", "fire_key"], unique=True
    )
    op.create_index(op.f("ix_instances_job_id_id"), "instances", ["job_id", "id"], unique=False)
    op.create_index(
        op.f("ix_instances_job_id_idempotency_key"),
        "instances",
        ["job_id", "idempotency_key"],
        unique=True,
    )
    op.create_index(
        op.f("ix_instances_schedule_time"), "instances", ["schedule_time"], unique=False
    )
    op.create_index(op.f("ix_instances_status"), "instances", ["status"], unique=False)

    op.create_table(
        "logs",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("instance_id", sa.BigInteger(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_logs_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_logs")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_logs_instance_id_seq"), "logs", ["instance_id", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_logs_instance_id_seq"), table_name="logs")

    op.drop_table("logs")
    op.drop_index(op.f("ix_instances_status"), table_name="instances")
    op.drop_index(op.f("ix_instances_schedule_time"), table_name="instances")
    op.drop_index(op.f("ix_instances_job_id_idempotency_key"), table_name="instances")
    op.drop_index(op.f("ix_instances_job_id_id"), table_name="instances")
    op.drop_index(op.f("ix_instances_job_id_fire_key"), table_name="instances")

    op.drop_table("instances")
    op.drop_index(op.f("ix_jobs_status_next_fire_time"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_namespace_group_id_id"), table_name="jobs")

    op.drop_table("jobs")
    op.drop_table("calendars")
    op.drop_table("app_groups")
    op.drop_table("namespaces")
    op.drop_table("access_keys")
