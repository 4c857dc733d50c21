"""Contract: log lines (append order, keyword, offset, limit, reverse)."""

from __future__ import annotations

import pytest
from store_support import Seed

from tickwork.domain.errors import InvalidParameter
from tickwork.domain.models import LogLine
from tickwork.domain.queries import LogQuery
from tickwork.store.abc import Store


async def _lines(store: Store, seed: Seed) -> tuple[int, int]:
    job = await seed.job()
    a, b = await seed.instances(job, 2)
    await store.append_logs(
        [
            LogLine(instance_id=a.id, time=10, line="start"),
            LogLine(instance_id=b.id, time=11, line="other start"),
            LogLine(instance_id=a.id, time=12, line="Error: disk", attempt=1),
            LogLine(instance_id=a.id, time=12, line="error: net 100%", attempt=1),
            LogLine(instance_id=a.id, time=13, line="done 50%_"),
        ]
    )
    return a.id, b.id


async def test_append_and_read_in_order(store: Store, seed: Seed) -> None:
    a, b = await _lines(store, seed)
    lines = await store.read_logs(LogQuery(instance_id=a))
    assert [x.line for x in lines] == ["start", "Error: disk", "error: net 100%", "done 50%_"]
    assert [x.time for x in lines] == [10, 12, 12, 13]
    assert [x.attempt for x in lines] == [0, 1, 1, 0]
    assert all(x.instance_id == a for x in lines)
    seqs = [x.seq for x in lines]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    await store.append_logs([LogLine(instance_id=a, time=14, line="later")])
    later = await store.read_logs(LogQuery(instance_id=a))
    assert later[-1].line == "later" and later[-1].seq > seqs[-1]
    assert [x.line for x in await store.read_logs(LogQuery(instance_id=b))] == ["other start"]
    assert await store.count_logs(a) == 5
    assert await store.count_logs(b) == 1
    assert await store.count_logs(a + b + 100) == 0
    assert await store.read_logs(LogQuery(instance_id=a + b + 100)) == []


async def test_keyword_is_case_sensitive_and_literal(store: Store, seed: Seed) -> None:
    a, _ = await _lines(store, seed)

    async def read(keyword: str) -> list[str]:
        return [x.line for x in await store.read_logs(LogQuery(instance_id=a, keyword=keyword))]

    assert await read("error") == ["error: net 100%"]
    assert await read("Error") == ["Error: disk"]
    assert await read("%") == ["error: net 100%", "done 50%_"]
    assert await read("0%_") == ["done 50%_"]
    assert await read("_") == ["done 50%_"]
    assert await read("start") == ["start"]
    assert await read("nothing") == []
    assert await read("") == ["start", "Error: disk", "error: net 100%", "done 50%_"]


async def test_offset_limit_reverse(store: Store, seed: Seed) -> None:
    a, _ = await _lines(store, seed)

    async def read(**kwargs: object) -> list[str]:
        query = LogQuery(instance_id=a, **kwargs)  # type: ignore[arg-type]
        return [x.line for x in await store.read_logs(query)]

    assert await read(limit=2) == ["start", "Error: disk"]
    assert await read(offset=1, limit=2) == ["Error: disk", "error: net 100%"]
    assert await read(reverse=True) == ["done 50%_", "error: net 100%", "Error: disk", "start"]
    assert await read(reverse=True, offset=1, limit=1) == ["error: net 100%"]
    # keyword first, then offset and limit
    assert await read(keyword="r", reverse=True, offset=1) == ["Error: disk", "start"]
    assert await read(offset=10) == []
    assert await read(limit=0) == []
    for bad in ({"offset": -1}, {"limit": -1}):
        with pytest.raises(InvalidParameter):
            await read(**bad)


async def test_lines_of_missing_instances_are_dropped(store: Store, seed: Seed) -> None:
    job = await seed.job()
    (inst,) = await seed.instances(job, 1)
    await store.append_logs([])
    await store.append_logs(
        [
            LogLine(instance_id=inst.id + 500, time=1, line="lost"),
            LogLine(instance_id=inst.id, time=1, line="kept"),
        ]
    )
    assert [x.line for x in await store.read_logs(LogQuery(instance_id=inst.id))] == ["kept"]
    assert await store.count_logs(inst.id + 500) == 0


async def test_many_lines_keep_their_order(store: Store, seed: Seed) -> None:
    job = await seed.job()
    a, b = await seed.instances(job, 2)
    lines = [LogLine(instance_id=(a, b)[n % 2].id, time=n, line=f"l{n}") for n in range(3000)]
    await store.append_logs(lines)
    got = await store.read_logs(LogQuery(instance_id=a.id, limit=5000))
    assert [x.line for x in got] == [f"l{n}" for n in range(0, 3000, 2)]
    assert [x.seq for x in got] == sorted(x.seq for x in got)
    assert await store.count_logs(b.id) == 1500
