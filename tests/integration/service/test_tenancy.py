"""Rights decided in the services, for every face (issue: tenancy and hardening): a key that
was granted one app group reaches nothing else — not through listings, not through actions
that name other groups than the one checked, not through shared calendars or policies —
and the server's own worker runs only the groups an admin allowed on it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from runtime_support import final, shell_job, wait_for

from tickwork.domain.enums import InstanceStatus, Right
from tickwork.domain.errors import Forbidden, InstanceNotFound, JobNotFound
from tickwork.domain.models import CalendarMonth
from tickwork.domain.queries import InstanceFilter, JobFilter, LogQuery
from tickwork.server import Runtime
from tickwork.service.rights import SYSTEM, Caller
from tickwork.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, worker_wait_s=1.0)


async def two_teams(runtime: Runtime) -> None:
    """Namespace "team" with groups a and b (both allowed on the server), a job in each."""
    svc = runtime.services
    await svc.namespaces.create_namespace(SYSTEM, "team", namespace_id="team")
    for group in ("a", "b"):
        await svc.namespaces.create_group(SYSTEM, "team", group, run_on_server=True)
        await svc.jobs.create(
            SYSTEM,
            replace(shell_job("echo " + group, name=group), namespace="team", group_id=group),
        )


async def granted(runtime: Runtime, right: Right, group: str = "a") -> Caller:
    """A new key holding ``right`` on one group of "team"."""
    svc = runtime.services
    key = await svc.access.create_key(SYSTEM, f"holds-{right.wire}")
    await svc.permissions.grant(SYSTEM, key.key_id, "team", group, right=right)
    return await svc.access.caller_of(key)


async def test_group_listings_show_only_what_the_key_may_see(runtime: Runtime) -> None:
    await two_teams(runtime)
    svc = runtime.services
    reader = await granted(runtime, Right.READ)
    groups = await svc.namespaces.list_groups(reader, "team")
    assert [(g.group_id, g.app_key) for g in groups] == [("a", "")]  # no AppKey: not managed
    manager = await granted(runtime, Right.MANAGE)
    [managed] = await svc.namespaces.list_groups(manager, "team")
    assert managed.group_id == "a" and len(managed.app_key) >= 8
    assert (await svc.namespaces.get_group(reader, "team", "a")).app_key == ""
    with pytest.raises(Forbidden):
        await svc.namespaces.get_group(manager, "team", "b")
    with pytest.raises(Forbidden):
        await svc.namespaces.list_groups(manager, "default")


async def test_job_and_instance_listings_hold_only_the_keys_groups(runtime: Runtime) -> None:
    await two_teams(runtime)
    svc = runtime.services
    runner = await granted(runtime, Right.RUN)
    jobs = await svc.jobs.find(runner, JobFilter(namespace="team"))
    assert [j.group_id for j in jobs.items] == ["a"] and jobs.total == 1
    assert [j.group_id for j in (await svc.jobs.find(runner, JobFilter())).items] == ["a"]
    with pytest.raises(Forbidden):
        await svc.jobs.find(runner, JobFilter(namespace="team", group_id="b"))
    b_job = (await svc.jobs.find(SYSTEM, JobFilter(group_id="b"))).items[0]
    b_run, _ = await svc.jobs.trigger(SYSTEM, b_job.id)
    await wait_for(lambda: final(runtime, b_run.id))
    mine = await svc.instances.find(runner, InstanceFilter(namespace="team"))
    assert b_run.id not in [i.id for i in mine.items]
    with pytest.raises(InstanceNotFound):  # another group's instance: as if it did not exist
        await svc.instances.get(runner, b_run.id)
    with pytest.raises(JobNotFound):
        await svc.jobs.get(runner, b_job.id)
    with pytest.raises(JobNotFound):
        await svc.jobs.trigger(runner, b_job.id)


async def test_rights_levels_read_run_edit_manage(runtime: Runtime) -> None:
    await two_teams(runtime)
    svc = runtime.services
    job = (await svc.jobs.find(SYSTEM, JobFilter(group_id="a"))).items[0]
    reader = await granted(runtime, Right.READ)
    runner = await granted(runtime, Right.RUN)
    editor = await granted(runtime, Right.EDIT)
    assert (await svc.jobs.get(reader, job.id)).id == job.id
    with pytest.raises(Forbidden, match="needs 'run'"):
        await svc.jobs.trigger(reader, job.id)
    run, _ = await svc.jobs.trigger(runner, job.id)
    assert run.executor == runner.key_id
    done = await wait_for(lambda: final(runtime, run.id))
    assert done.status == InstanceStatus.SUCCESS
    # running a job does not imply changing its script
    with pytest.raises(Forbidden, match="needs 'edit'"):
        await svc.jobs.update(runner, job.id, {"content": "cat /etc/passwd"})
    with pytest.raises(Forbidden, match="needs 'edit'"):
        await svc.jobs.update_script(runner, job.id, "cat /etc/passwd")
    rerun = await svc.instances.rerun(runner, run.id)
    assert rerun.job_id == job.id
    with pytest.raises(Forbidden, match="needs 'run'"):
        await svc.instances.rerun(reader, run.id)
    await svc.jobs.update(editor, job.id, {"description": "changed"})
    # editing jobs is not managing the group: its AppKey and the group itself stay out of reach
    assert (await svc.namespaces.get_group(editor, "team", "a")).app_key == ""
    with pytest.raises(Forbidden, match="needs 'manage'"):
        await svc.namespaces.update_group(editor, "team", "a", description="x")
    with pytest.raises(Forbidden, match="needs 'manage'"):
        await svc.namespaces.create_group(editor, "team", "c")


async def test_copying_jobs_checks_the_groups_it_reads_and_writes(runtime: Runtime) -> None:
    await two_teams(runtime)
    svc = runtime.services
    editor = await granted(runtime, Right.EDIT)
    a_job = (await svc.jobs.find(SYSTEM, JobFilter(group_id="a"))).items[0]
    b_job = (await svc.jobs.find(SYSTEM, JobFilter(group_id="b"))).items[0]
    with pytest.raises(Forbidden):  # out of b
        await svc.jobs.copy_jobs(
            editor, [b_job.id], from_namespace="team", from_group="b", to_namespace="team",
            to_group="a",
        )  # fmt: skip
    with pytest.raises(Forbidden):  # into b
        await svc.jobs.copy_jobs(
            editor, [a_job.id], from_namespace="team", from_group="a", to_namespace="team",
            to_group="b",
        )  # fmt: skip
    assert (await svc.jobs.find(SYSTEM, JobFilter(namespace="team"))).total == 2  # none made
    copies = await svc.jobs.copy_jobs(
        editor, [a_job.id], from_namespace="team", from_group="a", to_namespace="team",
        to_group="a",
    )  # fmt: skip
    assert [c.group_id for c in copies] == ["a"]


async def test_shared_calendars_and_policies_are_not_a_groups_to_change(runtime: Runtime) -> None:
    await two_teams(runtime)
    svc = runtime.services
    in_default = await svc.access.create_key(SYSTEM, "default-group")
    await svc.permissions.grant(SYSTEM, in_default.key_id, "default", "default")
    manager = await svc.access.caller_of(in_default)  # manages the default group only
    may_day = [CalendarMonth(month=5, days=[1])]
    with pytest.raises(Forbidden, match="namespace 'default'"):
        await svc.namespaces.put_calendar(manager, "default", "holidays", 2031, may_day)
    with pytest.raises(Forbidden):
        await svc.namespaces.put_calendar(manager, "team", "holidays", 2031, may_day)
    await svc.namespaces.put_calendar(SYSTEM, "default", "holidays", 2031, may_day)
    # the default namespace's calendars are shared: every key reads them
    outsider = await granted(runtime, Right.READ)
    assert [c.name for c in await svc.namespaces.list_calendars(outsider, "default")] == [
        "holidays"
    ]
    await svc.policies.create(SYSTEM, "night", "", "quiet hours")
    for who in (manager, outsider):
        with pytest.raises(Forbidden, match="only an admin"):
            await svc.policies.find(who)
        with pytest.raises(Forbidden, match="only an admin"):
            await svc.policies.create(who, "mine")


async def test_only_admins_let_a_group_run_on_the_server(runtime: Runtime) -> None:
    svc = runtime.services
    await svc.namespaces.create_namespace(SYSTEM, "team", namespace_id="team")
    manager_key = await svc.access.create_key(SYSTEM, "ns-manager")
    await svc.permissions.grant(SYSTEM, manager_key.key_id, "team")  # manage all of "team"
    manager = await svc.access.caller_of(manager_key)
    with pytest.raises(Forbidden, match="server's own worker"):
        await svc.namespaces.create_group(manager, "team", "g", run_on_server=True)
    group = await svc.namespaces.create_group(manager, "team", "g")
    assert group.run_on_server is False and group.app_key
    with pytest.raises(Forbidden, match="server's own worker"):
        await svc.namespaces.update_group(manager, "team", "g", run_on_server=True)

    # a job the manager makes in its group does not run on the server's host
    job = await svc.jobs.create(
        manager, replace(shell_job("echo on-the-server"), namespace="team", group_id="g")
    )
    waiting, _ = await svc.jobs.trigger(manager, job.id)
    assert await svc.namespaces.workers(manager, "team", "g") == []
    failed = await wait_for(lambda: final(runtime, waiting.id))
    assert failed.status == InstanceStatus.FAILED and "no worker available" in failed.result
    assert "allowed on it" in failed.result
    lines, _ = await svc.instances.logs(manager, LogQuery(instance_id=waiting.id))
    assert "on-the-server" not in [line.line for line in lines]

    # an admin allows it: the same job now runs on the server's own worker
    await svc.namespaces.update_group(SYSTEM, "team", "g", run_on_server=True)
    assert [w.in_process for w in await svc.namespaces.workers(manager, "team", "g")] == [True]
    ran, _ = await svc.jobs.trigger(manager, job.id)
    done = await wait_for(lambda: final(runtime, ran.id))
    assert done.status == InstanceStatus.SUCCESS and done.result == "on-the-server"


async def test_the_default_group_runs_on_the_server_with_no_setup(runtime: Runtime) -> None:
    group = await runtime.services.namespaces.get_group(SYSTEM, "default", "default")
    assert group.run_on_server is True
    job = await runtime.services.jobs.create(SYSTEM, shell_job("echo here"))
    run, _ = await runtime.services.jobs.trigger(SYSTEM, job.id)
    done = await wait_for(lambda: final(runtime, run.id))
    assert done.status == InstanceStatus.SUCCESS and done.result == "here"


async def test_deleting_a_group_with_its_jobs_is_all_or_nothing(runtime: Runtime) -> None:
    await two_teams(runtime)
    svc = runtime.services
    editor = await granted(runtime, Right.EDIT)
    with pytest.raises(Forbidden, match="needs 'manage'"):
        await svc.jobs.delete_group_jobs(editor, "team", "a")
    assert (await svc.jobs.find(SYSTEM, JobFilter(namespace="team", group_id="a"))).total == 1
    manager = await granted(runtime, Right.MANAGE)
    assert await svc.jobs.delete_group_jobs(manager, "team", "a") == 1
    await svc.namespaces.delete_group(manager, "team", "a")
