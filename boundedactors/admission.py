"""Eviction policies that choose which active actor to passivate at a capacity.

A policy tracks the keys that are resident (active) and counts each access.
When a new key is admitted and the policy is full, :meth:`admit` returns the key to
evict. Both policies here are plain data structures: they read no clock and import
no asyncio, so tests drive them directly.

:class:`TinyLfu` (the default of ``Router(max_active=...)``) is W-TinyLFU as
described by Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache
Admission Policy" (ACM Transactions on Storage, 2017):

- a *window* LRU of about 1% of the capacity takes every new key;
- the *main* space is a segmented LRU: a *probation* segment (20% of the main
  space) for keys seen once there, and a *protected* segment (80%) for keys used
  again while on probation;
- a *count-min sketch* of 4-bit counters estimates how often each key was used
  recently, and all its counters are halved every ``10 * capacity`` accesses, so
  old popularity fades.

When the window overflows, its least recent key (the *candidate*) competes with
the least recent key on probation (the *victim*): the one the sketch says is used
less often is evicted. A flood of keys seen once therefore passes through the
window and leaves again, while keys used often stay in the main space. Plain
:class:`Lru` is there as a baseline: the same flood evicts everything it holds.

Cost per operation: O(1). ``record`` and ``admit`` hash the key once and touch 4
sketch counters plus one or two ordered-dict entries. Every ``10 * capacity``
accesses, one O(capacity) pass halves the sketch (O(1) amortised). Memory: one
ordered-dict entry per resident key (about 100 bytes on CPython 3.11) plus the
sketch, 4 bytes per unit of capacity rounded up to a power of two.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Protocol

from . import _validate

__all__ = ["CountMinSketch", "EvictionPolicy", "Lru", "TinyLfu"]

_MASK64 = (1 << 64) - 1
_ROWS = 4
_MAX_COUNT = 15


class EvictionPolicy(Protocol):
    """The interface a router uses to evict: admit, record, remove."""

    @property
    def capacity(self) -> int: ...

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...

    def admit(self, key: Hashable) -> Hashable | None:
        """Make ``key`` resident; return the key evicted to make room, if any."""

    def record(self, key: Hashable) -> None:
        """Count one access to ``key``."""

    def remove(self, key: Hashable) -> bool:
        """Forget resident ``key``; return whether it was resident."""

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if the structure is inconsistent."""


class CountMinSketch:
    """Approximate access counts in ``depth=4`` rows of 4-bit counters.

    An estimate never undercounts a key's accesses since the last halving, up to
    the cap of 15; collisions may make it overcount. Runtime complexity: O(1) per
    ``increment`` and ``estimate``; :meth:`halve` is O(width).
    """

    __slots__ = ("_mask", "_table", "width")

    def __init__(self, width: int) -> None:
        size = 16
        while size < width:
            size *= 2
        self.width = size
        self._mask = size - 1
        self._table = bytearray(size * _ROWS)

    def _indexes(self, key: Hashable) -> tuple[int, int, int, int]:
        # Two multiplicative mixes of the key's hash give four 32-bit slices, one
        # counter per row, so keys whose hashes differ only in a few bits (small
        # ints used directly) still spread over the rows.
        digest = hash(key) & _MASK64
        first = (digest * 0x9E3779B97F4A7C15) & _MASK64
        second = (digest * 0xC2B2AE3D27D4EB4F) & _MASK64
        mask = self._mask
        width = self.width
        return (
            first & mask,
            width + ((first >> 32) & mask),
            2 * width + (second & mask),
            3 * width + ((second >> 32) & mask),
        )

    def increment(self, key: Hashable) -> None:
        """Add one to the key's counters that are below the cap."""
        table = self._table
        a, b, c, d = self._indexes(key)
        if table[a] < _MAX_COUNT:
            table[a] += 1
        if table[b] < _MAX_COUNT:
            table[b] += 1
        if table[c] < _MAX_COUNT:
            table[c] += 1
        if table[d] < _MAX_COUNT:
            table[d] += 1

    def estimate(self, key: Hashable) -> int:
        """Return the smallest of the key's counters (0 to 15)."""
        table = self._table
        a, b, c, d = self._indexes(key)
        return min(table[a], table[b], table[c], table[d])

    def halve(self) -> None:
        """Halve every counter, so that past popularity fades."""
        self._table = bytearray(count >> 1 for count in self._table)

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if a counter is past the cap."""
        assert len(self._table) == self.width * _ROWS
        assert max(self._table, default=0) <= _MAX_COUNT


class Lru:
    """Least-recently-used eviction: the baseline that a scan flushes out.

    Runtime complexity: O(1) per operation. Memory: one ordered-dict entry per
    resident key.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity: int = _validate.positive_int("capacity", capacity)  # type: ignore[assignment]
        self._order: OrderedDict[Hashable, None] = OrderedDict()

    @property
    def capacity(self) -> int:
        """Maximum number of resident keys."""
        return self._capacity

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._order

    def admit(self, key: Hashable) -> Hashable | None:
        """Make ``key`` the most recent; evict the least recent key if full."""
        order = self._order
        if key in order:
            order.move_to_end(key)
            return None
        order[key] = None
        if len(order) > self._capacity:
            return order.popitem(last=False)[0]
        return None

    def record(self, key: Hashable) -> None:
        """Make resident ``key`` the most recent; ignore other keys."""
        if key in self._order:
            self._order.move_to_end(key)

    def remove(self, key: Hashable) -> bool:
        """Forget ``key``; return whether it was resident."""
        return self._order.pop(key, _MISSING) is not _MISSING

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if more keys than ``capacity`` are resident."""
        assert len(self._order) <= self._capacity


_MISSING = object()


class TinyLfu:
    """W-TinyLFU: a window LRU, a segmented main LRU and a frequency sketch.

    See the module docstring for the algorithm and its costs.

    >>> policy = TinyLfu(3)
    >>> for key in ("a", "b", "c"):
    ...     policy.admit(key)
    >>> for _ in range(5):
    ...     policy.record("a")
    >>> policy.admit("x") in ("b", "c", "x")
    True
    >>> "a" in policy
    True
    """

    def __init__(self, capacity: int) -> None:
        self._capacity: int = _validate.positive_int("capacity", capacity)  # type: ignore[assignment]
        self._window_capacity = max(1, capacity // 100)
        main = capacity - self._window_capacity
        self._main_capacity = main
        self._protected_capacity = main * 4 // 5
        self._window: OrderedDict[Hashable, None] = OrderedDict()
        self._probation: OrderedDict[Hashable, None] = OrderedDict()
        self._protected: OrderedDict[Hashable, None] = OrderedDict()
        self._sketch = CountMinSketch(4 * capacity)
        self._sample_size = 10 * capacity
        self._accesses = 0

    @property
    def capacity(self) -> int:
        """Maximum number of resident keys."""
        return self._capacity

    def __len__(self) -> int:
        return len(self._window) + len(self._probation) + len(self._protected)

    def __contains__(self, key: object) -> bool:
        return key in self._window or key in self._probation or key in self._protected

    def frequency(self, key: Hashable) -> int:
        """Return the sketch's estimate of recent accesses to ``key`` (0 to 15)."""
        return self._sketch.estimate(key)

    def admit(self, key: Hashable) -> Hashable | None:
        """Make ``key`` resident in the window; return the key evicted, if any.

        The evicted key is either the window's candidate (when it is used less often
        than the probation victim) or the probation victim, never ``key`` itself.
        """
        if key in self:
            self.record(key)
            return None
        self._count(key)
        window = self._window
        window[key] = None
        if len(window) <= self._window_capacity:
            return None
        candidate = window.popitem(last=False)[0]
        return self._admit_to_main(candidate)

    def record(self, key: Hashable) -> None:
        """Count one access to ``key`` and refresh its place if it is resident."""
        self._sketch.increment(key)
        self._accesses += 1
        if self._accesses >= self._sample_size:
            self._sketch.halve()
            self._accesses = 0
        protected = self._protected
        if key in protected:
            protected.move_to_end(key)
        elif key in self._window:
            self._window.move_to_end(key)
        elif key in self._probation:
            del self._probation[key]
            self._promote(key)

    def remove(self, key: Hashable) -> bool:
        """Forget ``key``; return whether it was resident. Its counts remain."""
        for segment in (self._window, self._probation, self._protected):
            if segment.pop(key, _MISSING) is not _MISSING:
                return True
        return False

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if segments overlap or exceed their sizes."""
        window = set(self._window)
        probation = set(self._probation)
        protected = set(self._protected)
        assert not window & probation
        assert not window & protected
        assert not probation & protected
        assert len(window) <= self._window_capacity
        assert len(protected) <= self._protected_capacity
        assert len(probation) + len(protected) <= self._main_capacity
        assert len(self) <= self._capacity
        assert 0 <= self._accesses < self._sample_size
        self._sketch.check_invariants()

    def _count(self, key: Hashable) -> None:
        self._sketch.increment(key)
        self._accesses += 1
        if self._accesses >= self._sample_size:
            self._sketch.halve()
            self._accesses = 0

    def _admit_to_main(self, candidate: Hashable) -> Hashable | None:
        probation = self._probation
        protected = self._protected
        if len(probation) + len(protected) < self._main_capacity:
            probation[candidate] = None
            return None
        if probation:
            segment = probation
        elif protected:
            segment = protected
        else:
            return candidate  # no main space at all (capacity 1)
        victim = next(iter(segment))
        sketch = self._sketch
        if sketch.estimate(candidate) <= sketch.estimate(victim):
            return candidate
        del segment[victim]
        probation[candidate] = None
        return victim

    def _promote(self, key: Hashable) -> None:
        protected = self._protected
        protected[key] = None
        if len(protected) > self._protected_capacity:
            demoted = protected.popitem(last=False)[0]
            self._probation[demoted] = None
