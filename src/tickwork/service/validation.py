"""The rules a job must satisfy before it is stored. Every API gets them from here."""

from __future__ import annotations

from tickwork.domain.enums import ExecuteMode, JobType, TimeType
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.http_attribute import parse_http_attribute
from tickwork.domain.job_types import validate_class_name
from tickwork.domain.models import ROUTE_BY_PERCENTAGE, ROUTE_TARGET_TYPES, Job, RouteStrategy
from tickwork.domain.sharding import parse_shards
from tickwork.engine.modes import MAP_MODES, is_processor
from tickwork.timing import data_time, parse_one_time, parse_timezone, validate_time
from tickwork.timing.instants import EARLIEST_MS, LATEST_MS, MAX_SPAN_S, holds_instant

NAME_LIMIT = 200
CONTENT_LIMIT = 1_000_000
RESULT_LIMIT = 1000
TIME_EXPRESSION_LIMIT = 1000
TIMEZONE_LIMIT = 100  # the longest IANA name has 32 characters
CALENDAR_NAME_LIMIT = 128  # a calendar's name is an id (service/namespaces.py ID_LIMIT)
WEEK_S = 7 * 86_400

# The ranges of a job's numbers: (field, minimum, maximum). Each is what a production scheduler
# would ever need, and each fits the 32-bit INTEGER column PostgreSQL stores it in.
NUMBER_RANGES: tuple[tuple[str, int, int], ...] = (
    ("max_concurrency", 1, 10_000),
    ("max_attempt", 0, 1000),
    ("attempt_interval", 0, WEEK_S),
    ("timeout", 0, MAX_SPAN_S),
    ("fail_times", 1, 10_000),
    ("page_size", 1, 10_000),
    ("consumer_size", 1, 1000),
    ("queue_size", 1, 1_000_000),
    ("dispatcher_size", 1, 1000),
    ("task_max_attempt", 0, 1000),
    ("task_attempt_interval", 0, WEEK_S),
    ("replicas", 1, 1000),
    ("data_offset", -MAX_SPAN_S, MAX_SPAN_S),
)
HISTORY_LIMIT_RANGE = (1, 100_000_000)


def _in_range(value: object, name: str, minimum: int, maximum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidParameter(f"{name} must be an integer, got {value!r}", field=name)
    if not minimum <= value <= maximum:
        raise InvalidParameter(
            f"{name} must be from {minimum} to {maximum}, got {value}", field=name
        )


def validate_job(job: Job) -> None:
    """Raise InvalidParameter naming the first field that is wrong."""
    if not job.name.strip():
        raise InvalidParameter("name must not be empty", field="name")
    if len(job.name) > NAME_LIMIT:
        raise InvalidParameter(f"name is longer than {NAME_LIMIT} characters", field="name")
    if len(job.content) > CONTENT_LIMIT:
        raise InvalidParameter(
            f"content is longer than {CONTENT_LIMIT} characters", field="content"
        )
    _validate_kind(job)
    _validate_mode(job)
    _validate_schedule(job)
    for name, minimum, maximum in NUMBER_RANGES:
        _in_range(getattr(job, name), name, minimum, maximum)
    if job.history_limit is not None:
        _in_range(job.history_limit, "history_limit", *HISTORY_LIMIT_RANGE)
    _validate_data_time(job)


def _validate_schedule(job: Job) -> None:
    """The time type, expression, zone, calendar and window: every fire the schedule gives
    is an instant that can be stored (``holds_instant``)."""
    _longest(job.time_expression, "time_expression", TIME_EXPRESSION_LIMIT)
    _longest(job.timezone, "timezone", TIMEZONE_LIMIT)
    _longest(job.calendar, "calendar", CALENDAR_NAME_LIMIT)
    parse_timezone(job.timezone)
    validate_time(job.time_type, job.time_expression, job.timezone)
    if job.calendar and job.time_type != TimeType.CRON:
        raise InvalidParameter("calendar applies to cron jobs only", field="calendar")
    for name in ("start_time", "end_time"):
        instant = getattr(job, name)
        if instant is not None:
            _in_range(instant, name, EARLIEST_MS, LATEST_MS)
    if job.start_time is not None and job.end_time is not None and (job.end_time <= job.start_time):
        raise InvalidParameter("end_time must be after start_time", field="end_time")


def _validate_data_time(job: Job) -> None:
    """A one-time job's single fire has a known data time: it must be an instant that can be
    stored too (other schedules fire within the range for centuries; the engine checks each
    fire, and refuses to plan a job whose fire would not be)."""
    if job.time_type != TimeType.ONE_TIME or job.data_offset == 0:
        return
    fire = parse_one_time(job.time_expression, job.timezone)
    if not holds_instant(data_time(fire, job.data_offset)):
        raise InvalidParameter(
            f"data_offset {job.data_offset} puts the data time of the job's fire outside "
            "0001-01-02..9999-12-30 (UTC)",
            field="data_offset",
        )


def _longest(text: str, name: str, limit: int) -> None:
    if len(text) > limit:
        raise InvalidParameter(f"{name} is longer than {limit} characters", field=name)


def _validate_mode(job: Job) -> None:
    """Map-reduce modes (parallel, grid, batch) need a processor, as in SchedulerX, where
    they need a MapJobProcessor and a script job offers only standalone, broadcast and
    sharding. A job of a type tickwork does not run (java, go, ...) may take any mode: the
    worker that runs its type supplies the processor."""
    mode = job.execute_mode
    if mode in MAP_MODES and job.job_type.is_own and not is_processor(job):
        raise InvalidParameter(
            f"execute_mode {mode.value!r} (map-reduce) needs a processor job: job_type "
            "'processor' (or 'python' with class_name) naming a MapProcessor or "
            f"MapReduceProcessor; a {job.job_type.value} job runs standalone, broadcast or "
            "sharding",
            field="execute_mode",
        )
    if mode == ExecuteMode.SHARDING:
        parse_shards(job.parameters)


def _validate_kind(job: Job) -> None:
    kind = job.job_type
    if is_processor(job):
        validate_class_name(job.class_name)
    elif kind in (JobType.SHELL, JobType.PYTHON):
        if not job.content.strip():
            raise InvalidParameter(
                f"content (the {kind.value} script) must not be empty for a {kind.value} job",
                field="content",
            )
    elif kind == JobType.HTTP:
        parse_http_attribute(job.content)
    elif kind == JobType.COMMAND:
        if not job.command.strip():
            raise InvalidParameter("command must not be empty for a command job", field="command")


ROUTE_NAME_LIMIT = 200
ROUTE_ENTRIES_LIMIT = 100


def check_route_strategy(strategy: RouteStrategy) -> None:
    """Raise InvalidParameter naming the first field of a route strategy that is wrong
    (name, type, status, entries, percentage, target, target_type)."""
    name = strategy.name.strip()
    if not name:
        raise InvalidParameter("the route strategy's name must not be empty", field="name")
    if len(strategy.name) > ROUTE_NAME_LIMIT:
        raise InvalidParameter(
            f"the route strategy's name is longer than {ROUTE_NAME_LIMIT} characters",
            field="name",
        )
    if strategy.kind != ROUTE_BY_PERCENTAGE:
        raise InvalidParameter(
            f"route strategy type {strategy.kind} is not supported; the only type is "
            f"{ROUTE_BY_PERCENTAGE} (routes by percentage)",
            field="type",
        )
    if strategy.status not in (0, 1):
        raise InvalidParameter(
            f"status must be 0 (disabled) or 1 (enabled), got {strategy.status}", field="status"
        )
    if not strategy.entries:
        raise InvalidParameter("a route strategy needs at least one entry", field="entries")
    if len(strategy.entries) > ROUTE_ENTRIES_LIMIT:
        raise InvalidParameter(
            f"a route strategy has at most {ROUTE_ENTRIES_LIMIT} entries, got "
            f"{len(strategy.entries)}",
            field="entries",
        )
    for number, entry in enumerate(strategy.entries, start=1):
        pct = entry.percentage
        if not isinstance(pct, int) or isinstance(pct, bool) or not 0 <= pct <= 100:
            raise InvalidParameter(
                f"entry {number}: the percentage must be an integer in 0..100, got {pct!r}",
                field="percentage",
            )
        if entry.target_type not in ROUTE_TARGET_TYPES:
            raise InvalidParameter(
                f"entry {number}: the target type must be 'label' or 'worker', got "
                f"{entry.target_type!r}",
                field="target_type",
            )
        if not entry.targets or any(not t.strip() for t in entry.targets):
            what = "labels" if entry.target_type == "label" else "worker addresses"
            raise InvalidParameter(
                f"entry {number}: the target must be a non-empty list of {what}",
                field="target",
            )
    total = sum(entry.percentage for entry in strategy.entries)
    if total != 100:
        raise InvalidParameter(
            f"the percentages of the entries must sum to 100, got {total}", field="percentage"
        )


def refuse_past_one_time(job: Job, now: int) -> None:
    """An enabled one_time job whose time has passed would never fire: refused on create."""
    if job.time_type == TimeType.ONE_TIME and job.enabled and job.next_fire_time is not None:
        if job.next_fire_time < now:
            raise InvalidParameter(
                f"time_expression {job.time_expression!r} is in the past; a one_time job "
                "must fire in the future (use a run to start it now)",
                field="time_expression",
            )
