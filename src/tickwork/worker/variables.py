"""Script variables: ``#{schedulerx.name}`` (or ``#{tickwork.name}``) and their environment twins.

Each variable ``camelName`` is substituted in a script's content and also passed to the process
as ``TICKWORK_CAMEL_NAME`` and ``SCHEDULERX_CAMEL_NAME``. Times are formatted
``yyyy-MM-dd HH:mm:ss`` in the job's time zone (UTC when it has none). Unknown
``#{...}`` are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo

from tickwork.domain.errors import InvalidParameter
from tickwork.timing import parse_timezone
from tickwork.worker.abc import RunRequest

__all__ = [
    "ENV_PREFIXES",
    "TIME_FORMAT",
    "env_name",
    "format_time",
    "script_variables",
    "substitute",
    "variable_env",
]

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ENV_PREFIXES = ("TICKWORK_", "SCHEDULERX_")

_PATTERN = re.compile(r"#\{(?:schedulerx|tickwork)\.([A-Za-z][A-Za-z0-9_]*)\}")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def format_time(epoch_ms: int, zone: tzinfo = UTC) -> str:
    """``yyyy-MM-dd HH:mm:ss`` of an epoch-ms instant in ``zone`` (UTC by default)."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=zone).strftime(TIME_FORMAT)


def job_zone(request: RunRequest) -> tzinfo:
    """The job's time zone (UTC when it names none or one that no longer parses)."""
    try:
        return parse_timezone(request.timezone)
    except InvalidParameter:
        return UTC


def script_variables(request: RunRequest, zone: tzinfo | None = None) -> dict[str, str]:
    """The variables of one run, by their camelCase name; times in the job's time zone."""
    zone = job_zone(request) if zone is None else zone
    return {
        "jobId": str(request.job_id),
        "jobName": request.job_name,
        "jobInstanceId": str(request.instance_id),
        "namespace": request.namespace,
        "groupId": request.group_id,
        "jobParameters": request.job_parameters,
        "instanceParameters": request.instance_parameters,
        "shardingId": str(request.sharding_id),
        "shardingNum": str(request.sharding_num),
        "shardingParameter": request.sharding_parameter,
        "attempt": str(request.attempt),
        "maxAttempt": str(request.max_attempt),
        "triggerType": str(int(request.trigger_type)),
        "scheduleTime": format_time(request.schedule_time, zone),
        "dataTime": format_time(request.data_time, zone),
    }


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """Replace known ``#{schedulerx.x}`` / ``#{tickwork.x}``; leave the others alone."""

    def replace(match: re.Match[str]) -> str:
        value = variables.get(match.group(1))
        return match.group(0) if value is None else value

    return _PATTERN.sub(replace, text)


def env_name(name: str, prefix: str = "TICKWORK_") -> str:
    """``jobInstanceId`` → ``TICKWORK_JOB_INSTANCE_ID``."""
    return prefix + _CAMEL_BOUNDARY.sub("_", name).upper()


def variable_env(variables: Mapping[str, str]) -> dict[str, str]:
    """The environment twins of the variables, under both prefixes."""
    return {
        env_name(name, prefix): value
        for name, value in variables.items()
        for prefix in ENV_PREFIXES
    }
