"""Tests of table_key: rehashing keys that outsiders can make collide."""

from __future__ import annotations

import time
import uuid

import pytest

from boundedactors.keys import HashedKey, table_key

MODULUS = 2**61 - 1


def test_str_and_bytes_unchanged() -> None:
    """str and bytes keys are stored as they are, because their hash is random."""
    assert table_key("room") == "room"
    assert type(table_key("room")) is str
    assert table_key(b"room") == b"room"


@pytest.mark.parametrize(
    ("left", "right"),
    [(1, 1.0), (True, 1), (0, False), ((1, 2.0), (1.0, 2)), (2**70, float(2**70))],
)
def test_equal_keys_equal_table_keys(left: object, right: object) -> None:
    """Keys that compare equal map to equal table keys with equal hashes."""
    assert table_key(left) == table_key(right)
    assert hash(table_key(left)) == hash(table_key(right))


def test_different_keys_differ() -> None:
    """Keys of different value or type do not compare equal."""
    assert table_key(1) != table_key(2)
    assert table_key((1,)) != table_key(1)
    assert table_key(("a",)) != table_key((b"a",))
    assert table_key(1.5) != table_key(1)
    assert table_key(1) != "1"


def test_colliding_ints_get_spread_hashes() -> None:
    """Ints sharing one CPython hash get different table-key hashes."""
    keys = [n * MODULUS for n in range(1, 200)]
    assert len({hash(key) for key in keys}) == 1
    assert len({hash(table_key(key)) for key in keys}) > 190


def test_uuid_and_nested_tuples() -> None:
    """UUIDs and tuples nested 16 levels deep produce table keys."""
    value = uuid.uuid4()
    assert table_key(value) == table_key(uuid.UUID(str(value)))
    nested: object = 1
    for _ in range(16):
        nested = (nested,)
    assert isinstance(table_key(nested), HashedKey)
    assert table_key(nested) == table_key(nested)


def test_nan_and_unhashable_rejected() -> None:
    """NaN keys raise ValueError and unhashable keys raise TypeError."""
    with pytest.raises(ValueError, match="NaN"):
        table_key(float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        table_key((1, float("nan")))
    with pytest.raises(TypeError, match="hashable"):
        table_key({"a": 1})


@pytest.mark.parametrize(
    "make",
    [
        lambda n: n * MODULUS,
        lambda n: float(n * MODULUS),
        lambda n: (n * MODULUS, 0),
        lambda n: -(n * MODULUS),
    ],
    ids=["int", "float", "tuple", "negative"],
)
def test_colliding_keys_cost_constant(make: object) -> None:
    """Lookups in a dict of 4,000 colliding keys cost about as much as in 100."""
    build = make  # type: ignore[assignment]

    def lookups(count: int) -> float:
        table = {table_key(build(n)): n for n in range(1, count + 1)}  # type: ignore[operator]
        probes = [table_key(build(n)) for n in range(1, 101)]  # type: ignore[operator]
        start = time.perf_counter()
        for _ in range(20):
            for probe in probes:
                table[probe]
        return time.perf_counter() - start

    small = min(lookups(100) for _ in range(3))
    large = min(lookups(4000) for _ in range(3))
    # Quadratic probing over 4,000 equal hashes would be about 40 times slower.
    assert large < small * 8 + 0.01
