"""Spawn quotas as plain data structures: a token bucket and bounded per-key counts.

Neither reads a clock: callers pass the time in, so a fake clock drives them in tests.
"""

from __future__ import annotations

from collections.abc import Hashable

from . import _validate
from .keys import table_key

__all__ = ["KeyCounter", "TokenBucket"]


class TokenBucket:
    """A token bucket: ``rate`` tokens per second, holding at most ``burst``.

    The bucket starts full. Runtime complexity: O(1) per call, no allocation.
    """

    __slots__ = ("_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate: float = _validate.positive_float("spawn_rate", rate)  # type: ignore[assignment]
        self.burst: float = _validate.positive_float("spawn_burst", burst)  # type: ignore[assignment]
        if self.burst < 1:
            raise ValueError(f"spawn_burst must be >= 1, got {burst!r}")
        self._tokens = self.burst
        self._stamp = now

    def tokens(self, now: float) -> float:
        """Return the tokens available at ``now`` after refilling."""
        if now > self._stamp:
            self._tokens = min(
                self.burst, self._tokens + (now - self._stamp) * self.rate
            )
            self._stamp = now
        return self._tokens

    def retry_after(self, now: float) -> float:
        """Return the seconds until one token is available (0.0 if one is now)."""
        missing = 1.0 - self.tokens(now)
        return 0.0 if missing <= 0 else missing / self.rate

    def take(self, now: float) -> None:
        """Take one token; the caller checks ``tokens(now) >= 1`` first."""
        self._tokens = self.tokens(now) - 1.0

    def give_back(self, now: float) -> None:
        """Return one token taken by a spawn that did not happen (capped at burst)."""
        self._tokens = min(self.burst, self.tokens(now) + 1.0)

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if the bucket's state is out of range."""
        assert 0.0 <= self._tokens <= self.burst + 1e-9


class KeyCounter:
    """Counts live items per key in a table of at most ``max_keys`` keys.

    A key is removed when its count returns to zero, so the table holds only keys
    with live items and a flood of distinct keys cannot grow it past ``max_keys``.
    Runtime complexity: O(1) per call.
    """

    __slots__ = ("_counts", "max_keys", "per_key")

    def __init__(self, per_key: int, max_keys: int) -> None:
        self.per_key: int = _validate.positive_int("per_key_limit", per_key)  # type: ignore[assignment]
        self.max_keys: int = _validate.positive_int("max_quota_keys", max_keys)  # type: ignore[assignment]
        self._counts: dict[Hashable, int] = {}

    def __len__(self) -> int:
        return len(self._counts)

    def count(self, key: Hashable) -> int:
        """Return the live count for ``key`` (a key from :func:`table_key`)."""
        return self._counts.get(key, 0)

    def is_full(self) -> bool:
        """Return whether the table has no room for a new key."""
        return len(self._counts) >= self.max_keys

    def add(self, key: Hashable) -> None:
        """Count one more live item for ``key``."""
        self._counts[key] = self._counts.get(key, 0) + 1

    def remove(self, key: Hashable) -> None:
        """Count one fewer live item for ``key``; drops the key at zero."""
        count = self._counts.get(key, 0)
        if count <= 1:
            self._counts.pop(key, None)
        else:
            self._counts[key] = count - 1

    def check_invariants(self, live: dict[Hashable, int] | None = None) -> None:
        """Raise ``AssertionError`` if counts are out of range or differ from
        ``live``, a recount of live items per key made by the caller."""
        assert len(self._counts) <= self.max_keys
        assert all(0 < count <= self.per_key for count in self._counts.values())
        if live is not None:
            assert self._counts == live, (self._counts, live)


def quota_table_key(key: object) -> Hashable:
    """Return the table form of a quota key (see :func:`table_key`)."""
    return table_key(key)
