"""The in-memory first check of signature nonces (service/nonces.py: NonceCache)."""

from __future__ import annotations

from tickwork.service.nonces import NonceCache


def test_nonce_cache_is_bounded_by_the_window() -> None:
    cache = NonceCache()
    for i in range(1000):
        assert cache.use("k", f"n{i}", now=float(i), until=float(i) + 100)
    assert len(cache) <= 101
    assert not cache.use("k", "n999", now=1000.0, until=1099.0)
    cache.purge(5000.0)
    assert len(cache) == 0


def test_nonce_cache_has_a_ceiling() -> None:
    cache = NonceCache(max_entries=10)
    for i in range(25):
        assert cache.use("k", f"n{i}", now=0.0, until=100.0 + i)
    assert len(cache) == 10
    # the newest are kept, the ones nearest their expiry went first
    assert not cache.use("k", "n24", now=0.0, until=124.0)
    assert cache.use("k", "n0", now=0.0, until=100.0)


def test_each_key_has_its_own_nonces_and_each_timestamp_its_own_calls() -> None:
    cache = NonceCache()
    assert cache.use("k", "n", now=0.0, until=10.0)
    assert cache.use("other", "n", now=0.0, until=10.0)
    assert not cache.use("k", "n", now=5.0, until=10.0)
    assert cache.use("k", "n", now=5.0, until=11.0)  # signed with another timestamp


def test_a_forgotten_call_may_be_made_again() -> None:
    cache = NonceCache()
    assert cache.use("k", "n", now=0.0, until=10.0)
    cache.forget("k", "n", 10.0)
    assert len(cache) == 0
    assert cache.use("k", "n", now=1.0, until=10.0)
    assert not cache.use("k", "n", now=2.0, until=10.0)
    cache.forget("k", "never-made", 10.0)
    assert len(cache) == 1
