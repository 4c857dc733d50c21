"""``tickwork job ...``: create, inspect, change and run jobs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tickwork.cli.common import JsonOption, open_client, out, print_json
from tickwork.cli.render import detail_table, job_table
from tickwork.domain.enums import ExecuteMode, JobType

job_app = typer.Typer(help="Create, inspect, change and run jobs.", no_args_is_help=True)

JobId = Annotated[int, typer.Argument(help="Job id.", metavar="ID", min=1)]

# Options shared by `create` and `update` (all optional in `update`).
Content = Annotated[
    str | None, typer.Option("--content", help="Script, HTTP attribute JSON or command.")
]
ClassName = Annotated[
    str | None, typer.Option("--class-name", metavar="PATH", help="Processor: module:Class.")
]
Cron = Annotated[
    str | None, typer.Option("--cron", metavar="EXPR", help="Quartz cron, seconds first.")
]
FixedRate = Annotated[
    int | None, typer.Option("--fixed-rate", metavar="SECONDS", min=1, help="Every N seconds.")
]
SecondDelay = Annotated[
    int | None,
    typer.Option(
        "--second-delay", metavar="SECONDS", min=1, help="N seconds after the last run ends."
    ),
]
OneTime = Annotated[
    str | None,
    typer.Option(
        "--one-time",
        metavar="DATETIME",
        help="Once, at 'yyyy-MM-dd HH:mm:ss' in the job's time zone, or epoch ms.",
    ),
]
Api = Annotated[bool, typer.Option("--api", help="Only when triggered (job run, API).")]
Timezone = Annotated[
    str | None, typer.Option("--timezone", metavar="TZ", help="IANA name or GMT+8.")
]
Namespace = Annotated[str | None, typer.Option("--namespace", metavar="NS")]
Group = Annotated[str | None, typer.Option("--group", metavar="G", help="App group id.")]
Description = Annotated[str | None, typer.Option("--description")]
Parameters = Annotated[str | None, typer.Option("--parameters", help="Job parameters.")]
MaxConcurrency = Annotated[int | None, typer.Option("--max-concurrency", min=1)]
MaxAttempt = Annotated[int | None, typer.Option("--max-attempt", min=0, help="Retries.")]
AttemptInterval = Annotated[
    int | None, typer.Option("--attempt-interval", metavar="SECONDS", min=0)
]
Timeout = Annotated[int | None, typer.Option("--timeout", metavar="SECONDS", min=1)]
TimeoutKill = Annotated[
    bool | None,
    typer.Option("--timeout-kill/--no-timeout-kill", help="Kill a run longer than --timeout."),
]
DataOffset = Annotated[int | None, typer.Option("--data-offset", metavar="SECONDS")]
CalendarName = Annotated[str | None, typer.Option("--calendar", metavar="NAME")]
Disabled = Annotated[bool | None, typer.Option("--disabled/--enabled", help="Job status.")]
Mode = Annotated[
    ExecuteMode | None,
    typer.Option("--mode", help="Execute mode: one worker, every worker, shards, map-reduce."),
]
ConsumerSize = Annotated[
    int | None,
    typer.Option("--consumer-size", min=1, help="Shards/subtasks run at once per worker."),
]
TaskMaxAttempt = Annotated[
    int | None, typer.Option("--task-max-attempt", min=0, help="Retries of each shard/subtask.")
]
TaskAttemptInterval = Annotated[
    int | None, typer.Option("--task-attempt-interval", metavar="SECONDS", min=0)
]


class UsageProblem(Exception):
    """Options that do not go together; the command reports it as a usage error."""


TIME_OPTIONS = ("--cron", "--fixed-rate", "--second-delay", "--one-time", "--api")


def time_fields(
    cron: str | None,
    fixed_rate: int | None,
    second_delay: int | None,
    one_time: str | None,
    api: bool,
    *,
    required: bool,
) -> dict[str, str]:
    """``time_type`` and ``time_expression`` from the one time option given."""
    given: list[tuple[str, str, str]] = []
    if cron is not None:
        given.append(("--cron", "cron", cron))
    if fixed_rate is not None:
        given.append(("--fixed-rate", "fixed_rate", str(fixed_rate)))
    if second_delay is not None:
        given.append(("--second-delay", "second_delay", str(second_delay)))
    if one_time is not None:
        given.append(("--one-time", "one_time", one_time))
    if api:
        given.append(("--api", "api", ""))
    if len(given) > 1:
        names = " and ".join(flag for flag, _, _ in given)
        raise UsageProblem(f"{names} cannot be used together; give exactly one time option")
    if not given:
        if required:
            raise UsageProblem("a job needs exactly one time option: " + ", ".join(TIME_OPTIONS))
        return {}
    _, time_type, expression = given[0]
    return {"time_type": time_type, "time_expression": expression}


def job_fields(**options: Any) -> dict[str, Any]:
    """The job body fields of the options that were given (None: not given)."""
    names = {
        "name": "name",
        "job_type": "job_type",
        "content": "content",
        "class_name": "class_name",
        "timezone": "timezone",
        "namespace": "namespace",
        "group": "group_id",
        "description": "description",
        "parameters": "parameters",
        "max_concurrency": "max_concurrency",
        "max_attempt": "max_attempt",
        "attempt_interval": "attempt_interval",
        "timeout": "timeout",
        "timeout_kill": "timeout_kill_enable",
        "data_offset": "data_offset",
        "calendar": "calendar",
        "mode": "execute_mode",
        "consumer_size": "consumer_size",
        "task_max_attempt": "task_max_attempt",
        "task_attempt_interval": "task_attempt_interval",
    }
    body = {names[k]: v for k, v in options.items() if k in names and v is not None}
    for name in ("job_type", "execute_mode"):
        if isinstance(body.get(name), JobType | ExecuteMode):
            body[name] = body[name].value
    disabled = options.get("disabled")
    if disabled is not None:
        body["status"] = "disabled" if disabled else "enabled"
    return body


@job_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Job name.")],
    job_type: Annotated[JobType, typer.Option("--type", help="What the job runs.")],
    content: Content = None,
    class_name: ClassName = None,
    cron: Cron = None,
    fixed_rate: FixedRate = None,
    second_delay: SecondDelay = None,
    one_time: OneTime = None,
    api: Api = False,
    timezone: Timezone = None,
    namespace: Namespace = None,
    group: Group = None,
    description: Description = None,
    parameters: Parameters = None,
    max_concurrency: MaxConcurrency = None,
    max_attempt: MaxAttempt = None,
    attempt_interval: AttemptInterval = None,
    timeout: Timeout = None,
    timeout_kill: TimeoutKill = None,
    data_offset: DataOffset = None,
    calendar: CalendarName = None,
    disabled: Disabled = None,
    mode: Mode = None,
    consumer_size: ConsumerSize = None,
    task_max_attempt: TaskMaxAttempt = None,
    task_attempt_interval: TaskAttemptInterval = None,
    as_json: JsonOption = False,
) -> None:
    """Create a job; print its id."""
    body = job_fields(**locals())
    try:
        body.update(time_fields(cron, fixed_rate, second_delay, one_time, api, required=True))
    except UsageProblem as problem:
        ctx.fail(str(problem))
    with open_client() as client:
        job = client.create_job(body)
    if as_json:
        print_json(job)
    else:
        typer.echo(job.get("id"))


@job_app.command("update")
def update(
    ctx: typer.Context,
    job_id: JobId,
    name: Annotated[str | None, typer.Option("--name", help="Job name.")] = None,
    job_type: Annotated[JobType | None, typer.Option("--type", help="What the job runs.")] = None,
    content: Content = None,
    class_name: ClassName = None,
    cron: Cron = None,
    fixed_rate: FixedRate = None,
    second_delay: SecondDelay = None,
    one_time: OneTime = None,
    api: Api = False,
    timezone: Timezone = None,
    description: Description = None,
    parameters: Parameters = None,
    max_concurrency: MaxConcurrency = None,
    max_attempt: MaxAttempt = None,
    attempt_interval: AttemptInterval = None,
    timeout: Timeout = None,
    timeout_kill: TimeoutKill = None,
    data_offset: DataOffset = None,
    calendar: CalendarName = None,
    disabled: Disabled = None,
    mode: Mode = None,
    consumer_size: ConsumerSize = None,
    task_max_attempt: TaskMaxAttempt = None,
    task_attempt_interval: TaskAttemptInterval = None,
    as_json: JsonOption = False,
) -> None:
    """Change the given fields of a job."""
    body = job_fields(**locals())
    try:
        body.update(time_fields(cron, fixed_rate, second_delay, one_time, api, required=False))
    except UsageProblem as problem:
        ctx.fail(str(problem))
    if not body:
        ctx.fail("nothing to change; give at least one option")
    with open_client() as client:
        job = client.update_job(job_id, body)
    if as_json:
        print_json(job)
    else:
        typer.echo(f"job {job.get('id', job_id)} updated")


@job_app.command("list")
def list_jobs(
    namespace: Namespace = None,
    group: Group = None,
    name: Annotated[str | None, typer.Option("--name", help="Jobs with this name.")] = None,
    page: Annotated[int | None, typer.Option("--page", min=1)] = None,
    page_size: Annotated[int | None, typer.Option("--page-size", min=1)] = None,
    as_json: JsonOption = False,
) -> None:
    """List jobs."""
    with open_client() as client:
        result = client.list_jobs(
            namespace=namespace, group_id=group, name=name, page=page, page_size=page_size
        )
    if as_json:
        print_json(result)
    else:
        out().print(job_table(result))


@job_app.command("get")
def get(job_id: JobId, as_json: JsonOption = False) -> None:
    """Show one job, with its next fire time."""
    with open_client() as client:
        job = client.get_job(job_id)
    if as_json:
        print_json(job)
    else:
        out().print(detail_table(job))


@job_app.command("delete")
def delete(
    job_id: JobId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a job with its instances and logs."""
    if not yes:
        typer.confirm(f"Delete job {job_id} with its instances and logs?", abort=True)
    with open_client() as client:
        client.delete_job(job_id)
    typer.echo(f"job {job_id} deleted")


@job_app.command("enable")
def enable(job_id: JobId, as_json: JsonOption = False) -> None:
    """Enable a job: it fires on its schedule again."""
    with open_client() as client:
        job = client.enable_job(job_id)
    _print_status(job, job_id, as_json)


@job_app.command("disable")
def disable(job_id: JobId, as_json: JsonOption = False) -> None:
    """Disable a job: it no longer fires on its schedule."""
    with open_client() as client:
        job = client.disable_job(job_id)
    _print_status(job, job_id, as_json)


@job_app.command("run")
def run(
    job_id: JobId,
    params: Annotated[
        str | None, typer.Option("--params", help="Instance parameters for this run.")
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option("--idempotency-key", metavar="K", help="A key seen before runs nothing new."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a job now; print the instance id."""
    with open_client() as client:
        instance = client.run_job(
            job_id, instance_parameters=params, idempotency_key=idempotency_key
        )
    if as_json:
        print_json(instance)
    else:
        typer.echo(instance.get("id"))


def _print_status(job: dict[str, Any], job_id: int, as_json: bool) -> None:
    if as_json:
        print_json(job)
    else:
        typer.echo(f"job {job.get('id', job_id)} {job.get('status', '')}".rstrip())
