"""The agent's half of fencing (agent/touch.py) on a fake clock: when it may start work, and
what a freeze, a silent server or a closed connection make it do."""

from __future__ import annotations

from tickwork.agent.touch import ServerTouch, Touch, Verdict
from tickwork.worker.protocol import AgentTiming

TIMING = AgentTiming(heartbeat_s=2.0, lease_s=10.0, grace_s=5.0)  # gap 3 s


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float, touch: ServerTouch, step: float = 0.25) -> list[Verdict]:
        """Let ``seconds`` pass with the agent's ticker checking every ``step``."""
        verdicts = []
        end = self.now + seconds
        while self.now < end:
            self.now = min(self.now + step, end)
            verdicts.append(touch.check())
        return [v for v in verdicts if v is not Verdict.NONE]


def welcomed() -> tuple[ServerTouch, Clock]:
    clock = Clock()
    touch = ServerTouch(TIMING, clock)
    assert touch.connected() is Verdict.NONE
    assert touch.welcomed(TIMING) is Verdict.NONE
    return touch, clock


def test_nothing_starts_before_the_hello_is_answered() -> None:
    clock = Clock()
    touch = ServerTouch(TIMING, clock)
    assert not touch.may_start()
    touch.connected()
    assert touch.state is Touch.AWAITING and not touch.may_start()
    touch.welcomed(None)
    assert touch.may_start()


def test_pongs_keep_it_in_touch_and_silence_ends_it_at_the_lease() -> None:
    touch, clock = welcomed()
    for _ in range(10):  # a pong every heartbeat: 20 s in touch
        assert clock.tick(2.0, touch) == []
        assert touch.heard() is Verdict.NONE
    assert touch.may_start()
    assert clock.tick(4.75, touch) == []  # silent, but within the lease
    assert touch.may_start()
    assert clock.tick(0.25, touch) == []  # about two heartbeats: it starts nothing more
    assert not touch.may_start()
    assert clock.tick(4.5, touch) == []
    assert clock.tick(0.5, touch) == [Verdict.LOST]  # 10 s: the lease is out, once
    assert touch.state is Touch.CUT_OFF and not touch.may_start()
    assert clock.tick(30, touch) == []  # said once: everything was killed then
    # a pong on the old connection does not bring it back: only a new welcome does
    assert touch.heard() is Verdict.NONE and not touch.may_start()
    touch.connected()
    assert not touch.may_start()
    touch.welcomed(None)
    assert touch.may_start()


def test_a_freeze_is_seen_by_whatever_runs_first_after_it() -> None:
    for first in ("frame", "ticker", "pong"):
        touch, clock = welcomed()
        clock.now += 4.0  # SIGSTOP for 4 s: no check ran meanwhile
        assert touch.unseen_gap() and not touch.may_start()
        verdict = touch.check() if first == "ticker" else touch.heard()
        assert verdict is Verdict.GAP, first
        assert touch.state is Touch.CUT_OFF and not touch.may_start()
        # the frames read after it are not the server's word any more
        assert touch.heard() is Verdict.NONE and not touch.may_start()


def test_a_freeze_past_the_lease_is_a_lost_lease() -> None:
    touch, clock = welcomed()
    clock.now += 12.0
    assert touch.heard() is Verdict.LOST


def test_a_closed_connection_ends_it_after_the_grace() -> None:
    touch, clock = welcomed()
    clock.tick(1.0, touch)
    touch.heard()
    assert touch.closed() is Verdict.NONE
    assert not touch.may_start()  # no welcome on a connection: nothing starts
    assert clock.tick(4.75, touch) == []
    assert clock.tick(0.25, touch) == [Verdict.LOST]


def test_a_blip_within_the_grace_costs_nothing() -> None:
    touch, clock = welcomed()
    touch.closed()
    assert clock.tick(1.0, touch) == []
    touch.connected()
    touch.welcomed(None)
    for _ in range(3):
        assert clock.tick(2.0, touch) == []
        touch.heard()
    assert touch.may_start()


def test_the_servers_timing_replaces_the_defaults() -> None:
    clock = Clock()
    touch = ServerTouch(AgentTiming(), clock)
    touch.connected()
    touch.welcomed(AgentTiming(heartbeat_s=0.5, lease_s=2.0, grace_s=1.0))
    assert touch.timing.gap_s == 0.75
    assert clock.tick(2.0, touch) == [Verdict.LOST]


def test_a_welcome_read_after_a_freeze_does_not_count() -> None:
    clock = Clock()
    touch = ServerTouch(TIMING, clock)
    touch.connected()
    clock.now += 5.0
    assert touch.welcomed(None) is Verdict.GAP
    assert not touch.may_start()
