"""A real agent against the in-test server (test_agent_session.py) with its touch timed by a
fake clock, so that a freeze (SIGSTOP) is a jump of that clock: what it read after the jump
does not start, what it ran before is named in its next hello, and past the lease it kills
what it runs and reports it lost."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from test_agent_session import Session, fake_server, options, running, shell

from tickwork.agent.agent import Agent
from tickwork.domain.enums import InstanceStatus

pytestmark = pytest.mark.timeout(60)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def started_anywhere(sessions: list[Session], instance_id: int) -> bool:
    return any(
        m["op"] == "started" and m["instance_id"] == instance_id
        for session in sessions
        for frame in session.frames
        for m in frame
    )


async def test_after_a_freeze_it_starts_nothing_it_read_and_says_hello_again() -> None:
    clock = Clock()
    async with fake_server() as fake:
        agent = Agent(options(fake.url), announce=lambda _: None, clock=clock)
        async with running(agent):
            one = await fake.next_session()
            await one.send(shell(7, "sleep 30"))
            await one.next("started")
            clock.now += 5.0  # frozen 5 s (the gap is 3 s, the lease 10 s)
            # read after the jump if they come before its ticker notices (else never read)
            with contextlib.suppress(Exception):
                await one.send(shell(8, "echo stale"), shell(9, "echo stale too"))
            two = await fake.next_session()  # it dropped them and reconnected at once
            hello = await two.next("hello")
            assert hello["runs"] == [[7, 0]]  # what runs is the server's to settle
            await asyncio.sleep(0.5)
            assert not started_anywhere([one, two], 8)
            assert not started_anywhere([one, two], 9)
            # in touch again (welcomed): new work starts
            await two.send(shell(10, "echo fresh"))
            assert (await two.until_finished(10))[-1]["status"] == int(InstanceStatus.SUCCESS)


async def test_past_the_lease_it_kills_what_it_runs_and_reports_it_lost() -> None:
    clock = Clock()
    async with fake_server() as fake:
        agent = Agent(options(fake.url), announce=lambda _: None, clock=clock)
        async with running(agent):
            one = await fake.next_session()
            await one.send(shell(7, "sleep 30"))
            await one.next("started")
            clock.now += 12.0  # not heard for more than the lease
            two = await fake.next_session()  # it cut the connection and came back
            assert (await two.next("hello"))["runs"] == [[7, 0]]  # its outcome waits to go
            done = (await two.until_finished(7))[-1]
            assert done["lost"] is True and done["status"] == int(InstanceStatus.FAILED)
            assert "had not heard its server" in done["result"]
