"""A run's life as an explicit state machine: the states an instance held by this engine goes
through, the moves between them that are legal, and the one timer each state may own.

::

    NEW ──arm──▶ PLANNED ──due, admitted──▶ RUNNING ──stop / timeout kill──▶ STOPPING
     │              │                      ▲   │  │                              │
     │              │                      │   │  └──failed, attempts left──┐    │
     │              │                retry due │                            ▼    │
     ├──resume_retry┼──────────────────▶ WAITING_RETRY ◀── timed out, attempts left
     └──start_now───┼──────────────────▶ RUNNING
                    ▼
    ENDED (a final status is written)   DROPPED (another server has it now; nothing written)

Any live state may end (ENDED: rejected, removed, stopped, finished) or be dropped (DROPPED:
withdrawn before it fired, handed off, or left to the server that adopts it). The timer a state
owns is cancelled by every move out of it, so no timer outlives the state it was armed for:
PLANNED owns its preparing timer or its fence re-check, WAITING_RETRY its retry, RUNNING its
timeout. No move to RUNNING happens before the attempt's start claim is written (READY in the
store, run_launch.py): until then the run waits where it is, in NEW, PLANNED or WAITING_RETRY.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

from tickwork.domain.enums import TriggerType
from tickwork.domain.log_cap import LogCut
from tickwork.domain.models import Designation, Instance, Job
from tickwork.engine.tasks import TaskMaster
from tickwork.engine.timers import Cancellable
from tickwork.worker.abc import RunRequest

__all__ = ["IllegalMove", "Run", "RunState", "Stop", "StopReason"]


class RunState(enum.Enum):
    NEW = "new"  # just taken up; placed by the entry point that made it
    PLANNED = "planned"  # a scheduled fire waiting for its due instant (in its due batch)
    WAITING_RETRY = "waiting_retry"  # an attempt ended (or was lost); the next one is timed
    RUNNING = "running"  # handed to the worker (or its master), its outcome not yet in
    STOPPING = "stopping"  # a kill was asked (stop or timeout); the outcome is awaited
    ENDED = "ended"  # a final status was written; the engine holds it no more
    DROPPED = "dropped"  # someone else's now (withdrawn, handed off, adopted): nothing written

    @property
    def live(self) -> bool:
        return self not in (RunState.ENDED, RunState.DROPPED)

    @property
    def launched(self) -> bool:
        """Handed to a worker: an outcome is expected from it."""
        return self in (RunState.RUNNING, RunState.STOPPING)


_ENDS = frozenset({RunState.ENDED, RunState.DROPPED})
LEGAL_MOVES: dict[RunState, frozenset[RunState]] = {
    # a run started at once waits in NEW for its start claim: it may be stopped or handed
    # over meanwhile
    RunState.NEW: frozenset({RunState.PLANNED, RunState.WAITING_RETRY, RunState.RUNNING}) | _ENDS,
    RunState.PLANNED: frozenset({RunState.RUNNING}) | _ENDS,
    RunState.WAITING_RETRY: frozenset({RunState.RUNNING}) | _ENDS,
    RunState.RUNNING: frozenset({RunState.STOPPING, RunState.WAITING_RETRY}) | _ENDS,
    # a timeout kill of an attempt with attempts left is retried; a stop ends the run
    RunState.STOPPING: frozenset({RunState.WAITING_RETRY}) | _ENDS,
    RunState.ENDED: frozenset(),
    RunState.DROPPED: frozenset(),
}


class IllegalMove(RuntimeError):
    """A move the state machine does not allow: a bug in the engine, never the user's."""


class StopReason(enum.Enum):
    STOP = "stop"  # asked by a user or an API: the run ends KILLED
    TIMEOUT = "timeout"  # the job's timeout with kill enabled: the attempt FAILED


@dataclass(slots=True, frozen=True)
class Stop:
    reason: StopReason
    message: str


@dataclass(slots=True, eq=False)
class Run:
    """An instance this engine holds, from the moment it is taken up until it ends here or
    goes elsewhere."""

    instance: Instance
    # the job's definition for this run: the registry's latest, taken when it is admitted
    # and whenever the job changes (``RunManager.job_updated``); its next attempt runs with it
    job: Job
    attempt: int
    misfire: bool = False  # armed late on purpose (misfire policy): no lateness sample
    # a fire late because its server went away (adopted, or handed over at a stop): until
    # this instant (epoch ms) it waits for a MaxConcurrency slot rather than being rejected,
    # as the fires of one job that came late together would otherwise reject each other
    slot_wait_until: int | None = None
    designation: Designation | None = None  # this run's own (ExecuteJob), else the job's
    state: RunState = RunState.NEW
    timer: Cancellable | None = None  # the one timer of the current state
    stop: Stop | None = None  # STOPPING: why, and the result it ends with
    # the trigger type this attempt reports: the instance's own, or SYSTEM_RETRY once its
    # worker was lost (the instance in memory keeps its first trigger type, which decides
    # second_delay chaining)
    attempt_trigger: TriggerType | None = None
    request: RunRequest | None = None  # this attempt's request, once built (kept for reuse)
    worker_prepared: bool = False  # the worker made it ready: discard it if it never starts
    master: TaskMaster | None = None  # the current attempt of a distributed run
    log_cut: LogCut | None = None  # what the running attempt's log keeps (from its 1st line)
    # which share of the job's route strategy this attempt takes (drawn again on a retry)
    route_draw: float = field(default_factory=random.random)
    # attempts lost before they started, sent again without using up a retry (run_endings)
    resends: int = 0
    # the start claim (run_launch.py): the attempt it was queued for, and its sequence
    # number in the batch writer; the attempt goes to a worker only once that is written
    claimed_attempt: int | None = None
    claim_seq: int = 0
    claim_first: bool = False  # written ahead of the writer's queue (``update_first``)

    def move(self, to: RunState, timer: Cancellable | None = None) -> None:
        """Go to state ``to`` (owning ``timer``, if any); the timer of the state left is
        cancelled. Raises ``IllegalMove`` for a move the machine does not allow."""
        if to not in LEGAL_MOVES[self.state]:
            raise IllegalMove(
                f"instance {self.instance.id}: {self.state.value} -> {to.value} is not a move "
                "a run can make"
            )
        self._cancel_timer()
        self.state = to
        self.timer = timer

    def own_timer(self, timer: Cancellable | None) -> None:
        """The current state arms (or clears) its timer; one it had before is cancelled."""
        self._cancel_timer()
        self.timer = timer

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def use_job(self, job: Job) -> None:
        """Take the job's latest definition; a request built from an older one is stale."""
        if job is not self.job:
            self.job = job
            self.request = None

    def next_attempt(self, *, lost: bool) -> None:
        """The attempt after this one. Once a worker was lost, this and every later attempt
        report SYSTEM_RETRY (as the stored instance does from then on)."""
        self.attempt += 1
        self.route_draw = random.random()
        if lost:
            self.attempt_trigger = TriggerType.SYSTEM_RETRY
        self.request = None

    @property
    def pending(self) -> bool:
        """Waits for its due instant (``DueFires`` releases only these)."""
        return self.state is RunState.PLANNED

    @property
    def trigger_type(self) -> TriggerType:
        """What the current attempt reports as its trigger type."""
        if self.attempt_trigger is not None:
            return self.attempt_trigger
        return TriggerType(self.instance.trigger_type)
