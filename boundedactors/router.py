"""Routing messages to one actor per key, by hashing, with activation on demand.

A router can also passivate actors: stop the ones not needed now and rebuild them
on their next message. ``idle_timeout`` stops an actor that got no message for that
long. ``max_active`` caps the active actors and evicts by frequency (W-TinyLFU,
see :mod:`boundedactors.admission`). ``store`` saves each actor's snapshot on the
way out and loads it on the way back in. Messages sent through the router while a
key is being saved, stopped or loaded wait in a bounded buffer and reach the next
incarnation in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, cast

from typing_extensions import TypeVar

from . import _validate
from ._activation import Passivator, RouterStats
from .actor import Actor
from .admission import EvictionPolicy
from .errors import ActorNotFound, MailboxFull, shorten
from .keys import table_key
from .registry import Registry
from .runtime import IDLE, OVERFLOW_POLICIES, RESTART_TYPES, STOPPING, ActorRef
from .stores import StateStore
from .supervisor import _DEFAULT, Supervisor

__all__ = ["Router", "RouterStats", "publish"]

MessageT = TypeVar("MessageT", default=Any)
ReplyT = TypeVar("ReplyT", default=Any)

_EVICTION = ("tinylfu", "lru")


class Router(Generic[MessageT, ReplyT]):
    """Sends each message to the actor for its key, starting it on first use.

    Args:
        supervisor: spawns the actors, so every one of its quotas applies.
        factory: called as ``factory(key)`` to build the actor for a new key, or as
            ``factory(key, state)`` when the router has a ``store`` (``state`` is
            what the store returned, ``None`` for a key never saved). Without a
            factory, messages to unknown keys go to dead letters and ``ask``
            raises :class:`ActorNotFound`.
        registry: where the key-to-actor table lives (default: a new
            :class:`Registry`). Give one to look the actors up elsewhere; it should
            hold only actor references.
        mailbox_size, overflow, restart: spawn options for the actors.
            ``mailbox_size`` and ``overflow`` also bound the buffer of a key whose
            actor is being passivated or activated.

    Passivation (all off by default; see ``docs/passivation.md``):
        idle_timeout: seconds without a message through the router after which an
            actor is saved (with a store) and stopped. ``None`` keeps actors.
        max_active: active actors at most. Activating one more key passivates
            another first (cause ``"capacity"``), chosen by ``eviction``.
        eviction: ``"tinylfu"`` (default: frequency-based admission that a flood
            of one-off keys cannot game) or ``"lru"``.
        store: a :class:`boundedactors.stores.StateStore`. The router loads a
            key's state before building its actor and saves ``actor.snapshot()``
            when it passivates the actor and when the supervisor shuts down.
        max_concurrent_loads: loads running at once; later loads wait in
            arrival order. ``None`` means no limit.
        load_rate: loads started per second at most (a token bucket holding one
            second of loads); ``None`` means no limit.
        saved_cache_size: states of recently passivated keys kept in memory, so
            a key that returns soon skips the store; ``0`` disables the cache.
        store_attempts: tries per load or save before giving up; failures in
            between wait ``store_backoff * 2**(n-1)`` seconds (at most
            ``store_backoff_max``) times a random factor in ``[0.5, 1]``.

    The route from key to actor is one hash-table lookup: no scan over actors,
    whatever their number. Keys of type ``str`` and ``bytes`` are used as they are
    (CPython randomises their hashes); other keys are rehashed through a randomised
    hash (see :func:`boundedactors.keys.table_key`), so keys chosen to collide cost
    O(1) too. Concurrent first messages for one key start exactly one actor, and
    with a store they share one load.
    """

    def __init__(
        self,
        supervisor: Supervisor,
        *,
        factory: Callable[..., Actor[MessageT, ReplyT]] | None = None,
        registry: Registry | None = None,
        mailbox_size: int | None = _DEFAULT,
        overflow: str = _DEFAULT,
        restart: str = _DEFAULT,
        idle_timeout: float | None = None,
        max_active: int | None = None,
        eviction: str = "tinylfu",
        store: StateStore | None = None,
        max_concurrent_loads: int | None = 32,
        load_rate: float | None = None,
        saved_cache_size: int = 0,
        store_attempts: int = 5,
        store_backoff: float = 0.1,
        store_backoff_max: float = 10.0,
    ) -> None:
        if not isinstance(supervisor, Supervisor):
            raise TypeError(f"supervisor must be a Supervisor, got {supervisor!r}")
        if factory is not None and not callable(factory):
            raise TypeError(f"factory must be callable or None, got {factory!r}")
        if registry is not None and not isinstance(registry, Registry):
            raise TypeError(f"registry must be a Registry or None, got {registry!r}")
        if store is not None and not isinstance(store, StateStore):
            raise TypeError(
                f"store must implement StateStore (async load, async save), "
                f"got {store!r}"
            )
        self.supervisor = supervisor
        self.registry = registry if registry is not None else Registry()
        self._factory = factory
        self._names = self.registry._names
        self._options: dict[str, Any] = {}
        if mailbox_size is not _DEFAULT:
            self._options["mailbox_size"] = mailbox_size
        if overflow is not _DEFAULT:
            self._options["overflow"] = overflow
        if restart is not _DEFAULT:
            self._options["restart"] = restart
        buffer_size = (
            supervisor._mailbox_size
            if mailbox_size is _DEFAULT
            else _validate.positive_int("mailbox_size", mailbox_size, allow_none=True)
        )
        overflow_code = (
            supervisor._overflow
            if overflow is _DEFAULT
            else OVERFLOW_POLICIES[
                _validate.choice("overflow", overflow, OVERFLOW_POLICIES)
            ]
        )
        if restart is not _DEFAULT:
            _validate.choice("restart", restart, RESTART_TYPES)
        timeout = _validate.positive_float(
            "idle_timeout", idle_timeout, allow_none=True
        )
        active = _validate.positive_int("max_active", max_active, allow_none=True)
        _validate.choice("eviction", eviction, _EVICTION)
        policy: EvictionPolicy | None = None
        if active is not None:
            from .admission import Lru, TinyLfu

            policy = TinyLfu(active) if eviction == "tinylfu" else Lru(active)
        self._passivator: Passivator | None = None
        if timeout is not None or policy is not None or store is not None:
            self._passivator = Passivator(
                self,
                idle_timeout=timeout,
                policy=policy,
                store=store,
                buffer_size=buffer_size,
                overflow=overflow_code,
                max_concurrent_loads=_validate.positive_int(
                    "max_concurrent_loads", max_concurrent_loads, allow_none=True
                ),
                load_rate=_validate.positive_float(
                    "load_rate", load_rate, allow_none=True
                ),
                saved_cache_size=_validate.non_negative_int(
                    "saved_cache_size", saved_cache_size
                ),
                store_attempts=cast(
                    int, _validate.positive_int("store_attempts", store_attempts)
                ),
                store_backoff=cast(
                    float,
                    _validate.positive_float(
                        "store_backoff", store_backoff, allow_zero=True
                    ),
                ),
                store_backoff_max=cast(
                    float,
                    _validate.positive_float(
                        "store_backoff_max", store_backoff_max, allow_zero=True
                    ),
                ),
            )

    def __len__(self) -> int:
        """Return the number of keys with a live actor."""
        return len(self._names)

    def __contains__(self, key: object) -> bool:
        return self.lookup(key) is not None

    def lookup(self, key: object) -> ActorRef[MessageT, ReplyT] | None:
        """Return the live actor for ``key`` without starting one, or ``None``.

        Returns ``None`` while the key's actor is being passivated or loaded.
        Runtime complexity: O(1).
        """
        ref = self._names.get(key if type(key) is str else table_key(key))
        return ref

    def get(
        self, key: object, *, quota_key: object = None
    ) -> ActorRef[MessageT, ReplyT]:
        """Return the actor for ``key``, starting it through the supervisor if needed.

        A router that passivates returns only an actor that is active or that it
        can start without waiting (no store, and room under ``max_active``). Use
        ``await router.activate(key)`` for the other keys.

        Raises:
            SpawnLimitExceeded: a quota rejected the activation.
            ActorNotFound: there is no actor and the router has no factory, or the
                actor cannot be started without waiting.
        """
        stored = key if type(key) is str else table_key(key)
        ref = self._names.get(stored)
        if ref is not None:
            passivator = self._passivator
            if passivator is not None:
                passivator.touch(stored)
            return ref  # type: ignore[no-any-return]
        passivator = self._passivator
        if passivator is None:
            return self._activate(key, quota_key)
        if self._factory is None or not passivator.can_activate_now(stored):
            raise ActorNotFound(key)
        return passivator.activate_now(key, stored, quota_key)

    async def activate(
        self, key: object, *, quota_key: object = None
    ) -> ActorRef[MessageT, ReplyT]:
        """Return the actor for ``key``, loading and starting it if needed.

        Waits for a passivation or load in progress for the key.

        Raises:
            SpawnLimitExceeded, SupervisorClosed: the actor could not be started.
            ActorNotFound: the router has no factory.
            Exception: what the store's ``load`` raised on its last attempt.
        """
        passivator = self._passivator
        if passivator is None:
            return self.get(key, quota_key=quota_key)
        if self._factory is None:
            raise ActorNotFound(key)
        stored = key if type(key) is str else table_key(key)
        return cast(
            ActorRef[MessageT, ReplyT],
            await passivator.activate(key, stored, quota_key),
        )

    def tell(self, key: object, message: MessageT, *, quota_key: object = None) -> None:
        """Send ``message`` to the actor for ``key`` without waiting.

        Runtime complexity: O(1); allocates nothing beyond ``tell``'s own cost for
        ``str`` and ``bytes`` keys, and one small key object for other keys. With
        passivation on, it also refreshes the key's idle deadline and its
        frequency, both O(1).

        Raises:
            SpawnLimitExceeded: the key had no actor and a quota rejected starting one.
            MailboxFull: the actor's mailbox (or the key's buffer while it is
                passivated or loaded) is full under the ``"reject"`` policy.
        """
        stored = key if type(key) is str else table_key(key)
        ref = self._names.get(stored)
        if ref is not None:
            passivator = self._passivator
            if passivator is not None:
                passivator.touch(stored)
            # The fast path of ActorRef.tell, inlined: an actor that already has
            # mail and room takes the message with no further call.
            mailbox = ref._mailbox
            if mailbox is not None and IDLE < ref._state < STOPPING:
                size = ref._spec.mailbox_size
                if size is None or len(mailbox) < size:
                    mailbox.append(message)
                    return
            ref.tell(message)
            return
        if self._factory is None:
            self.supervisor._dead_letter(message, key, "not_found")
            return
        passivator = self._passivator
        if passivator is not None:
            passivator.tell_inactive(key, stored, message, quota_key)
            return
        self._activate(key, quota_key).tell(message)

    async def ask(
        self,
        key: object,
        message: MessageT,
        timeout: float | None = None,
        *,
        quota_key: object = None,
    ) -> ReplyT:
        """Send ``message`` to the actor for ``key`` and return its reply.

        Raises what :meth:`ActorRef.ask` raises, and :class:`SpawnLimitExceeded` or
        :class:`ActorNotFound` when the key has no actor and none can be started.
        """
        stored = key if type(key) is str else table_key(key)
        ref = self._names.get(stored)
        passivator = self._passivator
        if ref is None and passivator is not None:
            if self._factory is None:
                raise ActorNotFound(key)
            reply = await passivator.ask_inactive(
                key, stored, message, timeout, quota_key
            )
            return cast(ReplyT, reply)
        if ref is None:
            ref = self._activate(key, quota_key)
        elif passivator is not None:
            passivator.touch(stored)
        return cast(ReplyT, await ref.ask(message, timeout))

    async def send(
        self,
        key: object,
        message: MessageT,
        timeout: float | None = None,
        *,
        quota_key: object = None,
    ) -> None:
        """Send ``message`` to the actor for ``key``, waiting for mailbox room."""
        passivator = self._passivator
        if passivator is None:
            await self.get(key, quota_key=quota_key).send(message, timeout)
            return
        stored = key if type(key) is str else table_key(key)
        await passivator.send(key, stored, message, timeout, quota_key)

    async def stop(self, key: object) -> bool:
        """Stop the actor for ``key`` without saving it; return whether it had one."""
        ref = self.lookup(key)
        if ref is None:
            return False
        passivator = self._passivator
        if passivator is not None:
            passivator.forget(key if type(key) is str else table_key(key))
        await ref.stop()
        return True

    async def passivate(self, key: object) -> bool:
        """Save (with a store) and stop the actor for ``key``; wait until done.

        Returns ``False`` when the key has no active actor, or when its state could
        not be saved, in which case the actor stays active.

        Raises:
            RuntimeError: the router has no ``idle_timeout``, ``max_active`` or
                ``store``, so it does not passivate.
        """
        passivator = self._passivator
        if passivator is None:
            raise RuntimeError(
                "this router does not passivate; give it idle_timeout, max_active "
                "or store"
            )
        stored = key if type(key) is str else table_key(key)
        return await passivator.passivate(stored, "explicit")

    def stats(self) -> RouterStats:
        """Return a snapshot of the router's activation and passivation counters.

        Runtime complexity: O(number of passivation causes).
        """
        passivator = self._passivator
        if passivator is None:
            return RouterStats.empty(active=len(self._names))
        return passivator.stats()

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if the router's tables disagree."""
        if self._passivator is not None:
            self._passivator.check_invariants()

    def _activate(self, key: object, quota_key: object) -> ActorRef[Any, Any]:
        if self._factory is None:
            raise ActorNotFound(key)
        if not self._options:
            # Without extra options, a plain keyword call skips building a dict of
            # arguments, which a flood of new keys would pay for on every request.
            return self.supervisor.spawn(
                self._factory,
                key,
                name=key,
                registry=self.registry,
                quota_key=quota_key,
            )
        return self.supervisor.spawn(
            self._factory,
            key,
            name=key,
            registry=self.registry,
            quota_key=quota_key,
            **self._options,
        )


def publish(registry: Registry, group: object, message: object) -> int:
    """Tell ``message`` to every actor in ``group``; return how many accepted it.

    Members whose mailbox is full lose this message to dead letters rather than
    stopping the fan-out. Runtime complexity: O(size of the group); other groups
    are not touched.

    Raises:
        TypeError: a member is not an :class:`ActorRef`; checked before any member
            is sent the message.
    """
    members = registry.members(group)
    for member in members:
        if not isinstance(member, ActorRef):
            raise TypeError(
                f"group {shorten(group)} has a member that is not an ActorRef: "
                f"{shorten(member)}; nothing was sent"
            )
    delivered = 0
    for member in members:
        try:
            member.tell(message)
        except MailboxFull:
            # The fan-out drops the message as a "drop_newest" mailbox would, so
            # it counts as dropped, not as a rejection that a caller saw.
            supervisor = member._spec.supervisor
            supervisor._counters.mailbox_rejected -= 1
            supervisor._counters.mailbox_dropped += 1
            supervisor._dead_letter(message, member._name, "mailbox_full")
            continue
        delivered += 1
    return delivered
