"""The reused daemon threads that run blocking processor code."""

from __future__ import annotations

import functools
import threading
import time

from tickwork.worker.daemon_threads import DaemonThreads


def run_and_wait(pool: DaemonThreads, count: int) -> set[str]:
    names: set[str] = set()
    for _ in range(count):
        done = threading.Event()

        def call(done: threading.Event = done) -> None:
            names.add(threading.current_thread().name)
            done.set()

        pool.run(call)
        assert done.wait(5)
        deadline = time.monotonic() + 5
        while pool.idle < 1 and time.monotonic() < deadline:  # it counts itself idle after
            time.sleep(0.001)
    return names


def test_calls_one_after_another_reuse_one_thread() -> None:
    pool = DaemonThreads("t")
    names = run_and_wait(pool, 50)
    assert pool.threads == 1 and len(names) == 1


def test_a_stuck_call_holds_no_other_for_long() -> None:
    pool = DaemonThreads("t")
    release = threading.Event()
    stuck_running = threading.Event()

    def stuck() -> None:
        stuck_running.set()
        release.wait(10)

    pool.run(stuck)
    assert stuck_running.wait(5)
    try:
        run_and_wait(pool, 3)  # would fail if it queued behind the stuck call
        assert pool.threads >= 2
        thread = next(t for t in threading.enumerate() if t.name.startswith("t-"))
        assert thread.daemon
    finally:
        release.set()


def test_idle_threads_end_after_the_idle_timeout() -> None:
    pool = DaemonThreads("idle-test", idle_timeout=0.05)
    run_and_wait(pool, 1)
    alive = [t for t in threading.enumerate() if t.name.startswith("idle-test-")]
    for thread in alive:
        thread.join(5)
    assert not [t for t in threading.enumerate() if t.name.startswith("idle-test-")]


def test_calls_queued_together_are_taken_by_one_thread_not_a_herd() -> None:
    """Many quick calls at once (fires due on the same second) go through a thread or two,
    not one woken thread each."""
    pool = DaemonThreads("herd")
    names: set[str] = set()
    done = threading.Semaphore(0)

    def call() -> None:
        names.add(threading.current_thread().name)
        done.release()

    for _ in range(500):
        pool.run(call)
    for _ in range(500):
        assert done.acquire(timeout=5)
    assert 1 <= len(names) <= 2, names


def test_blocked_calls_make_the_pool_grow_until_the_queue_moves() -> None:
    pool = DaemonThreads("grow")
    release = threading.Event()
    started = threading.Semaphore(0)

    def blocked() -> None:
        started.release()
        release.wait(10)

    try:
        for _ in range(20):
            pool.run(blocked)
        for _ in range(20):  # every one runs, though each holds its thread
            assert started.acquire(timeout=5)
        assert pool.threads >= 20
    finally:
        release.set()


def test_wait_taken_returns_once_every_queued_call_has_started() -> None:
    pool = DaemonThreads("drain")
    started: list[int] = []
    for n in range(100):
        pool.run(functools.partial(started.append, n))
    assert pool.wait_taken(5)
    assert len(started) >= 99  # the last may still be on its way into its call

    release = threading.Event()
    blocked = threading.Event()

    def hold() -> None:
        blocked.set()
        release.wait(5)

    pool.run(hold)
    assert blocked.wait(5)
    pool.run(functools.partial(started.append, 100))
    try:
        # queued behind a blocked call: taken once the stall watcher adds a thread
        assert pool.wait_taken(5)
    finally:
        release.set()
