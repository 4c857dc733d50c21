"""What a listing asks for: the filters and pages of jobs and instances, and a query of a
run's log lines. Values every layer passes down (the faces build them, the services narrow
them to the caller's rights, the store answers them), so they live below all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tickwork.domain.enums import InstanceStatus, TriggerType

__all__ = ["InstanceFilter", "JobFilter", "LogQuery"]


@dataclass(slots=True)
class JobFilter:
    namespace: str | None = None
    group_id: str | None = None
    name_contains: str | None = None
    status: int | None = None
    page: int = 1  # from 1
    page_size: int = 50
    # only jobs of these (namespace, group_id); group_id "": the whole namespace; None: any
    scopes: Sequence[tuple[str, str]] | None = None


@dataclass(slots=True)
class InstanceFilter:
    namespace: str | None = None
    group_id: str | None = None
    job_id: int | None = None
    statuses: Sequence[InstanceStatus] | None = None
    trigger_types: Sequence[TriggerType] | None = None
    schedule_from: int | None = None  # schedule_time >= this
    schedule_to: int | None = None  # schedule_time < this
    page: int = 1  # from 1
    page_size: int = 50
    # only instances of these (namespace, group_id); group_id "": the whole namespace
    scopes: Sequence[tuple[str, str]] | None = None
    # newest first (by id) unless False


@dataclass(slots=True)
class LogQuery:
    instance_id: int
    offset: int = 0  # lines to skip (in the chosen order)
    limit: int = 200
    keyword: str | None = None  # only lines containing it (case-sensitive)
    reverse: bool = False  # newest line first
