"""The collection pacer: no automatic full collections while an engine runs."""

from __future__ import annotations

import gc
import weakref

from tickwork.engine.collector import (
    FULL_EVERY_S,
    NEVER,
    SPACING,
    CollectionPacer,
    collect,
    wait_after,
)


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


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_survivors_are_frozen_and_only_a_complete_collection_walks_them() -> None:
    try:
        survivor = Node()
        collect(complete=False)
        assert gc.is_tracked(survivor) and gc.get_freeze_count() > 0
        gone = weakref.ref(survivor)
        del survivor  # cyclic garbage now, but frozen
        fresh = Node()
        fresh_gone = weakref.ref(fresh)
        del fresh  # cyclic garbage made since the last collection
        collect(complete=False)
        assert fresh_gone() is None, "what was made since is collected"
        assert gone() is not None, "a frozen survivor is not walked"
        collect(complete=True)
        assert gone() is None, "a complete collection walks the frozen ones too"
    finally:
        gc.unfreeze()
