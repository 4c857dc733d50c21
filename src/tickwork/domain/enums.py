"""Enums whose numbers and names are on the wire (SchedulerX 2019-04-30, see REFERENCE.md)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class JobType(StrEnum):
    """What a job runs. tickwork's own workers run shell, python (script or processor class),
    http, processor and command (``OWN_JOB_TYPES``). The others are SchedulerX's types for
    runtimes tickwork has not: they are stored and read back like any job, and a run goes
    only to a worker agent that says it runs that type (docs/workers.md)."""

    SHELL = "shell"
    PYTHON = "python"
    HTTP = "http"
    PROCESSOR = "processor"
    COMMAND = "command"
    JAVA = "java"
    GO = "go"
    XXLJOB = "xxljob"
    DATAWORKS = "dataworks"
    K8S = "k8s"
    SPRINGSCHEDULE = "springschedule"

    @classmethod
    def parse(cls, value: str) -> JobType:
        """A job type by name, any case; ``golang`` (a spelling of SchedulerX's documents)
        is ``go``."""
        name = value.strip().lower()
        return cls(_JOB_TYPE_SYNONYMS.get(name, name))

    @property
    def is_own(self) -> bool:
        """Whether tickwork's own workers (in-process and ``tickwork worker``) run it."""
        return self in OWN_JOB_TYPES


_JOB_TYPE_SYNONYMS = {"golang": "go"}

OWN_JOB_TYPES = frozenset(
    {JobType.SHELL, JobType.PYTHON, JobType.HTTP, JobType.PROCESSOR, JobType.COMMAND}
)


class ExecuteMode(StrEnum):
    STANDALONE = "standalone"
    BROADCAST = "broadcast"
    PARALLEL = "parallel"
    GRID = "grid"
    BATCH = "batch"
    SHARDING = "sharding"


class Right(IntEnum):
    """What an access key may do on an app group (or every group of a namespace); each
    right includes the ones below it. Stored as its number; named by ``wire``."""

    READ = 1  # see the group, its jobs, instances, logs, workers; the namespace's calendars
    RUN = 2  # start runs (trigger, backfill), stop, rerun, retry, set an instance's success
    EDIT = 3  # create, change, enable, disable, delete jobs (scripts, designation, routes)
    MANAGE = 4  # the group itself (its AppKey, change, delete); namespace-wide: new groups

    @property
    def wire(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Right:
        """A right by its name (``read``, ``run``, ``edit``, ``manage``)."""
        try:
            return cls[value.strip().upper()]
        except KeyError:
            names = ", ".join(r.wire for r in cls)
            raise ValueError(f"{value!r} is not a right; one of: {names}") from None


class TimeType(IntEnum):
    CRON = 1
    FIXED_RATE = 3
    SECOND_DELAY = 4
    ONE_TIME = 5
    API = 100
    # SchedulerX's "none" (-1): no schedule of its own, like API; e.g. a job a workflow runs
    NONE = -1


# Time types that never fire by themselves: such jobs run only when triggered.
TRIGGERED_ONLY = frozenset({TimeType.API, TimeType.NONE})


class InstanceStatus(IntEnum):
    UNKNOWN = 0
    WAITING = 1
    READY = 2
    RUNNING = 3
    SUCCESS = 4
    FAILED = 5
    KILLED = 6
    PAUSED = 7
    SUBMITTED = 8
    REJECTED = 9
    ACCEPTED = 10
    PARTIAL_FAILED = 11
    SKIPPED = 12
    REMOVED = 99

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {
        InstanceStatus.SUCCESS,
        InstanceStatus.FAILED,
        InstanceStatus.KILLED,
        InstanceStatus.REJECTED,
        InstanceStatus.PARTIAL_FAILED,
        InstanceStatus.SKIPPED,
        InstanceStatus.REMOVED,
    }
)

# Statuses of an instance that holds a place under MaxConcurrency.
ACTIVE_STATUSES = frozenset(
    {
        InstanceStatus.READY,
        InstanceStatus.RUNNING,
        InstanceStatus.SUBMITTED,
        InstanceStatus.ACCEPTED,
    }
)


class TriggerType(IntEnum):
    SCHEDULED = 1
    BACKFILL = 2
    API = 3
    MANUAL_RERUN = 4
    SYSTEM_RETRY = 5


class JobStatus(IntEnum):
    DISABLED = 0
    ENABLED = 1


class MisfirePolicy(StrEnum):
    """What to do with fires missed while no server ran (later than the misfire threshold)."""

    FIRE_ONCE = "fire_once"
    SKIP = "skip"
