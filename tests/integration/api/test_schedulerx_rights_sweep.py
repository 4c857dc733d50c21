"""Every SchedulerX action, called by a key that manages app group team/a with parameters
that point at team/b (the group, its job, its instance, its calendars): none of them reads or
changes anything of team/b. A new action registered without going through the services'
rights fails here."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from runtime_support import final, shell_job, wait_for

from tickwork.api.schedulerx import actions  # noqa: F401  (registers the actions)
from tickwork.api.schedulerx.params import Params
from tickwork.api.schedulerx.registry import ACTIONS, Call
from tickwork.domain.enums import Right
from tickwork.domain.errors import Forbidden, NotFound, TickworkError
from tickwork.domain.models import CalendarMonth
from tickwork.domain.queries import JobFilter
from tickwork.server import Runtime
from tickwork.service.rights import SYSTEM, Caller

# What a call may answer without touching team/b: these hold only what the key may see (the
# calendars are team's, a namespace the key holds a right in).
LISTINGS = {"DescribeRegions", "ListNamespaces", "ListGroups", "ReadSchedulerxCalendar"}
# Not written yet: they answer "not supported" whoever calls.
LATER = {
    "CreateWorkflow", "UpdateWorkflow", "UpdateWorkflowDag", "GetWorkFlow", "ListWorkFlows",
    "EnableWorkflow", "DisableWorkflow", "DeleteWorkflow", "ExecuteWorkflow",
    "GetWorkflowInstance", "ListWorkflowInstance", "SetWfInstanceSuccess",
}  # fmt: skip


async def fixture_world(runtime: Runtime) -> tuple[Caller, dict[str, Any], dict[str, str]]:
    """team/a (the key manages it) and team/b (it holds nothing there), each with a job and a
    finished run; team's calendar. Returns the caller, b's ids and the parameters."""
    svc = runtime.services
    await svc.namespaces.create_namespace(SYSTEM, "team", namespace_id="team")
    ids: dict[str, Any] = {}
    for group in ("a", "b"):
        await svc.namespaces.create_group(SYSTEM, "team", group, run_on_server=True)
        job = replace(shell_job("echo hi", name=f"job-{group}"), namespace="team", group_id=group)
        job = await svc.jobs.create(SYSTEM, job)
        run, _ = await svc.jobs.trigger(SYSTEM, job.id)
        await wait_for(lambda run=run: final(runtime, run.id))
        ids[group] = (job.id, run.id)
    await svc.namespaces.put_calendar(
        SYSTEM, "team", "holidays", 2031, [CalendarMonth(month=5, days=[1])]
    )
    key = await svc.access.create_key(SYSTEM, "a-manager")
    other = await svc.access.create_key(SYSTEM, "someone")
    await svc.permissions.grant(SYSTEM, key.key_id, "team", "a", grant_option=True)
    caller = await svc.access.caller_of(key)
    b_job, b_run = ids["b"]
    params = {
        "Namespace": "team", "GroupId": "b", "RegionId": "cn-hangzhou",
        "JobId": str(b_job), "JobIdList": json.dumps([b_job]), "JobInstanceId": str(b_run),
        "InstanceId": str(b_run), "JobName": "job-b",
        "OriginalNamespace": "team", "OriginalGroupId": "b",
        "TargetNamespace": "team", "TargetGroupId": "a",
        "UserId": other.key_id, "UserName": "someone", "GrantOption": "true",
        "Name": "planted", "JobType": "shell", "TimeType": "100", "Content": "echo planted",
        "ScriptContent": "echo planted", "AppName": "planted", "Description": "planted",
        "CalendarName": "holidays", "Year": "2031",
        "MonthDaysContent": '[{"month": 6, "days": [1]}]',
        "PolicyName": "night", "ChannelTimeRange": "{}",
        "DesignateType": "1", "Workers": json.dumps(["w:1"]), "Labels": json.dumps(["x"]),
        "Worker": "w:1", "Label": "x", "StartDate": "1893456000000", "EndDate": "1893456000000",
        "DataTime": "10:00:00", "Type": "3", "Status": "1",
        "StrategyContent": '[{"percentage": 100, "target": ["x"], "targetType": "label"}]',
        "Uid": "team", "NamespaceName": "planted",
    }  # fmt: skip
    return caller, {"job": b_job, "run": b_run}, params


def b_state(runtime: Runtime) -> Any:
    """What team/b holds, to compare before and after."""

    async def read() -> Any:
        svc = runtime.services
        jobs = await svc.jobs.find(SYSTEM, JobFilter(namespace="team", group_id="b"))
        group = await svc.namespaces.get_group(SYSTEM, "team", "b")
        calendars = await svc.namespaces.list_calendars(SYSTEM, "team")
        return (
            [
                (j.id, j.name, j.content, j.status, j.designation, j.route_strategy)
                for j in jobs.items
            ],
            (group.app_name, group.description, group.app_key),
            [(c.name, c.year, [(m.month, m.days) for m in c.months]) for c in calendars],
        )

    return read()


async def test_no_action_reaches_a_group_the_key_holds_no_right_on(runtime: Runtime) -> None:
    caller, b, params = await fixture_world(runtime)
    assert caller.right_on("team", "a") == Right.MANAGE
    before = await b_state(runtime)
    b_app_key = before[1][2]
    problems: list[str] = []
    for action in sorted(set(ACTIONS) - LATER):
        call = Call(action, Params.of(params), caller, runtime.services, "request-id")
        try:
            answer = await ACTIONS[action](call)
        except (Forbidden, NotFound):
            pass
        except TickworkError as other:
            problems.append(f"{action} answered {other.code}: {other.message} (not a refusal)")
        else:
            text = json.dumps(answer)
            if action not in LISTINGS:
                problems.append(f"{action} succeeded on team/b: {text[:200]}")
            elif b_app_key in text or '"GroupId": "b"' in text:
                problems.append(f"{action} showed team/b: {text[:200]}")
        if await b_state(runtime) != before:
            problems.append(f"{action} changed team/b")
            before = await b_state(runtime)
    assert problems == []
    run = await runtime.services.instances.get(SYSTEM, b["run"])
    assert run.attempt == 0 and run.executor == SYSTEM.key_id
