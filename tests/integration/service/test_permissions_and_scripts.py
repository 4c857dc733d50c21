"""Service rules: rights of access keys, script versions, notification policies."""

from __future__ import annotations

import pytest
from runtime_support import shell_job

from tickwork.domain.enums import JobType, Right
from tickwork.domain.errors import Forbidden, InvalidParameter, NotFound
from tickwork.server import Runtime
from tickwork.service.rights import SYSTEM, Caller


async def test_rights_follow_grants_and_grant_options(runtime: Runtime) -> None:
    svc = runtime.services
    await svc.namespaces.create_namespace(SYSTEM, "team", namespace_id="team")
    await svc.namespaces.create_group(SYSTEM, "team", "g1")
    alice_key = await svc.access.create_key(SYSTEM, "alice")
    bob_key = await svc.access.create_key(SYSTEM, "bob")
    alice = await svc.access.caller_of(alice_key)
    assert not alice.may(Right.READ, "team", "g1")
    with pytest.raises(Forbidden, match="has no right on app group 'g1'"):
        await svc.namespaces.get_group(alice, "team", "g1")

    await svc.permissions.grant(SYSTEM, alice_key.key_id, "team", "g1", grant_option=True)
    alice = await svc.access.caller_of(alice_key)  # a grant through this server shows at once
    assert alice.may(Right.MANAGE, "team", "g1")
    assert not alice.may(Right.READ, "team", "g2")
    assert not alice.may(Right.READ, "default", "default")
    assert [n.id for n in await svc.namespaces.list_namespaces(alice)] == ["team"]

    # alice may pass on what she holds with the grant option, and nothing else
    await svc.permissions.grant(alice, bob_key.key_id, "team", "g1", right=Right.RUN)
    bob = await svc.access.caller_of(bob_key)
    assert bob.right_on("team", "g1") == Right.RUN
    with pytest.raises(Forbidden):
        await svc.permissions.grant(alice, bob_key.key_id, "default", "default")
    with pytest.raises(Forbidden):
        await svc.permissions.grant(bob, alice_key.key_id, "team", "g1")  # no grant option

    assert await svc.permissions.revoke(SYSTEM, bob_key.key_id, "team", "g1") is True
    assert not (await svc.access.caller_of(bob_key)).may(Right.READ, "team", "g1")

    await svc.permissions.grant(SYSTEM, bob_key.key_id, "team", right=Right.READ)  # namespace
    assert (await svc.access.caller_of(bob_key)).may(Right.READ, "team", "any-group")


async def test_script_updates_keep_a_history(runtime: Runtime) -> None:
    svc = runtime.services
    me = Caller("me", is_admin=True)
    job = await svc.jobs.create(SYSTEM, shell_job("echo 1"))
    await svc.jobs.update_script(me, job.id, "echo 2", description="second")
    await svc.jobs.update_script(SYSTEM, job.id, "echo 3")
    assert (await svc.jobs.get(SYSTEM, job.id)).content == "echo 3"
    history = await svc.jobs.script_history(SYSTEM, job.id)
    assert [(v.content, v.description, v.creator) for v in history] == [
        ("echo 3", "", SYSTEM.key_id),
        ("echo 2", "second", "me"),
    ]
    with pytest.raises(InvalidParameter):
        await svc.jobs.update_script(SYSTEM, job.id, "")  # an empty script is refused
    assert len(await svc.jobs.script_history(SYSTEM, job.id)) == 2

    http = shell_job('{"url": "http://127.0.0.1:1/", "method": "GET"}', name="web")
    http.job_type = JobType.HTTP
    web = await svc.jobs.create(SYSTEM, http)
    with pytest.raises(InvalidParameter, match="not a script"):
        await svc.jobs.update_script(SYSTEM, web.id, "echo no")


async def test_notification_policies_are_stored(runtime: Runtime) -> None:
    svc = runtime.services
    await svc.policies.create(SYSTEM, "night", '{"sms": [{"startTime": "00:00"}]}', "quiet hours")
    with pytest.raises(InvalidParameter, match="channel_time_range must be JSON"):
        await svc.policies.create(SYSTEM, "broken", "{nope")
    updated = await svc.policies.update(SYSTEM, "night", description="changed")
    assert updated.description == "changed" and updated.channel_time_range.startswith("{")
    assert [p.name for p in await svc.policies.find(SYSTEM, "nig")] == ["night"]
    await svc.policies.delete(SYSTEM, "night")
    with pytest.raises(NotFound):
        await svc.policies.get(SYSTEM, "night")
