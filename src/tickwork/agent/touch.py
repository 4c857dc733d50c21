"""Whether the agent is in touch with its server, as an explicit state machine: the agent's
half of fencing (``worker/protocol.py``, "Fencing").

The server gives an agent's runs to another worker once it has not heard the agent for its
lease and grace (``AgentTiming``), and stops routing to it sooner, after about two missed
heartbeats. The agent must not go on past that on its own: a copy of a run it keeps would
run beside the retry, and a ``run`` message it reads late (frozen with ``SIGSTOP``, a VM
stall, a cut connection restored) may already have been sent elsewhere. So:

- ``IN_TOUCH``: welcomed on this connection and heard (a frame or a pong) within the lease.
  The only state in which the agent starts work, and only while it heard the server within
  ``quiet_s`` (about two heartbeats: it pings every one).
- ``AWAITING``: connecting, or connected without ``welcome`` yet: it starts nothing (a
  server routes nothing to an agent coming back for its runs before its ``hello`` is
  settled, either).
- ``CUT_OFF``: it saw a gap (its own event loop stood still for ``gap_s``: whatever it reads
  now may be stale) or its lease ran out (not heard for ``lease_s``, or disconnected for
  ``grace_s``). What it had not started is dropped, and once the lease is out what it runs
  is killed; it starts nothing until a new connection is welcomed.

Every event first checks for a gap (``check``): after a freeze, the first thing the event
loop runs may be a buffered frame, a pong or the ticker, in any order, and whichever comes
first must see that time jumped. The clock is injected (seconds, monotonic).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from tickwork.worker.protocol import AgentTiming

__all__ = ["ServerTouch", "Touch", "Verdict"]


class Touch(enum.Enum):
    AWAITING = "awaiting"  # no welcome on this connection yet: start nothing
    IN_TOUCH = "in_touch"  # welcomed, heard within the lease: may start work
    CUT_OFF = "cut_off"  # a gap or the lease out: start nothing until welcomed again


class Verdict(enum.Enum):
    NONE = "none"  # nothing to do
    GAP = "gap"  # the loop stood still: drop what is not started, reconnect, say hello
    LOST = "lost"  # the lease is out: kill everything, start nothing until welcomed


_MOVES: dict[Touch, frozenset[Touch]] = {
    Touch.AWAITING: frozenset({Touch.IN_TOUCH, Touch.CUT_OFF, Touch.AWAITING}),
    Touch.IN_TOUCH: frozenset({Touch.AWAITING, Touch.CUT_OFF, Touch.IN_TOUCH}),  # welcome again
    Touch.CUT_OFF: frozenset({Touch.AWAITING, Touch.CUT_OFF}),
}


@dataclass(slots=True)
class _Marks:
    tick: float  # the last time the agent's loop ran a check
    heard: float  # the last time the server was heard (welcome, frame, pong)
    closed: float | None = None  # when the connection closed (None: connected)
    lease_out: bool = False  # the lease ran out since the last welcome (all was killed)


class ServerTouch:
    def __init__(
        self, timing: AgentTiming | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.timing = timing or AgentTiming()
        self._clock = clock
        now = clock()
        self.state = Touch.AWAITING
        self._marks = _Marks(tick=now, heard=now, closed=now)
        self.last_gap = 0.0  # the length of the last gap seen (for the messages)

    def _move(self, to: Touch) -> None:
        if to not in _MOVES[self.state]:
            raise RuntimeError(f"touch: {self.state.value} -> {to.value} is not a move")
        self.state = to

    # -- events ------------------------------------------------------------------------------
    def connected(self) -> Verdict:
        """A connection opened and ``hello`` goes out: nothing starts until ``welcome``."""
        verdict = self.check()
        self._marks.closed = None
        self._move(Touch.AWAITING)
        return verdict

    def welcomed(self, timing: AgentTiming | None) -> Verdict:
        """The server welcomed this connection: the agent may start work again (unless a gap
        came just now: the welcome itself may be stale)."""
        verdict = self.check()
        if verdict is not Verdict.NONE:
            return verdict
        if timing is not None:
            self.timing = timing
        self._marks.heard = self._marks.tick
        self._marks.lease_out = False
        self._move(Touch.IN_TOUCH)
        return Verdict.NONE

    def heard(self) -> Verdict:
        """A frame or a pong came from the server."""
        verdict = self.check()
        if verdict is Verdict.NONE and self.state is Touch.IN_TOUCH:
            self._marks.heard = self._marks.tick
        return verdict

    def closed(self) -> Verdict:
        """The connection closed: the grace runs from now."""
        verdict = self.check()
        if self._marks.closed is None:
            self._marks.closed = self._marks.tick
        if self.state is Touch.IN_TOUCH:
            self._move(Touch.AWAITING)
        return verdict

    def check(self) -> Verdict:
        """What time says now (the ticker calls it a few times a second, and every event
        first): a gap, the lease out, or nothing."""
        now = self._clock()
        marks = self._marks
        gap = now - marks.tick
        marks.tick = now
        if gap >= self.timing.gap_s:
            self.last_gap = gap
            marks.lease_out = marks.lease_out or now - marks.heard >= self.timing.lease_s
            self._move(Touch.CUT_OFF)
            return Verdict.LOST if marks.lease_out else Verdict.GAP
        if not marks.lease_out and self._lease_out(now):
            marks.lease_out = True
            self._move(Touch.CUT_OFF)
            return Verdict.LOST
        return Verdict.NONE

    def _lease_out(self, now: float) -> bool:
        marks, timing = self._marks, self.timing
        if self.state is Touch.CUT_OFF and marks.lease_out:
            return False
        if now - marks.heard >= timing.lease_s:
            return True
        return marks.closed is not None and now - marks.closed >= timing.grace_s

    # -- questions ---------------------------------------------------------------------------
    def may_start(self) -> bool:
        """Whether work may start now: in touch, heard within ``quiet_s`` (when the server
        stops routing here: a run started later might not be reported before it is given
        to another worker), and no gap gone unseen (a processor thread or a process exit
        may ask before the loop's ticker noticed a freeze)."""
        now = self._clock()
        return (
            self.state is Touch.IN_TOUCH
            and now - self._marks.tick < self.timing.gap_s
            and now - self._marks.heard < self.timing.quiet_s
        )

    def unseen_gap(self) -> bool:
        """Time jumped since the last check: the loop stood still (and no check ran yet)."""
        return self._clock() - self._marks.tick >= self.timing.gap_s

    def silent_for(self) -> float:
        return self._clock() - self._marks.heard
