"""What the processor runs of one worker share (worker/executors/processor_runtime.py): each
worker has its own, and gates opened together reach the threads together."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from tickwork.domain.errors import InvalidParameter
from tickwork.worker.daemon_threads import DaemonThreads
from tickwork.worker.executors.processor_runtime import ProcessorRuntime

NAME = "tickwork.processor:Processor"


class CountingThreads(DaemonThreads):
    """Counts how many times calls are queued (one ``run_all`` of n calls is one)."""

    def __init__(self) -> None:
        super().__init__(name="test-processors")
        self.queued: list[int] = []

    def run_all(self, calls: list[Callable[[], None]]) -> None:
        self.queued.append(len(calls))
        super().run_all(calls)


def test_each_runtime_has_its_own_classes() -> None:
    one, other = ProcessorRuntime(), ProcessorRuntime()
    assert one.cached_class(NAME) is None
    cls = one.load_class(f" {NAME} ")
    assert one.cached_class(NAME) is cls and one.load_class(NAME) is cls
    assert other.cached_class(NAME) is None


def test_a_class_that_is_not_a_processor_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="has no 'Nope'"):
        ProcessorRuntime().load_class("tickwork.processor:Nope")


async def test_gates_opened_together_are_queued_together() -> None:
    threads = CountingThreads()
    runtime = ProcessorRuntime(threads)
    ran = threading.Semaphore(0)
    gates = [runtime.gated(ran.release) for _ in range(3)]
    with runtime.gates_opened_together():
        with runtime.gates_opened_together():  # nested: the outer one queues
            gates[0].open()
        for gate in gates[1:]:
            gate.open()
        assert threads.queued == []
    assert threads.queued == [3]
    for gate in gates:
        await gate.future
    gates[0].open()  # at most once
    assert threads.queued == [3]
    assert await runtime.in_thread(lambda: 7) == 7
    assert runtime.wait_calls_taken(1.0)
