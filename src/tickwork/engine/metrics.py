"""Prometheus metrics of one engine (a registry of its own, so tests can run many)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from tickwork.domain.enums import InstanceStatus

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series (noise)

LATENESS_BUCKETS = (
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    60.0,
)


class EngineMetrics:
    """Fires, their lateness, rejected/skipped/late fires, runs and instances by status."""

    def __init__(self, late_threshold_s: float = 1.0) -> None:
        self.registry = CollectorRegistry()
        self.late_threshold_s = late_threshold_s
        self.fires = Counter(
            "tickwork_fires",
            "Instances started, by trigger type.",
            ["trigger_type"],
            registry=self.registry,
        )
        self.lateness = Histogram(
            "tickwork_fire_lateness_seconds",
            "Scheduled fires: from the due instant to the hand-over to the worker.",
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.late = Counter(
            "tickwork_fires_late",
            f"Scheduled fires released more than {late_threshold_s:g} s after their due instant.",
            registry=self.registry,
        )
        self.rejected = Counter(
            "tickwork_fires_rejected",
            "Scheduled fires not started because MaxConcurrency runs were still going.",
            registry=self.registry,
        )
        self.skipped = Counter(
            "tickwork_fires_skipped",
            "Fires missed while no server ran and skipped by the misfire policy.",
            registry=self.registry,
        )
        self.misfired = Counter(
            "tickwork_fires_misfired",
            "Fires released later than the misfire threshold (fired once, late).",
            registry=self.registry,
        )
        self.finished = Counter(
            "tickwork_runs_finished",
            "Runs (attempts) finished, by outcome.",
            ["status"],
            registry=self.registry,
        )
        self.timeouts = Counter(
            "tickwork_runs_timed_out",
            "Runs that went past their job's Timeout.",
            registry=self.registry,
        )
        self.retries = Counter(
            "tickwork_runs_retried",
            "Failed attempts retried (MaxAttempt).",
            registry=self.registry,
        )
        self.no_worker = Counter(
            "tickwork_runs_no_worker",
            "Runs that failed because no live worker of their app group came in time.",
            registry=self.registry,
        )
        self.tasks = Counter(
            "tickwork_tasks_finished",
            "Tasks of distributed runs (broadcast parts, shards, subtasks, pre/post/reduce) "
            "that ended, by status.",
            ["status"],
            registry=self.registry,
        )
        self.task_retries = Counter(
            "tickwork_task_retries",
            "Failed shards and subtasks run again (TaskMaxAttempt).",
            registry=self.registry,
        )
        self.log_lines_dropped = Counter(
            "tickwork_log_lines_dropped",
            "Log lines of runs not stored: past an attempt's cap (reason cap), or reported "
            "for an attempt that had ended (reason ended).",
            ["reason"],
            registry=self.registry,
        )
        self.instances = Gauge(
            "tickwork_instances",
            "Stored instances by status.",
            ["status"],
            registry=self.registry,
        )
        self.running = Gauge("tickwork_runs_running", "Runs going on now.", registry=self.registry)
        self.planned = Gauge(
            "tickwork_fires_planned",
            "Fires claimed ahead and waiting for their due instant.",
            registry=self.registry,
        )
        self.schedule_errors = Counter(
            "tickwork_schedule_errors",
            "Jobs this server found it could not compute the fires of: each was marked with "
            "the reason and is not planned until it is changed.",
            registry=self.registry,
        )
        self.jobs_with_schedule_error = Gauge(
            "tickwork_jobs_with_schedule_error",
            "Jobs marked with a schedule error now (by any server): they do not fire.",
            registry=self.registry,
        )

    def observe_release(self, lateness_ms: int) -> None:
        seconds = max(lateness_ms, 0) / 1000.0
        self.lateness.observe(seconds)
        if seconds > self.late_threshold_s:
            self.late.inc()

    def set_instance_counts(self, counts: dict[InstanceStatus, int]) -> None:
        for status in InstanceStatus:
            self.instances.labels(status=status.name.lower()).set(counts.get(status, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
