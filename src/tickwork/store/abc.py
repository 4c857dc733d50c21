"""The one store interface. Every implementation passes the contract suite in
``tests/integration/store``.

All instants are UTC epoch milliseconds. Methods that take lists write them in one
transaction (group commit): the engine batches its writes and calls these once per batch.
A method that is asked for something missing returns ``None`` (get) or raises the matching
``tickwork.domain.errors`` error (update/delete), never a database exception.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from tickwork.domain.enums import InstanceStatus
from tickwork.domain.models import (
    AccessKey,
    AppGroup,
    Calendar,
    Instance,
    InstanceUpdate,
    Job,
    JobScriptVersion,
    LogLine,
    Namespace,
    NotificationPolicy,
    Page,
    Permission,
    WorkerInfo,
)
from tickwork.domain.queries import InstanceFilter, JobFilter, LogQuery


class RunCount(NamedTuple):
    """How many instances of one status have a schedule time in one interval."""

    start: int  # the interval's first instant (epoch ms)
    status: InstanceStatus
    runs: int


class NonceUse(NamedTuple):
    """A signed call an access key made, known by its nonce and ``kept_until`` (epoch ms),
    which its signed timestamp decides: a replay repeats both (docs/schedulerx.md)."""

    key_id: str
    nonce: str
    kept_until: int


HANDOFF_CHANNEL = "tickwork_handoff"
"""NOTIFY channel: ``<server id>:<instance id>,<instance id>,...``, instances that server owns
now."""
JOB_CHANNEL = "tickwork_job"
"""NOTIFY channel: ``<server id>:<job id>:<1 if its schedule changed else 0>``, a job that
server changed or deleted (the others refresh their copy, withdraw fires planned from it)."""
STOP_CHANNEL = "tickwork_stop"
"""NOTIFY channel: ``<server id>:<instance id>:<by>``, stop that instance (its owner does)."""
LEFT_CHANNEL = "tickwork_left"
"""NOTIFY channel: ``<server id>``, a server that stopped cleanly and deleted its row: the
others adopt what it still owned at once, not at their next look for orphans."""


@dataclass(slots=True, frozen=True)
class ServerRow:
    """A registered server (docs/multi-server.md)."""

    id: str
    address: str
    started_at: int
    heartbeat_at: int  # database time
    groups: tuple[str, ...]  # "namespace/group" of the worker agents connected to it
    workers: Mapping[str, tuple[WorkerInfo, ...]] = field(default_factory=dict)  # by group


class PlanWriter(Protocol):
    """``Store.plan_fires`` (or the same inside a claim)."""

    def __call__(
        self,
        fires: Sequence[Instance],
        next_fire_times: Sequence[tuple[int, int | None]],
        schedule_errors: Sequence[tuple[int, str]] = (),
    ) -> Awaitable[list[Instance]]: ...


@dataclass(slots=True, frozen=True)
class DueClaim:
    """Due jobs claimed for one planning round (``Store.claim_due_jobs``).

    ``plan`` inserts their fires and sets their next fire times like ``Store.plan_fires``,
    inside the claim: on PostgreSQL the claimed rows stay locked until the claim ends.
    """

    jobs: list[Job]
    plan: PlanWriter
    next_fire: Mapping[int, int]
    """Each claimed job's stored next fire time: a job given back from ``known`` may hold
    an older one in its ``next_fire_time``."""
    unreadable: Mapping[int, str] = field(default_factory=dict)
    """Due jobs whose row could not be read as a job (written by hand, or damaged), with
    why: they are not in ``jobs``, and one of them does not stop the others."""


class Store(Protocol):
    # -- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect and apply pending migrations (Alembic) so the schema is current."""

    async def close(self) -> None:
        """Release every connection."""

    # -- access keys -----------------------------------------------------------------------
    async def create_access_key(self, key: AccessKey) -> AccessKey:
        """Store a key. AlreadyExists if the key id is taken."""

    async def get_access_key(self, key_id: str) -> AccessKey | None: ...

    async def list_access_keys(self) -> list[AccessKey]: ...

    async def delete_access_key(self, key_id: str) -> None:
        """Delete a key and its permissions. NotFound if missing."""

    # -- permissions -----------------------------------------------------------------------
    async def put_permission(self, permission: Permission) -> Permission:
        """Create or replace the right of (key_id, namespace, group_id). NotFound if the key
        does not exist; NamespaceNotFound if the namespace does not."""

    async def delete_permission(self, key_id: str, namespace: str, group_id: str) -> bool:
        """Remove one right; False if there was none."""

    async def list_permissions(self, key_id: str) -> list[Permission]:
        """Ordered by namespace, then group_id."""

    # -- job script versions ---------------------------------------------------------------
    async def add_script_version(self, version: JobScriptVersion) -> JobScriptVersion:
        """Store a version (id assigned, created_at set when 0). JobNotFound if the job is
        missing. Versions go with their job when it is deleted."""

    async def list_script_versions(self, job_id: int, limit: int = 100) -> list[JobScriptVersion]:
        """Newest first."""

    # -- notification policies -------------------------------------------------------------
    async def create_notification_policy(self, policy: NotificationPolicy) -> NotificationPolicy:
        """AlreadyExists if the name is taken. Sets created_at/updated_at when 0."""

    async def update_notification_policy(self, policy: NotificationPolicy) -> NotificationPolicy:
        """Replace description and channel_time_range. NotFound if missing."""

    async def get_notification_policy(self, name: str) -> NotificationPolicy | None: ...

    async def list_notification_policies(self) -> list[NotificationPolicy]:
        """Ordered by name."""

    async def delete_notification_policy(self, name: str) -> None:
        """NotFound if missing."""

    # -- namespaces ------------------------------------------------------------------------
    async def create_namespace(self, namespace: Namespace) -> Namespace:
        """AlreadyExists if the id is taken. Sets created_at when it is 0."""

    async def get_namespace(self, namespace_id: str) -> Namespace | None: ...

    async def list_namespaces(self) -> list[Namespace]:
        """Ordered by created_at, then id."""

    async def update_namespace(self, namespace: Namespace) -> Namespace:
        """Replace name and description. NamespaceNotFound if missing."""

    async def delete_namespace(self, namespace_id: str) -> None:
        """NamespaceNotFound if missing; InvalidState if it still holds app groups."""

    # -- app groups ------------------------------------------------------------------------
    async def create_group(self, group: AppGroup) -> AppGroup:
        """AlreadyExists if (namespace, group_id) is taken. Sets created_at when it is 0."""

    async def get_group(self, namespace: str, group_id: str) -> AppGroup | None: ...

    async def list_groups(self, namespace: str) -> list[AppGroup]:
        """Ordered by created_at, then group_id."""

    async def update_group(self, group: AppGroup) -> AppGroup:
        """Replace app_name, description, run_on_server and the SchedulerX settings (not the
        key). GroupNotFound if missing."""

    async def list_server_groups(self) -> list[tuple[str, str]]:
        """(namespace, group_id) of the groups whose run_on_server is set, ordered."""

    async def delete_group(self, namespace: str, group_id: str) -> None:
        """GroupNotFound if missing; InvalidState if it still holds jobs."""

    # -- calendars -------------------------------------------------------------------------
    async def put_calendar(self, calendar: Calendar) -> Calendar:
        """Create or replace the calendar (namespace, name, year)."""

    async def get_calendar(self, namespace: str, name: str, year: int) -> Calendar | None: ...

    async def list_calendars(self, namespace: str) -> list[Calendar]:
        """Ordered by name, then year."""

    async def delete_calendar(self, namespace: str, name: str, year: int | None) -> None:
        """Delete one year, or every year when year is None. CalendarNotFound if none."""

    # -- jobs ------------------------------------------------------------------------------
    async def create_job(self, job: Job) -> Job:
        """Insert and return the job with its new id (ids increase). Sets created_at and
        updated_at when they are 0."""

    async def get_job(self, job_id: int) -> Job | None: ...

    async def list_jobs(self, flt: JobFilter) -> Page[Job]:
        """Ordered by id ascending."""

    async def update_job(self, job: Job) -> Job:
        """Replace every field of the stored job (by id). JobNotFound if missing."""

    async def delete_job(self, job_id: int) -> None:
        """Delete the job, its instances and their logs. JobNotFound if missing."""

    async def due_jobs(self, before: int, limit: int) -> list[Job]:
        """Enabled jobs whose next_fire_time is not null and <= before, earliest first."""

    def claim_due_jobs(
        self, before: int, limit: int, known: Callable[[int], Job | None] | None = None
    ) -> AbstractAsyncContextManager[DueClaim]:
        """Claim the due jobs of a planning round (as ``due_jobs``) until the context ends.

        ``known(job_id)`` offers a definition the caller holds: when its ``updated_at`` is
        the stored one, that very object is claimed and the row is not read again.

        On PostgreSQL the rows are locked ``FOR UPDATE SKIP LOCKED`` in one transaction that
        ``DueClaim.plan`` writes in and the end of the context commits: servers planning at
        once each get other jobs, and a job changed meanwhile is planned after the change.
        SQLite has one server, which reads them and plans in a transaction of its own.
        """
        ...

    async def set_next_fire_times(self, changes: Sequence[tuple[int, int | None]]) -> None:
        """Set next_fire_time of each (job_id, next_fire_time); missing jobs are ignored."""

    async def count_schedule_errors(self) -> int:
        """How many jobs are marked with a schedule error (``Job.schedule_error``)."""

    # -- instances -------------------------------------------------------------------------
    async def plan_fires(
        self,
        fires: Sequence[Instance],
        next_fire_times: Sequence[tuple[int, int | None]],
        schedule_errors: Sequence[tuple[int, str]] = (),
    ) -> list[Instance]:
        """In one transaction: insert the fires, set the jobs' next fire times, and mark each
        job of ``schedule_errors`` (job_id, reason) with its schedule error and no next fire
        time (it is not planned again until it is changed).

        A fire whose (job_id, fire_key) is already stored is not inserted again (the unique
        index makes a scheduled fire happen at most once). Fires of jobs that no longer exist
        are dropped. Returns the inserted instances, with ids, in the order given.
        """

    async def create_instances(
        self, batch: Sequence[Instance]
    ) -> list[tuple[Instance, bool] | None]:
        """``create_instance`` for many, in one transaction: for each, (instance with id,
        True) when inserted, (the stored one, False) when its key was taken (also by an
        earlier one of the batch), None when its job does not exist. In the batch's order."""

    async def create_instance(self, instance: Instance) -> tuple[Instance, bool]:
        """Insert one instance; returns (instance with id, True).

        When its idempotency_key is set and an instance of the same job already has it,
        nothing is inserted and (that instance, False) is returned. Likewise for fire_key.
        """

    async def get_instance(self, instance_id: int) -> Instance | None: ...

    async def list_instances(self, flt: InstanceFilter) -> Page[Instance]:
        """Newest first (id descending)."""

    async def unfinished_instances(self) -> list[Instance]:
        """Every instance whose status is not final (see enums.FINAL_STATUSES), oldest first."""

    async def count_instances(self, job_id: int, statuses: Sequence[InstanceStatus]) -> int: ...

    async def count_runs(self, flt: InstanceFilter, step_ms: int) -> list[RunCount]:
        """The instances the filter matches (its page aside; ``schedule_from`` is required),
        counted by status in intervals of ``step_ms`` from ``schedule_from`` by their
        schedule time: one count per interval and status that has any, oldest first."""

    # -- servers and ownership (docs/multi-server.md) -----------------------------------------
    server_id: str | None
    """The server this store works for, given when it is opened: instances it inserts are
    owned by it (the engine built over the store runs as this server)."""

    async def register_server(self, server_id: str, address: str) -> None: ...

    async def renew_server(
        self,
        server_id: str,
        groups: Sequence[str] = (),
        workers: Mapping[str, Sequence[WorkerInfo]] | None = None,
    ) -> bool:
        """Renew the lease; record the app groups with worker agents here, and those agents
        (by "namespace/group"). False when the row is gone (taken for dead)."""

    async def unregister_server(self, server_id: str) -> None:
        """Delete the server's row and tell the others (``LEFT_CHANNEL``): they adopt at once."""

    async def expire_servers(self, lease_ms: int, keep: str | None = None) -> list[str]:
        """Delete the servers whose heartbeat is older than ``lease_ms`` (every one but
        ``keep`` when 0); their ids."""

    async def live_servers(self) -> list[ServerRow]:
        """The registered servers, oldest first."""

    async def hand_off(
        self, instance_ids: Sequence[int], to_server: str, *, unstarted: bool = False
    ) -> list[int]:
        """Give instances this server owns to ``to_server`` and notify it; the ids moved.
        ``unstarted``: runs released here that no worker took go back to waiting (the new
        owner starts that attempt)."""

    async def notify_owner(self, server_id: str, instance_ids: Sequence[int]) -> None:
        """Tell ``server_id`` that it owns these instances (PostgreSQL NOTIFY); an instance
        created owned by another server is recorded as handed to it when it is created."""

    async def notify_stop(self, server_id: str, instance_id: int, by: str) -> None:
        """Ask the owner ``server_id`` to stop an instance (PostgreSQL NOTIFY)."""

    async def listen(self, handlers: Mapping[str, Callable[[str], None]]) -> Callable[[], None]:
        """Call ``handlers[channel](payload)`` for each notification (PostgreSQL; nothing on
        SQLite, which has one server); returns what stops listening."""

    async def get_instances(self, instance_ids: Sequence[int]) -> list[Instance]:
        """The stored instances of those ids (missing ones left out), by id."""

    async def take_up_handed(
        self, server_id: str, instance_ids: Sequence[int] | None = None
    ) -> list[Instance]:
        """Claim the hand-offs to ``server_id`` not yet taken up (of ``instance_ids``; None:
        every one) and return the instances it still owns unfinished. Atomic: an instance's
        hand-off is claimed by one caller only."""

    async def notify_job(self, server_id: str, job_id: int, schedule_changed: bool) -> None:
        """Tell the other servers that ``server_id`` changed or deleted a job (PostgreSQL)."""

    async def adopt_instances(self, server_id: str) -> list[Instance]:
        """Make ``server_id`` the owner of every unfinished instance no live server owns;
        returns them, oldest first."""

    async def count_instances_by_status(self) -> dict[InstanceStatus, int]: ...

    async def update_instances(self, updates: Sequence[InstanceUpdate]) -> list[int]:
        """Apply each update (fields that are None stay). An update whose only_if_status does
        not hold is not applied. Returns the ids that were updated, in the order given."""

    async def delete_unstarted(self, instance_ids: Sequence[int]) -> int:
        """Delete the given instances that are still WAITING, or READY (claimed to start by
        the caller, which withdraws them before they did), and never started (fires
        withdrawn before their due instant), with their logs. Others stay. Returns how many
        were deleted."""

    async def prune_history(self, job_id: int, keep: int) -> int:
        """Delete the job's finished instances (and their logs) but the newest ``keep`` (by
        id). Unfinished instances are never deleted. Returns how many were deleted."""

    # -- signature nonces ------------------------------------------------------------------
    async def use_nonces(self, uses: Sequence[NonceUse], now: int) -> list[bool]:
        """Record each use, in one transaction, and say for each whether it was new: False
        when the same (key_id, nonce, kept_until) is recorded already (a replay), or when it
        expired already (``kept_until <= now``: it is not recorded), True otherwise. A use
        given twice in one call is new the first time only. Every server of the database
        shares the records, so exactly one of concurrent calls with the same use gets True.

        Records kept until ``now`` or before are deleted as it goes, oldest first and a few
        more than it records (so the table holds about one window of calls), never all at
        once."""

    # -- logs ------------------------------------------------------------------------------
    async def append_logs(self, lines: Sequence[LogLine]) -> None:
        """Store the lines; seq increases in the order given (per instance and overall)."""

    async def read_logs(self, query: LogQuery) -> list[LogLine]:
        """Lines of one instance in seq order (reversed when asked), keyword-filtered, then
        offset and limit applied."""

    async def count_logs(self, instance_id: int) -> int: ...
