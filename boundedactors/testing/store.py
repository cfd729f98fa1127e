"""InMemoryStore: a state store fake with failure injection and virtual latency."""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Mapping
from typing import Any

import attrs

from ..clock import Clock, LoopClock

__all__ = ["InMemoryStore", "StoreCall"]


@attrs.frozen
class StoreCall:
    """One finished call to an :class:`InMemoryStore`.

    ``state`` is the state saved, or the state a load returned (``None`` for a
    key with no state and for a failed call). ``error`` is the exception the call
    raised, or ``None``. ``started`` and ``finished`` are times of the store's
    clock.
    """

    operation: str
    key: object
    state: object
    error: BaseException | None
    started: float
    finished: float


ErrorSpec = BaseException | type[BaseException]

_MISSING = object()


class InMemoryStore:
    """A state store in a dict, for tests: counts calls and fails on request.

    It implements the store protocol that a router with passivation uses:
    ``async load(key) -> state | None`` and ``async save(key, state) -> None``.
    States are deep-copied on the way in and out (unless ``copy_states=False``),
    as a real store that serializes them would, so a test cannot pass by
    mutating a state after saving it.

    Args:
        data: initial states by key.
        clock: the clock that latency is measured on. Pass the test's
            :class:`~boundedactors.testing.FakeClock` so latency is virtual;
            the default is the event loop's clock, which sleeps for real.
        load_latency, save_latency: seconds each call waits before it completes.
        copy_states: deep-copy states on save and load.

    Every attribute is public so a test can read and change it between steps:
    :attr:`data`, the counters, :attr:`calls` (a log of every finished call, in
    the order they finished), and the latencies.
    """

    def __init__(
        self,
        data: Mapping[Any, Any] | None = None,
        *,
        clock: Clock | None = None,
        load_latency: float = 0.0,
        save_latency: float = 0.0,
        copy_states: bool = True,
    ) -> None:
        self.data: dict[Any, Any] = dict(data or {})
        self.clock: Clock = clock if clock is not None else LoopClock()
        self.load_latency = _non_negative("load_latency", load_latency)
        self.save_latency = _non_negative("save_latency", save_latency)
        self.copy_states = copy_states
        self.loads = 0
        """Load calls started, including failed ones."""
        self.saves = 0
        """Save calls started, including failed ones."""
        self.load_failures = 0
        self.save_failures = 0
        self.loads_in_flight = 0
        self.saves_in_flight = 0
        self.max_loads_in_flight = 0
        """The maximum number of loads that ran at once."""
        self.max_saves_in_flight = 0
        self.calls: list[StoreCall] = []
        self._failing_loads: deque[ErrorSpec] = deque()
        self._failing_saves: deque[ErrorSpec] = deque()

    def __repr__(self) -> str:
        return (
            f"<InMemoryStore keys={len(self.data)} loads={self.loads} "
            f"saves={self.saves}>"
        )

    def __len__(self) -> int:
        """Return the number of keys stored."""
        return len(self.data)

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def fail_next_loads(self, count: int = 1, error: ErrorSpec | None = None) -> None:
        """Make the next ``count`` loads raise ``error`` after their latency.

        ``error`` is an exception instance or class (a class is instantiated
        for each failure); the default is ``ConnectionError``. Calls add up:
        failures queue behind earlier ones.
        """
        self._failing_loads.extend([_checked_error(error)] * _count(count))

    def fail_next_saves(self, count: int = 1, error: ErrorSpec | None = None) -> None:
        """Make the next ``count`` saves raise ``error``; they store nothing."""
        self._failing_saves.extend([_checked_error(error)] * _count(count))

    @property
    def pending_load_failures(self) -> int:
        """Loads still set to fail."""
        return len(self._failing_loads)

    @property
    def pending_save_failures(self) -> int:
        """Saves still set to fail."""
        return len(self._failing_saves)

    async def load(self, key: Any) -> Any:
        """Return the state saved for ``key``, or ``None`` if there is none.

        Raises:
            the injected error, when :meth:`fail_next_loads` asked for one.
        """
        self.loads += 1
        self.loads_in_flight += 1
        self.max_loads_in_flight = max(self.max_loads_in_flight, self.loads_in_flight)
        started = self.clock.now()
        state = None
        error: BaseException | None = None
        try:
            if self.load_latency:
                await self.clock.sleep(self.load_latency)
            if self._failing_loads:
                self.load_failures += 1
                raise _instantiate(self._failing_loads.popleft(), "load")
            state = self.data.get(key)
            if self.copy_states:
                state = copy.deepcopy(state)
            return state
        except BaseException as raised:
            error = raised
            raise
        finally:
            self.loads_in_flight -= 1
            self.calls.append(
                StoreCall("load", key, state, error, started, self.clock.now())
            )

    async def save(self, key: Any, state: Any) -> None:
        """Store ``state`` for ``key``, replacing what was there.

        Raises:
            the injected error, when :meth:`fail_next_saves` asked for one.
        """
        self.saves += 1
        self.saves_in_flight += 1
        self.max_saves_in_flight = max(self.max_saves_in_flight, self.saves_in_flight)
        started = self.clock.now()
        error: BaseException | None = None
        try:
            if self.save_latency:
                await self.clock.sleep(self.save_latency)
            if self._failing_saves:
                self.save_failures += 1
                raise _instantiate(self._failing_saves.popleft(), "save")
            self.data[key] = copy.deepcopy(state) if self.copy_states else state
        except BaseException as raised:
            error = raised
            raise
        finally:
            self.saves_in_flight -= 1
            self.calls.append(
                StoreCall("save", key, state, error, started, self.clock.now())
            )

    async def delete(self, key: Any) -> bool:
        """Remove the state of ``key``; return whether there was one.

        Deletes are logged in :attr:`calls` but take no latency and never fail.
        """
        existed = self.data.pop(key, _MISSING) is not _MISSING
        now = self.clock.now()
        self.calls.append(StoreCall("delete", key, None, None, now, now))
        return existed

    def calls_for(self, key: object, operation: str | None = None) -> list[StoreCall]:
        """Return the finished calls for ``key``, optionally of one operation."""
        return [
            call
            for call in self.calls
            if call.key == key and (operation is None or call.operation == operation)
        ]


def _non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be an int >= 0, got {count!r}")
    return count


def _checked_error(error: ErrorSpec | None) -> ErrorSpec:
    if error is None:
        return ConnectionError
    if isinstance(error, BaseException):
        return error
    if isinstance(error, type) and issubclass(error, BaseException):
        return error
    raise TypeError(f"error must be an exception or exception class, got {error!r}")


def _instantiate(error: ErrorSpec, operation: str) -> BaseException:
    if isinstance(error, BaseException):
        return error
    return error(f"injected {operation} failure")
