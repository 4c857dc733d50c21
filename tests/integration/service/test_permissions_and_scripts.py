"""Service rules: rights of access keys, script versions, notification policies."""

from __future__ import annotations

import pytest
from runtime_support import shell_job

from tickwork.domain.enums import JobType
from tickwork.domain.errors import Forbidden, InvalidParameter, NotFound
from tickwork.server import Runtime


async def test_rights_follow_grants_and_grant_options(runtime: Runtime) -> None:
    svc = runtime.services
    admin = await svc.access.find("test-admin")
    assert admin is not None and admin.is_admin
    await svc.namespaces.create_namespace("team", namespace_id="team")
    await svc.namespaces.create_group("team", "g1")
    alice = await svc.access.create_key("alice")
    bob = await svc.access.create_key("bob")

    assert await svc.permissions.allowed(admin, "team", "g1")
    assert not await svc.permissions.allowed(alice, "team", "g1")
    with pytest.raises(Forbidden, match="no permission on app group 'g1'"):
        await svc.permissions.require(alice, "team", "g1")

    await svc.permissions.grant(admin, alice.key_id, "team", "g1", grant_option=True)
    assert await svc.permissions.allowed(alice, "team", "g1")
    assert not await svc.permissions.allowed(alice, "team", "g2")
    assert not await svc.permissions.allowed(alice, "default", "default")
    assert await svc.permissions.visible_namespaces(alice) == {"team"}
    assert await svc.permissions.visible_namespaces(admin) is None

    # alice may pass on what she holds with the grant option, and nothing else
    await svc.permissions.grant(alice, bob.key_id, "team", "g1")
    assert await svc.permissions.allowed(bob, "team", "g1")
    with pytest.raises(Forbidden):
        await svc.permissions.grant(alice, bob.key_id, "default", "default")
    with pytest.raises(Forbidden):
        await svc.permissions.grant(bob, alice.key_id, "team", "g1")  # no grant option

    assert await svc.permissions.revoke(admin, bob.key_id, "team", "g1") is True
    assert not await svc.permissions.allowed(bob, "team", "g1")

    await svc.permissions.grant(admin, bob.key_id, "team")  # the whole namespace
    assert await svc.permissions.allowed(bob, "team", "any-group")


async def test_script_updates_keep_a_history(runtime: Runtime) -> None:
    svc = runtime.services
    job = await svc.jobs.create(shell_job("echo 1"))
    await svc.jobs.update_script(job.id, "echo 2", description="second", creator="me")
    await svc.jobs.update_script(job.id, "echo 3")
    assert (await svc.jobs.get(job.id)).content == "echo 3"
    history = await svc.jobs.script_history(job.id)
    assert [(v.content, v.description) for v in history] == [("echo 3", ""), ("echo 2", "second")]
    with pytest.raises(InvalidParameter):
        await svc.jobs.update_script(job.id, "")  # an empty script is refused, nothing kept
    assert len(await svc.jobs.script_history(job.id)) == 2

    http = shell_job('{"url": "http://127.0.0.1:1/", "method": "GET"}', name="web")
    http.job_type = JobType.HTTP
    web = await svc.jobs.create(http)
    with pytest.raises(InvalidParameter, match="not a script"):
        await svc.jobs.update_script(web.id, "echo no")


async def test_notification_policies_are_stored(runtime: Runtime) -> None:
    svc = runtime.services
    await svc.policies.create("night", '{"sms": [{"startTime": "00:00"}]}', "quiet hours")
    with pytest.raises(InvalidParameter, match="channel_time_range must be JSON"):
        await svc.policies.create("broken", "{nope")
    updated = await svc.policies.update("night", description="changed")
    assert updated.description == "changed" and updated.channel_time_range.startswith("{")
    assert [p.name for p in await svc.policies.find("nig")] == ["night"]
    await svc.policies.delete("night")
    with pytest.raises(NotFound):
        await svc.policies.get("night")
