"""The collection pacer: no automatic full collections while an engine runs."""

from __future__ import annotations

import gc

from tickwork.engine.collector import FULL_EVERY_S, NEVER, SPACING, CollectionPacer, wait_after


async def test_full_collections_are_paced_while_engines_run_and_restored_after() -> None:
    before = gc.get_threshold()
    first, second = CollectionPacer(lambda ms: False), CollectionPacer(lambda ms: False)
    first.start()
    try:
        assert gc.get_threshold() == (before[0], before[1], NEVER)
        assert gc.get_freeze_count() > 0  # what existed at start is left out of collections
        second.start()
        await first.stop()
        assert gc.get_threshold()[2] == NEVER  # the second engine still runs
        await second.stop()
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == 0
    finally:
        await first.stop()
        await second.stop()
        gc.set_threshold(*before)


def test_full_collections_are_spaced_by_how_long_the_last_took() -> None:
    assert wait_after(0.02) == FULL_EVERY_S  # a small heap: every 10 s
    assert wait_after(1.0) == 1.0 * SPACING  # a second each: at most 2 % of the time
    assert wait_after(1.0) / 1.0 >= 50
