"""The agent's outbox: order, batches, put-back, and the bound on waiting log lines."""

from __future__ import annotations

from dataclasses import replace

from tickwork.agent.outbox import LOG_ROOM_LINES, Outbox, message_size
from tickwork.domain.enums import InstanceStatus
from tickwork.worker.abc import RunOutcome
from tickwork.worker.messages import Finished, Log


def log(n: int) -> Log:
    return Log(instance_id=1, attempt=0, at=n, line=str(n))


def finished(n: int) -> Finished:
    return Finished(instance_id=n, attempt=0, outcome=RunOutcome(InstanceStatus.SUCCESS), at=0)


async def test_batches_keep_order() -> None:
    box = Outbox()
    for n in range(5):
        box.put(log(n))
    assert len(box) == 5
    assert [m.at for m in box.take(3)] == [0, 1, 2]
    assert [m.at for m in box.take(10)] == [3, 4]
    assert len(box) == 0
    assert box.take(10) == []


async def test_put_back_goes_first() -> None:
    box = Outbox()
    for n in range(4):
        box.put(log(n))
    batch = box.take(2)
    box.put(log(4))
    box.put_back(batch)
    assert [m.at for m in box.take(10)] == [0, 1, 2, 3, 4]
    assert box.log_lines == 0


async def test_oldest_log_lines_are_dropped_never_finished() -> None:
    box = Outbox(max_log_lines=3)
    box.put(finished(100))
    for n in range(5):
        box.put(log(n))
    box.put(finished(101))
    box.put(log(5))
    assert box.dropped == 3
    assert box.log_lines == 3
    taken = box.take(100)
    assert [(m.op, m.line if isinstance(m, Log) else m.instance_id) for m in taken] == [
        ("finished", 100),
        ("log", "3"),
        ("log", "4"),
        ("finished", 101),
        ("log", "5"),
    ]
    assert len(box) == 0


async def test_put_back_respects_the_bound() -> None:
    box = Outbox(max_log_lines=2)
    box.put(log(0))
    box.put(log(1))
    batch = box.take(2)
    box.put(log(2))
    box.put_back(batch)  # three waiting: the oldest goes
    assert [m.at for m in box.take(10)] == [1, 2]
    assert box.dropped == 1


async def test_many_drops_stay_compact() -> None:
    box = Outbox(max_log_lines=10)
    box.put(finished(1))
    for n in range(50_000):
        box.put(log(n))
    assert len(box) == 11
    assert len(box._entries) < 2_000  # dropped entries do not pile up
    taken = box.take(100)
    assert taken[0].op == "finished"
    assert [m.at for m in taken[1:]] == list(range(49_990, 50_000))


async def test_wait_wakes_on_put() -> None:
    box = Outbox()
    assert not box._ready.is_set()
    box.put(log(0))
    await box.wait()
    box.take(1)
    assert not box._ready.is_set()


async def test_runs_wait_on_their_output_while_many_log_lines_wait() -> None:
    box = Outbox()
    for n in range(LOG_ROOM_LINES - 1):
        box.put(log(n))
    assert box.log_room() is None
    box.put(log(LOG_ROOM_LINES))
    room = box.log_room()
    assert room is not None and not room.done()
    assert box.log_room() is room  # one future for every reader
    box.take(LOG_ROOM_LINES // 2 - 1)
    assert not room.done()  # still more than half
    box.take(1)
    assert room.done()
    assert box.log_room() is None
    assert box.dropped == 0  # waiting, not dropping


async def test_a_frame_holds_about_max_bytes_of_messages() -> None:
    box = Outbox()
    long = "x" * 16_384
    for n in range(200):
        box.put(replace(log(n), line=long))
    frame = box.take(5_000, 1024 * 1024)
    assert sum(message_size(m) for m in frame) <= 1024 * 1024
    assert len(frame) == (1024 * 1024) // message_size(frame[0])
    huge = replace(log(0), line="y" * 3_000_000)
    rest = box.take(5_000)
    box.put(huge)
    assert box.take(5_000, 1024 * 1024) == [huge]  # one message goes, whatever its size
    assert len(rest) == 200 - len(frame)
