"""The declared schema (SQLAlchemy Core). Alembic migrations must produce exactly this.

Instants are BIGINT epoch milliseconds; enums are stored as their wire numbers or strings;
lists and dicts are JSON text. Ids are 64-bit and never reused (``sqlite_autoincrement``).
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "access_keys",
    "app_groups",
    "calendars",
    "hand_offs",
    "instances",
    "jobs",
    "logs",
    "metadata",
    "namespaces",
    "notification_policies",
    "permissions",
    "script_versions",
    "used_nonces",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# A 64-bit id that autoincrements on both databases (SQLite needs INTEGER for its rowid).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Instant = sa.BigInteger
Ident = sa.String(255)


access_keys = sa.Table(
    "access_keys",
    metadata,
    sa.Column("key_id", Ident, primary_key=True),
    sa.Column("secret", sa.Text(), nullable=False),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("is_admin", sa.Boolean(), nullable=False),
    sa.Column("created_at", Instant, nullable=False),
)

namespaces = sa.Table(
    "namespaces",
    metadata,
    sa.Column("id", Ident, primary_key=True),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("created_at", Instant, nullable=False),
)

app_groups = sa.Table(
    "app_groups",
    metadata,
    sa.Column(
        "namespace",
        Ident,
        sa.ForeignKey("namespaces.id", ondelete="RESTRICT"),
        primary_key=True,
    ),
    sa.Column("group_id", Ident, primary_key=True),
    sa.Column("app_key", sa.Text(), nullable=False),
    sa.Column("app_name", sa.Text(), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("created_at", Instant, nullable=False),
    sa.Column("run_on_server", sa.Boolean(), nullable=False, server_default=sa.false()),
    # SchedulerX settings, kept to be read back (NULL: never given)
    sa.Column("app_version", sa.Integer(), nullable=True),
    sa.Column("max_jobs", sa.Integer(), nullable=True),
    sa.Column("enable_log", sa.Boolean(), nullable=True),
    sa.Column("monitor_config", sa.Text(), nullable=True),
    sa.Column("monitor_contacts", sa.Text(), nullable=True),
    sa.Column("notification_policy", sa.Text(), nullable=True),
)

calendars = sa.Table(
    "calendars",
    metadata,
    sa.Column(
        "namespace",
        Ident,
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", Ident, primary_key=True),
    sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("months", sa.Text(), nullable=False),  # JSON [{"month": 1, "days": [...]}]
    sa.Column("description", sa.Text(), nullable=False),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("namespace", Ident, nullable=False),
    sa.Column("group_id", Ident, nullable=False),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("job_type", sa.String(32), nullable=False),
    sa.Column("time_type", sa.Integer(), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("execute_mode", sa.String(32), nullable=False),
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
    sa.Column("contact_info", sa.Text(), nullable=False),  # JSON list of objects
    sa.Column("status", sa.Integer(), nullable=False),
    sa.Column("x_attrs", sa.Text(), nullable=False),
    sa.Column("command", sa.Text(), nullable=False),
    sa.Column("command_args", sa.Text(), nullable=False),  # JSON list of strings
    sa.Column("envs", sa.Text(), nullable=False),  # JSON object
    sa.Column("replicas", sa.Integer(), nullable=False),
    sa.Column("misfire_policy", sa.String(32), nullable=False),
    sa.Column("start_time", Instant, nullable=True),
    sa.Column("end_time", Instant, nullable=True),
    sa.Column("history_limit", sa.Integer(), nullable=True),
    sa.Column("next_fire_time", Instant, nullable=True),
    sa.Column("created_at", Instant, nullable=False),
    sa.Column("updated_at", Instant, nullable=False),
    sa.Column("designation", sa.Text(), nullable=True),  # JSON; NULL: any worker
    sa.Column("route_strategy", sa.Text(), nullable=True),  # JSON; NULL: none
    sa.Column("schedule_error", sa.Text(), nullable=True),  # NULL: its schedule is fine
    sa.ForeignKeyConstraint(
        ["namespace", "group_id"],
        ["app_groups.namespace", "app_groups.group_id"],
        ondelete="RESTRICT",
    ),
    sa.Index(None, "status", "next_fire_time"),  # due jobs
    sa.Index(None, "namespace", "group_id", "id"),  # listing and the foreign key
    sqlite_autoincrement=True,
)

instances = sa.Table(
    "instances",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "job_id",
        sa.BigInteger(),
        sa.ForeignKey("jobs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("namespace", Ident, nullable=False),
    sa.Column("group_id", Ident, nullable=False),
    sa.Column("trigger_type", sa.Integer(), nullable=False),
    sa.Column("time_type", sa.Integer(), nullable=False),
    sa.Column("schedule_time", Instant, nullable=False),
    sa.Column("status", sa.Integer(), nullable=False),
    sa.Column("data_time", Instant, nullable=True),
    sa.Column("start_time", Instant, nullable=True),
    sa.Column("end_time", Instant, nullable=True),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("worker", sa.Text(), nullable=False),
    sa.Column("executor", sa.Text(), nullable=False),
    sa.Column("progress", sa.Text(), nullable=False),
    sa.Column("result", sa.Text(), nullable=False),
    sa.Column("instance_parameters", sa.Text(), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("fire_key", Instant, nullable=True),
    sa.Column("created_at", Instant, nullable=False),
    sa.Column("updated_at", Instant, nullable=False),
    sa.Column("owner", sa.String(64), nullable=True),  # the server holding it (servers.id)
    sa.Column("designation", sa.Text(), nullable=True),  # JSON: the run's own (ExecuteJob)
    # NULLs are distinct in both unique indexes on both databases: API runs have no fire_key.
    sa.Index(None, "job_id", "fire_key", unique=True),
    sa.Index(None, "job_id", "idempotency_key", unique=True),
    sa.Index(None, "job_id", "id"),
    sa.Index(None, "status"),
    sa.Index(None, "schedule_time"),
    sqlite_autoincrement=True,
)

# The live servers: each holds a lease it renews; one whose heartbeat (database time) is older
# than the lease is dead, and what it owned is adopted by the others.
servers = sa.Table(
    "servers",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("address", sa.Text(), nullable=False),
    sa.Column("started_at", Instant, nullable=False),
    sa.Column("heartbeat_at", Instant, nullable=False),
    # JSON list of "namespace/group" whose worker agents are connected to it
    sa.Column("groups", sa.Text(), nullable=False, server_default="[]"),
    # JSON {"namespace/group": [worker, ...]} of the worker agents connected to it
    sa.Column("workers", sa.Text(), nullable=False, server_default="{}"),
)

logs = sa.Table(
    "logs",
    metadata,
    # seq increases overall, hence per instance too
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "instance_id",
        sa.BigInteger(),
        sa.ForeignKey("instances.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("time", Instant, nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("line", sa.Text(), nullable=False),
    sa.Index(None, "instance_id", "seq"),
    sqlite_autoincrement=True,
)


permissions = sa.Table(
    "permissions",
    metadata,
    sa.Column(
        "key_id",
        Ident,
        sa.ForeignKey("access_keys.key_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "namespace",
        Ident,
        sa.ForeignKey("namespaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("group_id", Ident, primary_key=True),  # "": the whole namespace
    sa.Column("grant_option", sa.Boolean(), nullable=False),
    sa.Column("created_at", Instant, nullable=False),
    sa.Column("right", sa.SmallInteger(), nullable=False, server_default="4"),  # Right
)

script_versions = sa.Table(
    "script_versions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "job_id",
        sa.BigInteger(),
        sa.ForeignKey("jobs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("content", sa.Text(), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("creator", sa.Text(), nullable=False),
    sa.Column("created_at", Instant, nullable=False),
    sa.Index(None, "job_id", "id"),
    sqlite_autoincrement=True,
)

notification_policies = sa.Table(
    "notification_policies",
    metadata,
    sa.Column("name", Ident, primary_key=True),
    sa.Column("channel_time_range", sa.Text(), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("created_at", Instant, nullable=False),
    sa.Column("updated_at", Instant, nullable=False),
)

# Signed calls accepted (docs/schedulerx.md): the nonce each access key used, with the instant
# until which the record is kept, which its signed timestamp decides (the timestamp plus the
# window and a margin), so a replay, which carries the same timestamp, meets its record on any
# server of the database. The instant leads the key: new records go to one end of the index
# and expired ones leave from the other, where random nonces first would touch a page of the
# index each (the cost of a write on SQLite). No rowid on SQLite: the key is the table.
# Instances handed to a server and not yet taken up by it (docs/multi-server.md, "Hand-offs").
# Taking one up deletes its row (``DELETE ... RETURNING``): of the notification and the sweep
# that looks for lost notifications, only the one that deleted it carries on with it.
hand_offs = sa.Table(
    "hand_offs",
    metadata,
    sa.Column("instance_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("to_server", sa.String(64), nullable=False),
    sa.Index(None, "to_server"),
)
used_nonces = sa.Table(
    "used_nonces",
    metadata,
    sa.Column("kept_until", Instant, primary_key=True),
    sa.Column("key_id", Ident, primary_key=True),
    sa.Column("nonce", Ident, primary_key=True),
    sqlite_with_rowid=False,
)
