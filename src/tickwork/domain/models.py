"""Entities. All instants are UTC epoch milliseconds (``int``); durations are seconds.

Defaults are those documented for SchedulerX CreateJob (see ../shared/seeds and REFERENCE.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tickwork.domain.enums import (
    ExecuteMode,
    InstanceStatus,
    JobStatus,
    JobType,
    MisfirePolicy,
    Right,
    TimeType,
    TriggerType,
)
from tickwork.domain.worker_metrics import WorkerMetrics


@dataclass(slots=True)
class Namespace:
    id: str  # the namespace id on the wire (a UUID unless the creator gave one)
    name: str
    description: str = ""
    created_at: int = 0


@dataclass(slots=True)
class AppGroup:
    namespace: str
    group_id: str
    app_key: str  # the workers' credential
    app_name: str = ""
    description: str = ""
    created_at: int = 0
    # the server's own (in-process) worker may run the group's jobs: code on the server's
    # host, so only an admin turns it on (docs/security.md)
    run_on_server: bool = False
    # SchedulerX settings of the group (CreateAppGroup, UpdateAppGroup), kept so that they
    # read back as written; tickwork does not act on them (docs/schedulerx.md). None and ""
    # mean never given.
    app_version: int | None = None  # 1 basic edition, 2 professional edition
    max_jobs: int | None = None
    enable_log: bool | None = None
    monitor_config: str = ""  # JSON text (MonitorConfigJson)
    monitor_contacts: str = ""  # JSON text (MonitorContactsJson)
    notification_policy: str = ""  # a notification policy's name


@dataclass(slots=True)
class AccessKey:
    key_id: str
    secret: str
    name: str = ""
    is_admin: bool = False
    created_at: int = 0

    def __repr__(self) -> str:  # never print the secret
        return f"AccessKey(key_id={self.key_id!r}, name={self.name!r}, is_admin={self.is_admin})"


@dataclass(slots=True)
class CalendarMonth:
    month: int  # 1..12
    days: list[int]  # allowed days of that month


@dataclass(slots=True)
class Calendar:
    """A named year of allowed days that cron jobs can be held to."""

    namespace: str
    name: str
    year: int
    months: list[CalendarMonth]
    description: str = ""


@dataclass(slots=True)
class ContactInfo:
    user_name: str = ""
    user_phone: str = ""
    user_mail: str = ""
    ding: str = ""


DESIGNATE_WORKERS = 1
"""A designation by worker address (SchedulerX DesignateType 1)."""
DESIGNATE_LABELS = 2
"""A designation by label (SchedulerX DesignateType 2)."""


@dataclass(slots=True)
class Designation:
    """Which workers may run a job: by worker address (kind 1) or by label (kind 2). With
    ``transferable``, runs go to any worker when no designated one is available."""

    kind: int  # 1 worker, 2 label
    workers: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    transferable: bool = True


@dataclass(slots=True, frozen=True, kw_only=True)
class WorkerInfo:
    """A live worker of an app group, as GetWorkerList and the native API show it (built by
    keyword: eight positional fields read as a riddle)."""

    address: str
    worker_id: str
    labels: tuple[str, ...]
    version: str
    running: int
    concurrency: int
    in_process: bool
    connected_at: int
    server: str = ""  # host:port of the server it is connected to ("": this one)
    # the job types it runs (names); empty: tickwork's own (what a worker that says nothing runs)
    job_types: frozenset[str] = frozenset()
    metrics: WorkerMetrics | None = None  # its machine, as its last heartbeat said
    ip: str = ""  # the IP the server saw it connect from ("": none seen)


ROUTE_BY_PERCENTAGE = 3  # the only route strategy type (SchedulerX CreateRouteStrategy Type 3)
ROUTE_TARGET_TYPES = ("label", "worker")


@dataclass(slots=True)
class RouteEntry:
    """One share of a route strategy: ``percentage`` of the runs go to ``targets``, labels
    (``target_type`` "label") or worker addresses ("worker")."""

    percentage: int  # 0..100
    targets: list[str]
    target_type: str = "label"  # "label" | "worker"


@dataclass(slots=True)
class RouteStrategy:
    """How a job's runs are split between workers (SchedulerX CreateRouteStrategy). The
    entries' percentages sum to 100."""

    name: str
    entries: list[RouteEntry]
    kind: int = ROUTE_BY_PERCENTAGE  # the SchedulerX Type
    status: int = 1  # 1 enabled, 0 disabled

    @property
    def enabled(self) -> bool:
        return self.status == 1


@dataclass(slots=True)
class Job:
    namespace: str
    group_id: str
    name: str
    job_type: JobType
    time_type: TimeType
    id: int = 0  # assigned by the store
    description: str = ""
    execute_mode: ExecuteMode = ExecuteMode.STANDALONE
    class_name: str = ""
    content: str = ""
    parameters: str = ""
    max_concurrency: int = 1
    max_attempt: int = 0
    attempt_interval: int = 30
    page_size: int = 100
    consumer_size: int = 5
    queue_size: int = 10000
    dispatcher_size: int = 5
    time_expression: str = ""
    calendar: str = ""
    data_offset: int = 0
    timezone: str = ""  # empty: the server's default time zone (UTC)
    timeout_enable: bool = False
    timeout: int = 7200
    timeout_kill_enable: bool = False
    fail_enable: bool = False
    fail_times: int = 1
    miss_worker_enable: bool = False
    success_notice_enable: bool = False
    send_channel: str = ""
    task_max_attempt: int = 0
    task_attempt_interval: int = 0
    contact_info: list[ContactInfo] = field(default_factory=list)
    status: JobStatus = JobStatus.ENABLED
    x_attrs: str = ""
    # command jobs (SAE-style templates)
    command: str = ""
    command_args: list[str] = field(default_factory=list)
    envs: dict[str, str] = field(default_factory=dict)
    replicas: int = 1
    # tickwork's own
    misfire_policy: MisfirePolicy = MisfirePolicy.FIRE_ONCE
    start_time: int | None = None  # no fire before this instant
    end_time: int | None = None  # no fire after this instant
    history_limit: int | None = None  # None: the server's default
    designation: Designation | None = None  # None: any worker of the group
    route_strategy: RouteStrategy | None = None  # None: runs are not split
    # scheduling state, owned by the engine
    next_fire_time: int | None = None
    # why planning could not compute the job's fires (it is not planned until it is
    # changed); None: its schedule is fine
    schedule_error: str | None = None
    created_at: int = 0
    updated_at: int = 0

    @property
    def enabled(self) -> bool:
        return self.status == JobStatus.ENABLED


@dataclass(slots=True)
class Instance:
    job_id: int
    namespace: str
    group_id: str
    trigger_type: TriggerType
    time_type: TimeType
    schedule_time: int
    id: int = 0  # assigned by the store
    status: InstanceStatus = InstanceStatus.WAITING
    data_time: int | None = None
    start_time: int | None = None
    end_time: int | None = None
    attempt: int = 0
    worker: str = ""  # address of the worker that ran it
    executor: str = ""  # who triggered it (access key id or "scheduler")
    progress: str = ""
    result: str = ""
    instance_parameters: str = ""
    idempotency_key: str | None = None
    # set for scheduled fires (= schedule_time); unique per job so a fire happens at most once
    fire_key: int | None = None
    created_at: int = 0
    updated_at: int = 0
    # the server that holds it while unfinished (see docs/multi-server.md); None: nobody yet
    owner: str | None = None
    # this run's own designation (ExecuteJob DesignateType...); None: the job's rules
    designation: Designation | None = None


@dataclass(slots=True)
class InstanceUpdate:
    """A change to one instance; ``None`` leaves a field as it is."""

    instance_id: int
    status: InstanceStatus | None = None
    start_time: int | None = None
    end_time: int | None = None
    attempt: int | None = None
    worker: str | None = None
    progress: str | None = None
    result: str | None = None
    trigger_type: TriggerType | None = None  # a system retry (5) changes it
    # only apply when the stored status is one of these (None: always)
    only_if_status: frozenset[InstanceStatus] | None = None


@dataclass(slots=True)
class LogLine:
    instance_id: int
    time: int
    line: str
    attempt: int = 0
    seq: int = 0  # assigned by the store, increasing per instance


T = TypeVar("T")


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


@dataclass(slots=True)
class Permission:
    """A right of a (non-admin) access key on a namespace, or on one app group of it."""

    key_id: str
    namespace: str
    group_id: str = ""  # "": every app group of the namespace
    grant_option: bool = False  # may grant this right (or a lesser one) to other keys
    created_at: int = 0
    right: Right = Right.MANAGE


@dataclass(slots=True)
class JobScriptVersion:
    """One saved version of a script job's content (UpdateJobScript keeps them)."""

    job_id: int
    content: str
    description: str = ""
    creator: str = ""
    created_at: int = 0
    id: int = 0  # assigned by the store, increasing


@dataclass(slots=True)
class NotificationPolicy:
    """When and how alerts may be sent: channels with time ranges and days of week, as JSON.
    Stored now; sending alerts is the alerting work."""

    name: str
    channel_time_range: str = ""  # JSON, as the API gives it
    description: str = ""
    created_at: int = 0
    updated_at: int = 0
