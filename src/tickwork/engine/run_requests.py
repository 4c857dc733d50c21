"""What a worker is given for one attempt of a run: the ``RunRequest`` built from the run's
instance and the job version of the attempt. Built once per attempt and kept on the run, so
that the request a worker prepared ahead of the due instant is the very one it is then asked
to start (an in-process worker knows a prepared run by identity)."""

from __future__ import annotations

from tickwork.engine.routing import effective_designation
from tickwork.engine.run_state import Run
from tickwork.worker.abc import RunRequest

__all__ = ["request_for"]


def request_for(run: Run) -> RunRequest:
    """The current attempt's request (built on first need; ``Run.use_job`` and
    ``Run.next_attempt`` forget a stale one)."""
    if run.request is not None:
        return run.request
    instance, job = run.instance, run.job
    run.request = RunRequest(
        instance_id=instance.id,
        job_id=job.id,
        job_name=job.name,
        namespace=job.namespace,
        group_id=job.group_id,
        job_type=job.job_type,
        execute_mode=job.execute_mode,
        time_type=job.time_type,
        trigger_type=run.trigger_type,
        schedule_time=instance.schedule_time,
        data_time=instance.data_time if instance.data_time is not None else instance.schedule_time,
        attempt=run.attempt,
        max_attempt=job.max_attempt,
        content=job.content,
        class_name=job.class_name,
        job_parameters=job.parameters,
        instance_parameters=instance.instance_parameters,
        timeout=job.timeout if job.timeout > 0 else None,
        timezone=job.timezone,
        command=job.command,
        command_args=tuple(job.command_args),
        envs=tuple(job.envs.items()),
        designation=effective_designation(run.designation, job, run.route_draw),
    )
    return run.request
