"""Passivation and activation of a router's actors: idle deadlines, capacity,
loads and saves through a state store, and the buffers that keep messages safe.

While a key is *in transit* (its actor being saved and stopped, or its state being
loaded), the key has no entry in the router's registry, so the router's fast path
misses and the message lands in the transit's buffer. The buffer is flushed, in
order, into the next incarnation's mailbox in the same synchronous step that
registers that incarnation, so no message can slip between them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict, deque
from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._log import ThrottledLog, logger
from .admission import EvictionPolicy
from .clock import LoopClock, TimerHandle, call_later, run_with_timeout
from .errors import ActorNotFound, ActorStopped, AskTimeout, MailboxFull
from .quotas import TokenBucket
from .runtime import (
    IDLE,
    QUEUED,
    STOPPED,
    STOPPING,
    ActorRef,
    Ask,
    overflow_full_queue,
)
from .stores import StateStore

if TYPE_CHECKING:
    from .router import Router
    from .supervisor import Reservation

__all__ = ["Passivator", "RouterStats"]

ACTIVATING = 0
PASSIVATING = 1

# Outcomes of one passivation attempt.
_STOPPED = "stopped"  # saved (if there is a store) and stopped
_GONE = "gone"  # the actor stopped by itself first; nothing left to save
_FAILED = "failed"  # the state could not be saved; the actor stays active


@attrs.frozen
class RouterStats:
    """Counters of a router's activations, passivations and store traffic.

    ``passivations`` counts by cause: ``"idle"`` (``idle_timeout``), ``"capacity"``
    (``max_active``), ``"shutdown"`` (supervisor shutdown) and ``"explicit"``
    (``router.passivate``). ``loads`` and ``saves`` count calls that succeeded;
    ``load_failures`` and ``save_failures`` count failed attempts, each retried
    until ``store_attempts`` is used up. ``states_lost`` counts actors whose state
    could not be saved before shutdown stopped them anyway (each is also logged).
    """

    active: int
    activating: int
    passivating: int
    activations: int
    passivations: Mapping[str, int]
    loads: int
    load_failures: int
    saves: int
    save_failures: int
    cache_hits: int
    concurrent_loads: int
    peak_concurrent_loads: int
    states_lost: int

    @property
    def passivations_total(self) -> int:
        """Passivations for any cause."""
        return sum(self.passivations.values())

    @classmethod
    def empty(cls, *, active: int) -> RouterStats:
        """Return the stats of a router that does not passivate."""
        return cls(active, 0, 0, 0, {}, 0, 0, 0, 0, 0, 0, 0, 0)


class Transit:
    """A key whose actor is being passivated or activated, with its buffer."""

    __slots__ = (
        "buffer",
        "cause",
        "error",
        "evict_waiters",
        "key",
        "phase",
        "quota_key",
        "reservation",
        "stored",
        "waiters",
    )

    def __init__(self, key: object, stored: Hashable, phase: int) -> None:
        self.key = key
        self.stored = stored
        self.phase = phase
        self.cause = ""
        self.quota_key: object = None
        self.reservation: Reservation | None = None
        self.buffer: deque[Any] = deque()
        self.waiters: list[asyncio.Future[None]] = []
        self.evict_waiters: list[asyncio.Future[None]] = []
        self.error: BaseException | None = None


class Passivator:
    """The passivation machinery of one :class:`Router`."""

    def __init__(
        self,
        router: Router[Any, Any],
        *,
        idle_timeout: float | None,
        policy: EvictionPolicy | None,
        store: StateStore | None,
        buffer_size: int | None,
        overflow: int,
        max_concurrent_loads: int | None,
        load_rate: float | None,
        saved_cache_size: int,
        store_attempts: int,
        store_backoff: float,
        store_backoff_max: float,
    ) -> None:
        self._router = router
        self._supervisor = supervisor = router.supervisor
        self._runtime = supervisor._runtime
        self._clock = supervisor.clock
        self._names = router._names
        self._idle_timeout = idle_timeout
        self._idle: OrderedDict[Hashable, float] | None = (
            None if idle_timeout is None else OrderedDict()
        )
        self._idle_timer: TimerHandle | None = None
        self._policy = policy
        self._store = store
        self._buffer_size = buffer_size
        self._overflow = overflow
        self._transits: dict[Hashable, Transit] = {}
        self._cache_size = saved_cache_size
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._max_loads = max_concurrent_loads
        self._load_rate = load_rate
        self._bucket: TokenBucket | None = None
        self._load_queue: deque[asyncio.Future[None]] = deque()
        self._attempts = store_attempts
        self._backoff = store_backoff
        self._backoff_max = store_backoff_max
        self._closing = False

        self._loading = 0
        self._peak_loading = 0
        self._activations = 0
        self._passivations: Counter[str] = Counter()
        self._loads = 0
        self._load_failures = 0
        self._saves = 0
        self._save_failures = 0
        self._cache_hits = 0
        self._states_lost = 0
        self._failure_log = ThrottledLog(
            self._clock, "state store failures", level=logging.WARNING, burst=5
        )
        if store is not None:
            supervisor._add_shutdown_hook(self.shutdown)

    # The router's paths

    def touch(self, stored: Hashable) -> None:
        """Note a message for an active key: refresh its deadline and frequency."""
        idle = self._idle
        if idle is not None:
            idle[stored] = self._now()
            idle.move_to_end(stored)
            if self._idle_timer is None:
                self._arm_idle_timer()
        policy = self._policy
        if policy is not None:
            policy.record(stored)

    def _now(self) -> float:
        # The first call binds the fastest reader of the clock: loop.time for a
        # LoopClock (skipping get_running_loop on every message), else now().
        clock = self._clock
        now = clock.now
        if type(clock) is LoopClock:
            now = asyncio.get_running_loop().time
        self._now = now  # type: ignore[method-assign]
        return now()

    def can_activate_now(self, stored: Hashable) -> bool:
        """Return whether ``stored`` can be activated without waiting."""
        if self._store is not None or stored in self._transits or self._closing:
            return False
        policy = self._policy
        return policy is None or len(policy) < policy.capacity or stored in policy

    def activate_now(
        self, key: object, stored: Hashable, quota_key: object
    ) -> ActorRef[Any, Any]:
        """Spawn the actor for ``key`` now; the caller checked can_activate_now."""
        ref = self._router._activate(key, quota_key)
        policy = self._policy
        if policy is not None:
            evicted = policy.admit(stored)
            assert evicted is None, "activate_now called at capacity"
        self._activated(stored)
        return ref

    def tell_inactive(
        self, key: object, stored: Hashable, message: object, quota_key: object
    ) -> None:
        """Buffer ``message`` for a key with no active actor, activating it."""
        transit = self._transits.get(stored)
        if transit is None:
            if self.can_activate_now(stored):
                self.activate_now(key, stored, quota_key).tell(message)
                return
            transit = self._begin_activation(key, stored, quota_key)
        self._buffer(transit, message)

    async def ask_inactive(
        self,
        key: object,
        stored: Hashable,
        message: object,
        timeout: float | None,
        quota_key: object,
    ) -> Any:
        """Ask a key with no active actor: buffer the request and await the reply."""
        transit = self._transits.get(stored)
        if transit is None:
            if self.can_activate_now(stored):
                ref = self.activate_now(key, stored, quota_key)
                return await ref.ask(message, timeout)
            transit = self._begin_activation(key, stored, quota_key)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._buffer(transit, Ask(message, future))
        if timeout is None:
            return await future
        label = _label(key)
        handle = call_later(
            self._clock, timeout, lambda: _expire(future, label, timeout)
        )
        try:
            return await future
        finally:
            handle.cancel()

    async def send(
        self,
        key: object,
        stored: Hashable,
        message: object,
        timeout: float | None,
        quota_key: object,
    ) -> None:
        """Queue ``message``, waiting for room in the mailbox or the key's buffer."""
        clock = self._clock
        deadline = None if timeout is None else clock.now() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - clock.now())
            ref = self._names.get(stored)
            if ref is not None:
                self.touch(stored)
                await ref.send(message, remaining)
                return
            if self._router._factory is None:
                raise ActorNotFound(key)
            transit = self._transits.get(stored)
            if transit is None:
                if self.can_activate_now(stored):
                    self.activate_now(key, stored, quota_key)
                    continue
                transit = self._begin_activation(key, stored, quota_key)
            size = self._buffer_size
            if size is None or len(transit.buffer) < size:
                self._buffer(transit, message)
                return
            if remaining is not None and remaining <= 0:
                raise MailboxFull(
                    limit=size, current=len(transit.buffer), actor=_label(key)
                )
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            transit.waiters.append(future)
            try:
                await run_with_timeout(clock, future, remaining)
            except TimeoutError:
                raise MailboxFull(
                    limit=size, current=len(transit.buffer), actor=_label(key)
                ) from None

    async def activate(
        self, key: object, stored: Hashable, quota_key: object
    ) -> ActorRef[Any, Any]:
        """Return the active actor for ``key``, loading and starting it if needed."""
        while True:
            ref = self._names.get(stored)
            if ref is not None:
                self.touch(stored)
                return ref  # type: ignore[no-any-return]
            transit = self._transits.get(stored)
            if transit is None:
                if self.can_activate_now(stored):
                    return self.activate_now(key, stored, quota_key)
                transit = self._begin_activation(key, stored, quota_key)
            await self._wait_transit(transit)
            if transit.phase == ACTIVATING and transit.error is not None:
                raise transit.error

    async def passivate(self, stored: Hashable, cause: str) -> bool:
        """Passivate the actor of ``stored`` now; return whether it was stopped."""
        while True:
            transit = self._transits.get(stored)
            if transit is None:
                break
            await self._wait_transit(transit)
        ref = self._names.get(stored)
        if ref is None or not ref.is_alive:
            return False
        transit = self._begin_passivation(stored, ref, cause)
        await self._wait_transit(transit)
        return transit.error is None

    def forget(self, stored: Hashable) -> None:
        """Stop tracking ``stored`` (its actor stops, or is passivated)."""
        idle = self._idle
        if idle is not None:
            idle.pop(stored, None)
        policy = self._policy
        if policy is not None:
            policy.remove(stored)

    async def shutdown(self) -> None:
        """Save and stop every active actor; called when the supervisor shuts down.

        NOTE: a supervisor that fails on restart intensity stops its children
        without running shutdown hooks, so their states are not saved then.
        """
        self._closing = True
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        for stored, ref in list(self._names.items()):
            if isinstance(ref, ActorRef) and ref.is_alive:
                self._begin_passivation(stored, ref, "shutdown")
        pending = [self._wait_transit(t) for t in list(self._transits.values())]
        if not pending:
            return
        gathered: asyncio.Future[Any] = asyncio.gather(*pending)
        try:
            await run_with_timeout(
                self._clock, gathered, self._supervisor._shutdown_timeout
            )
        except TimeoutError:
            logger.error(
                "router under supervisor %r: %d actors were not saved within "
                "shutdown_timeout",
                self._supervisor.name,
                len(self._transits),
            )

    # Activation

    def _begin_activation(
        self, key: object, stored: Hashable, quota_key: object
    ) -> Transit:
        # Fail fast, to the sender, before any load: the reservation holds the
        # quotas until the spawn, so activations in flight count as live actors.
        reservation = self._supervisor._reserve(quota_key, child_slot=self._has_room())
        transit = Transit(key, stored, ACTIVATING)
        transit.quota_key = quota_key
        transit.reservation = reservation
        self._transits[stored] = transit
        victim = self._admit(stored)
        self._runtime.spawn_background(
            self._activation(transit, victim), "boundedactors-activate"
        )
        return transit

    def _has_room(self) -> bool:
        # At max_active the eviction frees a child slot before the spawn, and
        # max_children may equal max_active, so max_children is checked at the
        # spawn then. If it rejects, the buffered messages go to dead letters
        # with reason "rejected".
        policy = self._policy
        return policy is None or len(policy) < policy.capacity

    async def _activation(
        self, transit: Transit, victim: asyncio.Future[None] | None
    ) -> None:
        stage = "load_failed"
        try:
            state = None
            if self._store is not None:
                state = await self._load(transit)
            stage = "rejected"
            if victim is not None:
                await victim
            ref = self._spawn(transit, state)
        except asyncio.CancelledError:
            self._abandon(transit, "shutdown", None)
            raise
        except Exception as error:
            self._abandon(transit, stage, error)
            return
        self._finish_activation(transit, ref)

    def _spawn(self, transit: Transit, state: Any) -> ActorRef[Any, Any]:
        router = self._router
        factory = router._factory
        if factory is None:
            raise ActorNotFound(transit.key)
        args = (transit.key,) if self._store is None else (transit.key, state)
        reservation = transit.reservation
        assert reservation is not None, "activation without a reservation"
        ref = router.supervisor._spawn_reserved(
            reservation,
            factory,
            *args,
            name=transit.key,
            registry=router.registry,
            **router._options,
        )
        transit.reservation = None
        return ref

    def _release(self, transit: Transit) -> None:
        reservation = transit.reservation
        if reservation is not None:
            transit.reservation = None
            self._supervisor._release(reservation)

    def _finish_activation(self, transit: Transit, ref: ActorRef[Any, Any]) -> None:
        # Synchronous from registration (in spawn) to the end of the flush, so no
        # message can reach the new actor ahead of the buffered ones.
        stored = transit.stored
        del self._transits[stored]
        self._activated(stored)
        for item in transit.buffer:
            self._deliver(ref, item)
        transit.buffer.clear()
        _wake(transit.waiters)
        if transit.evict_waiters:
            # Chosen as a victim while it was loading: passivate it now.
            passivation = self._begin_passivation(stored, ref, "capacity")
            passivation.waiters.extend(transit.evict_waiters)

    def _activated(self, stored: Hashable) -> None:
        self._activations += 1
        idle = self._idle
        if idle is not None:
            idle[stored] = self._clock.now()
            idle.move_to_end(stored)
            if self._idle_timer is None:
                self._arm_idle_timer()

    def _abandon(
        self, transit: Transit, reason: str, error: BaseException | None
    ) -> None:
        """End a failed activation: fail its requests and report its messages."""
        stored = transit.stored
        if self._transits.get(stored) is transit:
            del self._transits[stored]
        self._release(transit)
        if self._policy is not None:
            self._policy.remove(stored)
        transit.error = error or ActorStopped(_label(transit.key))
        if error is not None and reason == "load_failed":
            logger.error(
                "could not load the state of actor %r after %d attempts; "
                "its %d buffered messages go to dead letters: %s",
                transit.key,
                self._attempts,
                len(transit.buffer),
                _describe(error),
            )
        self._drop_buffer(transit, reason, transit.error)
        _wake(transit.waiters)
        _wake(transit.evict_waiters)

    # Passivation

    def _begin_passivation(
        self, stored: Hashable, ref: ActorRef[Any, Any], cause: str
    ) -> Transit:
        transit = Transit(ref._name, stored, PASSIVATING)
        transit.cause = cause
        # The next incarnation, if mail arrives meanwhile, counts against the
        # same quota key as this one.
        transit.quota_key = ref._quota
        self._transits[stored] = transit
        self._router.registry.unregister_value(ref._name, ref)
        self.forget(stored)
        self._runtime.spawn_background(
            self._passivation(transit, ref), "boundedactors-passivate"
        )
        return transit

    async def _passivation(self, transit: Transit, ref: ActorRef[Any, Any]) -> None:
        try:
            outcome = await self._save_and_stop(transit, ref)
        except asyncio.CancelledError:
            self._end_transit(transit)
            raise
        if outcome == _FAILED and ref.is_alive:
            self._restore(transit, ref)
            return
        if outcome == _STOPPED:
            self._passivations[transit.cause] += 1
        _wake(transit.waiters)
        transit.waiters = []
        if not transit.buffer or self._closing:
            self._end_transit(transit)
            return
        # Messages arrived while the actor stopped: start its next incarnation.
        transit.phase = ACTIVATING
        try:
            transit.reservation = self._supervisor._reserve(
                transit.quota_key, child_slot=self._has_room()
            )
        except Exception as error:
            self._abandon(transit, "rejected", error)
            return
        victim = self._admit(transit.stored)
        await self._activation(transit, victim)

    async def _save_and_stop(self, transit: Transit, ref: ActorRef[Any, Any]) -> str:
        store = self._store
        while True:
            state = ref._state
            if state >= STOPPING:
                await self._wait_stopped(ref)
                return _GONE
            if state != IDLE:
                await self._wait_idle(ref)
                continue
            if store is None:
                break
            actor = ref._actor
            assert actor is not None
            try:
                snapshot = actor.snapshot()
            except Exception as error:
                logger.error(
                    "snapshot() of actor %r raised; it stays active: %s",
                    transit.key,
                    _describe(error),
                )
                return _FAILED
            # Hold the actor during the save: mail sent straight to its reference
            # queues up (QUEUED, but not in the run queue) instead of changing the
            # state after the snapshot was taken.
            ref._state = QUEUED
            saved = await self._save(transit, snapshot)
            if ref._state == QUEUED:
                extra = ref._extra
                if ref._mailbox or (extra is not None and extra.stop_reason):
                    # Handle the mail (or a restart request), then snapshot again.
                    self._runtime.schedule(ref)
                else:
                    ref._state = IDLE
            if not saved:
                return _FAILED
            if ref._state == IDLE:
                break
        reason = "shutdown" if transit.cause == "shutdown" else "passivated"
        await self._supervisor._stop_child(ref, reason)
        return _STOPPED

    def _restore(self, transit: Transit, ref: ActorRef[Any, Any]) -> None:
        """Keep an actor whose state could not be saved, with its buffered mail."""
        stored = transit.stored
        del self._transits[stored]
        transit.error = RuntimeError(f"state of actor {_label(transit.key)} not saved")
        if self._closing:
            self._states_lost += 1
            logger.error(
                "state of actor %r could not be saved before shutdown; it is lost",
                transit.key,
            )
        # An earlier attempt may have saved and cached a snapshot; the live actor
        # is newer, and a cached key must not be active.
        self._cache.pop(stored, None)
        self._router.registry.register(transit.key, ref)
        self._activated(stored)
        self._activations -= 1  # the same incarnation, not a new activation
        policy = self._policy
        if policy is not None:
            victim = policy.admit(stored)
            if victim is not None:
                self._evict(victim)
        for item in transit.buffer:
            self._deliver(ref, item)
        transit.buffer.clear()
        _wake(transit.waiters)

    def _end_transit(self, transit: Transit) -> None:
        if self._transits.get(transit.stored) is transit:
            del self._transits[transit.stored]
        self._release(transit)
        self._drop_buffer(transit, "shutdown", ActorStopped(_label(transit.key)))
        _wake(transit.waiters)
        _wake(transit.evict_waiters)

    async def _wait_idle(self, ref: ActorRef[Any, Any]) -> None:
        """Wait until ``ref`` runs out of mail or stops."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        extra = ref._ensure_extra()
        if extra.idle_waiters is None:
            extra.idle_waiters = []
        extra.idle_waiters.append(future)
        if extra.stop_waiters is None:
            extra.stop_waiters = []
        extra.stop_waiters.append(future)
        try:
            await future
        finally:
            for waiters in (extra.idle_waiters, extra.stop_waiters):
                if waiters and future in waiters:
                    waiters.remove(future)
            if ref._extra is extra and extra.is_empty():
                ref._extra = None

    async def _wait_stopped(self, ref: ActorRef[Any, Any]) -> None:
        while ref._state != STOPPED:
            await self._wait_idle(ref)

    # Capacity

    def _admit(self, stored: Hashable) -> asyncio.Future[None] | None:
        """Make ``stored`` resident; return a future for the victim's passivation."""
        policy = self._policy
        if policy is None:
            return None
        victim = policy.admit(stored)
        if victim is None:
            return None
        return self._evict(victim)

    def _evict(self, victim: Hashable) -> asyncio.Future[None] | None:
        # NOTE: an actor that stopped on its own (StopActor, a temporary actor's
        # crash) keeps its place in the policy until it is chosen here, so it
        # takes a slot of max_active until then.
        transit = self._transits.get(victim)
        if transit is not None:
            future = asyncio.get_running_loop().create_future()
            if transit.phase == ACTIVATING:
                transit.evict_waiters.append(future)
            else:
                transit.waiters.append(future)
            return future
        ref = self._names.get(victim)
        if ref is None or not isinstance(ref, ActorRef) or not ref.is_alive:
            if self._idle is not None:
                self._idle.pop(victim, None)
            return None
        passivation = self._begin_passivation(victim, ref, "capacity")
        future = asyncio.get_running_loop().create_future()
        passivation.waiters.append(future)
        return future

    # Idle deadlines: one timer for the whole router, armed at the oldest deadline.

    def _arm_idle_timer(self) -> None:
        idle = self._idle
        if not idle or self._closing:
            return
        assert self._idle_timeout is not None
        oldest = next(iter(idle.values()))
        self._idle_timer = self._clock.call_at(
            oldest + self._idle_timeout, self._idle_due
        )

    def _idle_due(self) -> None:
        self._idle_timer = None
        idle = self._idle
        timeout = self._idle_timeout
        assert idle is not None and timeout is not None
        now = self._clock.now()
        names = self._names
        while idle:
            stored, touched = next(iter(idle.items()))
            if touched + timeout > now:
                break
            del idle[stored]
            ref = names.get(stored)
            if ref is None or not isinstance(ref, ActorRef) or not ref.is_alive:
                if self._policy is not None:
                    self._policy.remove(stored)
                continue
            if ref._state != IDLE:
                idle[stored] = now  # it has mail, so it is not idle
                continue
            self._begin_passivation(stored, ref, "idle")
        self._arm_idle_timer()

    # Store calls

    async def _load(self, transit: Transit) -> Any:
        stored = transit.stored
        cache = self._cache
        if stored in cache:
            self._cache_hits += 1
            return cache.pop(stored)
        store = self._store
        assert store is not None
        await self._acquire_load_slot()
        try:
            attempt = 1
            while True:
                try:
                    state = await store.load(transit.key)
                except Exception as error:
                    self._load_failures += 1
                    self._log_failure("load", transit.key, attempt, error)
                    if attempt >= self._attempts:
                        raise
                    await self._clock.sleep(self._retry_delay(attempt))
                    attempt += 1
                    continue
                self._loads += 1
                return state
        finally:
            self._release_load_slot()

    async def _save(self, transit: Transit, state: Any) -> bool:
        store = self._store
        assert store is not None
        attempt = 1
        while True:
            try:
                await store.save(transit.key, state)
            except Exception as error:
                self._save_failures += 1
                self._log_failure("save", transit.key, attempt, error)
                if attempt >= self._attempts:
                    logger.error(
                        "could not save the state of actor %r after %d attempts; "
                        "it stays active: %s",
                        transit.key,
                        attempt,
                        _describe(error),
                    )
                    return False
                await self._clock.sleep(self._retry_delay(attempt))
                attempt += 1
                continue
            self._saves += 1
            if self._cache_size:
                cache = self._cache
                cache[transit.stored] = state
                cache.move_to_end(transit.stored)
                if len(cache) > self._cache_size:
                    cache.popitem(last=False)
            return True

    def _retry_delay(self, attempt: int) -> float:
        delay: float = min(self._backoff * 2 ** (attempt - 1), self._backoff_max)
        return delay * (1.0 - 0.5 * self._runtime.rng.random())

    def _log_failure(
        self, operation: str, key: object, attempt: int, error: Exception
    ) -> None:
        def detail() -> None:
            logger.warning(
                "%s of the state of actor %r failed (attempt %d of %d): %s",
                operation,
                key,
                attempt,
                self._attempts,
                _describe(error),
            )

        self._failure_log.record(operation, detail)

    async def _acquire_load_slot(self) -> None:
        limit = self._max_loads
        if limit is not None and (self._loading >= limit or self._load_queue):
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._load_queue.append(future)
            try:
                await future  # _release_load_slot hands its slot over
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._release_load_slot()
                raise
        else:
            self._loading += 1
        self._peak_loading = max(self._peak_loading, self._loading)
        rate = self._load_rate
        if rate is None:
            return
        clock = self._clock
        bucket = self._bucket
        if bucket is None:
            bucket = self._bucket = TokenBucket(rate, max(1.0, rate), clock.now())
        while bucket.tokens(clock.now()) < 1.0:
            await clock.sleep(bucket.retry_after(clock.now()))
        bucket.take(clock.now())

    def _release_load_slot(self) -> None:
        queue = self._load_queue
        while queue:
            future = queue.popleft()
            if not future.done():
                future.set_result(None)
                return
        self._loading -= 1

    # Buffers

    def _buffer(self, transit: Transit, item: Any) -> None:
        buffer = transit.buffer
        size = self._buffer_size
        policy = self._policy
        if policy is not None:
            policy.record(transit.stored)
        if size is None or len(buffer) < size:
            buffer.append(item)
            return
        overflow_full_queue(
            self._supervisor, buffer, item, self._overflow, size, transit.key
        )

    def _deliver(self, ref: ActorRef[Any, Any], item: Any) -> None:
        try:
            ref.tell(item)
        except MailboxFull as error:
            message = item
            if type(item) is Ask:
                if not item.future.done():
                    item.future.set_exception(error)
                message = item.message
            self._supervisor._dead_letter(message, ref._name, "mailbox_full")

    def _drop_buffer(self, transit: Transit, reason: str, error: BaseException) -> None:
        supervisor = self._supervisor
        for item in transit.buffer:
            message = item
            if type(item) is Ask:
                if not item.future.done():
                    item.future.set_exception(error)
                message = item.message
            supervisor._dead_letter(message, transit.key, reason)
        transit.buffer.clear()

    def _wait_transit(self, transit: Transit) -> asyncio.Future[None]:
        """Return a future that is resolved when ``transit`` ends its phase."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        transit.waiters.append(future)
        return future

    # Reporting

    def stats(self) -> RouterStats:
        """Return a snapshot of the counters."""
        transits = self._transits.values()
        activating = sum(1 for t in transits if t.phase == ACTIVATING)
        return RouterStats(
            active=len(self._names),
            activating=activating,
            passivating=len(self._transits) - activating,
            activations=self._activations,
            passivations=dict(self._passivations),
            loads=self._loads,
            load_failures=self._load_failures,
            saves=self._saves,
            save_failures=self._save_failures,
            cache_hits=self._cache_hits,
            concurrent_loads=self._loading,
            peak_concurrent_loads=self._peak_loading,
            states_lost=self._states_lost,
        )

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if the tables disagree."""
        names = self._names
        for stored, transit in self._transits.items():
            assert stored not in names, "a key in transit is also registered"
            assert transit.stored == stored
            reservation = transit.reservation
            if transit.phase == ACTIVATING:
                assert reservation is not None, "an activation holds no quotas"
                assert not reservation.settled
                assert reservation in reservation.supervisor._reservations
            else:
                assert reservation is None, "a passivation holds quotas"
            if self._buffer_size is not None:
                assert len(transit.buffer) <= self._buffer_size
        idle = self._idle
        if idle is not None:
            assert not set(idle) & set(self._transits)
            times = list(idle.values())
            assert times == sorted(times), "idle deadlines out of order"
            if idle and not self._closing:
                assert self._idle_timer is not None, "no idle timer armed"
        policy = self._policy
        if policy is not None:
            policy.check_invariants()
        assert len(self._cache) <= self._cache_size
        assert not set(self._cache) & set(names), "a cached key is active"
        assert self._loading >= 0
        if self._max_loads is not None:
            assert self._loading <= self._max_loads
        assert self._peak_loading >= self._loading


def _wake(waiters: list[asyncio.Future[None]]) -> None:
    for future in waiters:
        if not future.done():
            future.set_result(None)
    waiters.clear()


def _expire(future: asyncio.Future[Any], label: str | None, timeout: float) -> None:
    if not future.done():
        future.set_exception(AskTimeout(label, timeout))


def _label(key: object) -> str | None:
    return None if key is None else str(key)[:80]


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
