"""The rules a job must satisfy before it is stored. Every API gets them from here."""

from __future__ import annotations

from tickwork.domain.enums import ExecuteMode, JobType, TimeType
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.limits import INT32_MAX, INT32_MIN
from tickwork.domain.models import Job
from tickwork.domain.sharding import parse_shards
from tickwork.engine.modes import MAP_MODES, is_processor
from tickwork.timing import parse_timezone, validate_time
from tickwork.worker.executors.http import parse_http_attribute
from tickwork.worker.executors.processor import validate_class_name

NAME_LIMIT = 200
CONTENT_LIMIT = 1_000_000
RESULT_LIMIT = 1000


def _at_least(job: Job, name: str, minimum: int, maximum: int = INT32_MAX) -> None:
    """``maximum`` defaults to what the field's column holds (32 bits)."""
    value = getattr(job, name)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidParameter(f"{name} must be an integer >= {minimum}, got {value!r}", field=name)
    if value > maximum:
        raise InvalidParameter(f"{name} must be <= {maximum}, got {value}", field=name)


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
    parse_timezone(job.timezone)
    validate_time(job.time_type, job.time_expression, job.timezone)
    if job.calendar and job.time_type != TimeType.CRON:
        raise InvalidParameter("calendar applies to cron jobs only", field="calendar")
    if job.start_time is not None and job.end_time is not None and (job.end_time <= job.start_time):
        raise InvalidParameter("end_time must be after start_time", field="end_time")
    _at_least(job, "max_concurrency", 1, 10_000)
    _at_least(job, "max_attempt", 0, 1000)
    _at_least(job, "attempt_interval", 0, 86_400 * 7)
    _at_least(job, "timeout", 0)
    _at_least(job, "fail_times", 1)
    _at_least(job, "page_size", 1)
    _at_least(job, "consumer_size", 1)
    _at_least(job, "queue_size", 1)
    _at_least(job, "dispatcher_size", 1)
    _at_least(job, "task_max_attempt", 0)
    _at_least(job, "task_attempt_interval", 0)
    _at_least(job, "replicas", 1, 1000)
    if not isinstance(job.data_offset, int) or isinstance(job.data_offset, bool):
        raise InvalidParameter(
            "data_offset must be an integer number of seconds", field="data_offset"
        )
    if not INT32_MIN <= job.data_offset <= INT32_MAX:
        raise InvalidParameter(
            f"data_offset must be within {INT32_MIN}..{INT32_MAX} seconds", field="data_offset"
        )
    if job.history_limit is not None:
        _at_least(job, "history_limit", 1)


def _validate_mode(job: Job) -> None:
    mode = job.execute_mode
    if mode in MAP_MODES and not is_processor(job):
        raise InvalidParameter(
            f"execute_mode {mode.value!r} (map-reduce) needs a processor job: job_type "
            "'processor' (or 'python' with class_name) naming a MapProcessor or "
            "MapReduceProcessor",
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
