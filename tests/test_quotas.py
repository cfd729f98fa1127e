"""Tests of the quota structures: TokenBucket and KeyCounter."""

from __future__ import annotations

import pytest

from boundedactors.keys import table_key
from boundedactors.quotas import KeyCounter, TokenBucket


def test_bucket_starts_full_and_drains() -> None:
    """A new bucket contains burst tokens, and each take removes one."""
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert bucket.tokens(0.0) == 3
    for _ in range(3):
        bucket.take(0.0)
    assert bucket.tokens(0.0) == 0
    assert bucket.retry_after(0.0) == pytest.approx(0.5)
    bucket.check_invariants()


def test_bucket_refills_with_time_only() -> None:
    """Tokens come back at rate per second and never exceed burst."""
    bucket = TokenBucket(rate=2.0, burst=3, now=10.0)
    for _ in range(3):
        bucket.take(10.0)
    assert bucket.tokens(10.25) == pytest.approx(0.5)
    assert bucket.retry_after(10.25) == pytest.approx(0.25)
    assert bucket.tokens(11.0) == pytest.approx(2.0)
    assert bucket.tokens(100.0) == 3
    assert bucket.retry_after(100.0) == 0.0
    bucket.check_invariants()


def test_bucket_ignores_time_going_back() -> None:
    """An earlier timestamp neither refills nor drains the bucket."""
    bucket = TokenBucket(rate=1.0, burst=2, now=5.0)
    bucket.take(5.0)
    assert bucket.tokens(1.0) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("rate", "burst", "error"),
    [(0, 1, ValueError), (1, 0.5, ValueError), ("1", 1, TypeError)],
)
def test_bucket_options(rate: object, burst: object, error: type[Exception]) -> None:
    """Bad rate or burst raise, naming the spawn option."""
    with pytest.raises(error, match="spawn_"):
        TokenBucket(rate, burst, 0.0)  # type: ignore[arg-type]


def test_counter_adds_and_removes_keys() -> None:
    """A key is counted while it has live items and removed at zero."""
    counter = KeyCounter(per_key=3, max_keys=2)
    key = table_key("client-1")
    counter.add(key)
    counter.add(key)
    assert counter.count(key) == 2
    assert len(counter) == 1
    counter.remove(key)
    counter.remove(key)
    assert counter.count(key) == 0
    assert len(counter) == 0
    counter.remove(key)
    assert len(counter) == 0
    counter.check_invariants({})


def test_counter_table_is_bounded() -> None:
    """is_full reports when the key table reached max_keys."""
    counter = KeyCounter(per_key=1, max_keys=2)
    counter.add("a")
    assert not counter.is_full()
    counter.add("b")
    assert counter.is_full()
    counter.check_invariants({"a": 1, "b": 1})
    with pytest.raises(AssertionError):
        counter.check_invariants({"a": 1})


def test_counter_options() -> None:
    """per_key_limit and max_quota_keys must be positive ints."""
    with pytest.raises(ValueError, match="per_key_limit"):
        KeyCounter(0, 10)
    with pytest.raises(ValueError, match="max_quota_keys"):
        KeyCounter(1, 0)
