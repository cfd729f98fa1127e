"""Supervisors: spawn quotas, restarts, and ordered shutdown."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from typing_extensions import TypeVar, Unpack

from . import _validate
from ._log import ThrottledLog, logger
from .actor import Actor, StopActor
from .clock import Clock, LoopClock, call_later, run_with_timeout
from .errors import (
    ActorStopped,
    AlreadyRegistered,
    RestartIntensityExceeded,
    SpawnLimitExceeded,
    SupervisorClosed,
    shorten,
)
from .keys import table_key
from .quotas import KeyCounter, TokenBucket
from .registry import Registry
from .runtime import (
    IDLE,
    OVERFLOW_POLICIES,
    QUEUED,
    RESTART,
    RESTART_TYPES,
    RUNNING,
    STARTING,
    STOPPED,
    STOPPING,
    TEMPORARY,
    TRANSIENT,
    WAITING,
    ActorRef,
    Ask,
    Runtime,
    Spec,
)
from .stats import Counters, DeadLetter, Stats
from .symbols import SymbolTable

__all__ = ["Supervisor"]

if TYPE_CHECKING:
    from .objects import Proxy, SpawnObjectOptions

M = TypeVar("M")
R = TypeVar("R")
T = TypeVar("T")


class _Default:
    """Marks an option left to the supervisor's default."""

    def __repr__(self) -> str:
        return "<supervisor default>"


_DEFAULT: Any = _Default()
_MAX_WORKERS = 4096
_STRATEGIES = ("one_for_one", "one_for_all")
_RESTART_LIMIT_SCOPES = ("supervisor", "child")


class Supervisor:
    """Spawns actors within quotas, restarts them when they crash, stops them in order.

    Use it as ``async with Supervisor(...) as sup:``. Leaving the block stops the
    children in reverse start order. All options are keyword-only; ``None`` means no
    limit.

    Quotas, checked in O(1) on every spawn, before anything is allocated:
        max_children: live actors under this supervisor and its nested supervisors.
            Actors waiting to restart after a crash still count.
        spawn_rate, spawn_burst: a token bucket of spawns per second. ``spawn_burst``
            defaults to ``max(1, spawn_rate)``.
        per_key_limit: live actors per ``quota_key`` passed to ``spawn``.
        max_quota_keys: size of the table of quota keys that have live actors.

    Restarts:
        strategy: ``"one_for_one"`` restarts the crashed actor; ``"one_for_all"``
            restarts every child.
        max_restarts, max_seconds: past ``max_restarts`` restarts within
            ``max_seconds``, the supervisor stops all children and fails with
            :class:`RestartIntensityExceeded` (raised from ``async with``, or reported
            to the parent supervisor).
        restart_limit_scope: ``"supervisor"`` (the default, as in OTP) counts the
            restarts of all children together, so a few messages that crash
            their actors stop every child. ``"child"`` counts each actor's
            restarts on its own and stops only an actor past the limit, sending
            its mail to dead letters. Use it when outsiders choose the messages.
        restart_backoff, restart_backoff_max, restart_jitter: the n-th consecutive
            restart of an actor waits ``min(restart_backoff * 2**(n-1),
            restart_backoff_max)`` seconds, times a random factor in
            ``[1 - restart_jitter, 1]``. An actor's count resets once it handles a
            message.

    Mailboxes (defaults for ``spawn``):
        mailbox_size: messages an actor may queue; ``None`` is unbounded and unsafe
            when outsiders can send.
        overflow: ``"reject"`` (``tell`` raises :class:`MailboxFull`),
            ``"drop_oldest"`` or ``"drop_newest"`` (the dropped message goes to dead
            letters).
        restart: ``"permanent"``, ``"transient"`` or ``"temporary"``.

    Runtime:
        workers: worker tasks that run actors with mail; at most this many
            ``receive`` calls run at once in the whole supervisor tree.
        messages_per_turn: messages a worker hands one actor before moving on.
        stop_timeout: seconds an actor gets to finish its current message and its
            ``on_stop``; then it is cancelled.
        shutdown_timeout: seconds for the whole shutdown; actors still running after
            it are cancelled without ``on_stop``.
        dead_letters: ``callable(DeadLetter)`` called for each dead letter.
        clock: a :class:`boundedactors.clock.Clock`; ``FakeClock`` in tests.
        registry: where ``spawn(name=...)`` registers names (default: a new one).
        symbols: the :class:`SymbolTable` reported in ``stats()`` (default: a new
            one with the default ceiling).
        seed: seed for the restart jitter, for reproducible tests.
        name: shown in logs and errors.
    """

    def __init__(
        self,
        *,
        max_children: int | None = 100_000,
        spawn_rate: float | None = None,
        spawn_burst: float | None = None,
        per_key_limit: int | None = None,
        max_quota_keys: int = 100_000,
        strategy: str = "one_for_one",
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        restart_limit_scope: str = "supervisor",
        restart_backoff: float = 0.1,
        restart_backoff_max: float = 10.0,
        restart_jitter: float = 0.5,
        mailbox_size: int | None = 1000,
        overflow: str = "reject",
        restart: str = "permanent",
        workers: int = 32,
        messages_per_turn: int = 64,
        stop_timeout: float = 5.0,
        shutdown_timeout: float = 30.0,
        dead_letters: Callable[[DeadLetter], object] | None = None,
        clock: Clock | None = None,
        registry: Registry | None = None,
        symbols: SymbolTable | None = None,
        seed: int | None = None,
        name: str | None = None,
        _parent: Supervisor | None = None,
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"name must be a str or None, got {shorten(name)} "
                f"({type(name).__name__})"
            )
        if seed is not None and type(seed) is not int:
            raise TypeError(
                f"seed must be an int or None, got {shorten(seed)} "
                f"({type(seed).__name__})"
            )
        self.name = name
        self._max_children = _validate.positive_int(
            "max_children", max_children, allow_none=True
        )
        rate = _validate.positive_float("spawn_rate", spawn_rate, allow_none=True)
        burst = _validate.positive_float("spawn_burst", spawn_burst, allow_none=True)
        if burst is not None and rate is None:
            raise ValueError("spawn_burst needs spawn_rate; got spawn_rate=None")
        if burst is not None and burst < 1:
            raise ValueError(
                f"spawn_burst must be >= 1 so that one spawn can pass, got {burst!r}"
            )
        self._spawn_rate = rate
        self._spawn_burst = burst if burst is not None else max(1.0, rate or 1.0)
        per_key = _validate.positive_int(
            "per_key_limit", per_key_limit, allow_none=True
        )
        quota_keys = _validate.positive_int("max_quota_keys", max_quota_keys)
        assert quota_keys is not None
        self._per_key = None if per_key is None else KeyCounter(per_key, quota_keys)
        self._strategy = _validate.choice("strategy", strategy, _STRATEGIES)
        self._restart_limit_scope = _validate.choice(
            "restart_limit_scope", restart_limit_scope, _RESTART_LIMIT_SCOPES
        )
        self._max_restarts = _validate.non_negative_int("max_restarts", max_restarts)
        self._max_seconds: float = _validate.positive_float("max_seconds", max_seconds)  # type: ignore[assignment]
        self._backoff: float = _validate.positive_float(  # type: ignore[assignment]
            "restart_backoff", restart_backoff, allow_zero=True
        )
        self._backoff_max: float = _validate.positive_float(  # type: ignore[assignment]
            "restart_backoff_max", restart_backoff_max, allow_zero=True
        )
        jitter = _validate.positive_float(
            "restart_jitter", restart_jitter, allow_zero=True
        )
        if jitter is None or jitter > 1:
            raise ValueError(
                f"restart_jitter must be in [0, 1], got {restart_jitter!r}"
            )
        self._jitter = jitter
        self._mailbox_size = _validate.positive_int(
            "mailbox_size", mailbox_size, allow_none=True
        )
        self._overflow = OVERFLOW_POLICIES[
            _validate.choice("overflow", overflow, OVERFLOW_POLICIES)
        ]
        self._restart = RESTART_TYPES[
            _validate.choice("restart", restart, RESTART_TYPES)
        ]
        self._stop_timeout: float = _validate.positive_float(
            "stop_timeout", stop_timeout
        )  # type: ignore[assignment]
        self._shutdown_timeout: float = _validate.positive_float(  # type: ignore[assignment]
            "shutdown_timeout", shutdown_timeout
        )
        if dead_letters is not None and not callable(dead_letters):
            raise TypeError(
                f"dead_letters must be callable or None, got {dead_letters!r}"
            )
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(
                f"clock must implement Clock (now, call_at, sleep), got {clock!r}"
            )
        if registry is not None and not isinstance(registry, Registry):
            raise TypeError(f"registry must be a Registry or None, got {registry!r}")
        if symbols is not None and not isinstance(symbols, SymbolTable):
            raise TypeError(f"symbols must be a SymbolTable or None, got {symbols!r}")

        self._parent = _parent
        self._dead_letter_hook = dead_letters
        if _parent is None:
            if type(workers) is int and workers > _MAX_WORKERS:
                raise ValueError(
                    f"workers must be at most {_MAX_WORKERS:,}, because each is a "
                    f"task created at start, got {workers!r}"
                )
            self._runtime = Runtime(
                clock=clock or LoopClock(),
                workers=_validate.positive_int("workers", workers),  # type: ignore[arg-type]
                messages_per_turn=_validate.positive_int(  # type: ignore[arg-type]
                    "messages_per_turn", messages_per_turn
                ),
                rng=random.Random(seed),
            )
            # Compare with None: an empty Registry or SymbolTable is falsy.
            self.registry = registry if registry is not None else Registry()
            self.symbols = symbols if symbols is not None else SymbolTable()
        else:
            self._runtime = _parent._runtime
            self.registry = registry if registry is not None else _parent.registry
            self.symbols = symbols if symbols is not None else _parent.symbols
            if dead_letters is None:
                self._dead_letter_hook = _parent._dead_letter_hook
        self.clock = self._runtime.clock

        self._state = "new"
        self._failure: RestartIntensityExceeded | None = None
        self._children: dict[ActorRef[Any, Any] | Supervisor, None] = {}
        self._total = 0
        # Child slots held by reservations here and in nested supervisors.
        self._reserved = 0
        self._reservations: dict[Reservation, None] = {}
        self._bucket: TokenBucket | None = None
        self._restart_times: deque[float] = deque()
        self._counters = Counters()
        self._spec: Spec | None = None
        self._closed: asyncio.Event | None = None
        self._shutdown_hooks: list[Callable[[], Awaitable[None]]] = []
        self._rejections = ThrottledLog(self.clock, "rejected", level=logging.WARNING)
        self._dead_log = ThrottledLog(self.clock, "dead letters", level=logging.INFO)
        self._crash_log = ThrottledLog(
            self.clock, "crashes not logged in full", level=logging.ERROR, burst=10
        )

    # Lifecycle

    async def __aenter__(self) -> Supervisor:
        if self._parent is not None:
            raise RuntimeError(
                "a nested supervisor is already running; do not enter it"
            )
        if self._state != "new":
            raise RuntimeError(
                f"supervisor {self.name!r} is {self._state}; cannot enter it again"
            )
        self._start()
        self._runtime.start()
        logger.info("supervisor %r started", self.name)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
        if exc is None and self._failure is not None:
            raise self._failure

    def _start(self) -> None:
        self._state = "running"
        self._closed = asyncio.Event()
        if self._spawn_rate is not None:
            self._bucket = TokenBucket(
                self._spawn_rate, self._spawn_burst, self.clock.now()
            )

    def supervisor(self, **options: Any) -> Supervisor:
        """Create a running nested supervisor that shares this one's workers.

        Its actors count against the ``max_children`` and ``spawn_rate`` of every
        ancestor, like nested cgroups. It stops with its parent, or earlier with
        ``await nested.aclose()``. Options are those of :class:`Supervisor`, except
        the runtime ones (``workers``, ``messages_per_turn``, ``clock``, ``seed``).
        """
        self._check_running()
        for option in ("workers", "messages_per_turn", "clock", "seed"):
            if option in options:
                raise TypeError(
                    f"{option} is shared with the parent supervisor; remove it"
                )
        child = Supervisor(_parent=self, **options)
        child._start()
        self._children[child] = None
        return child

    async def aclose(self) -> None:
        """Stop all children in reverse start order, then the workers (root only).

        Queued messages go to dead letters with reason ``"shutdown"``. Idempotent.
        """
        if self._state in ("stopping", "stopped"):
            if self._closed is not None:
                await self._closed.wait()
            return
        if self._state == "new":
            self._state = "stopped"
            return
        self._state = "stopping"
        try:
            await self._run_shutdown_hooks()
            await self._stop_children("shutdown")
        finally:
            self._state = "stopped"
            if self._parent is not None:
                self._parent._children.pop(self, None)
                self._counters.add_to(self._parent._counters)
                self._counters = Counters()
            self._rejections.flush()
            self._dead_log.flush()
            self._crash_log.flush()
            if self._parent is None:
                await self._runtime.close(grace=self._stop_timeout)
            assert self._closed is not None
            self._closed.set()
            logger.info("supervisor %r stopped", self.name)

    def _add_shutdown_hook(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Await ``hook()`` when shutdown begins, before any child is stopped.

        Routers use this to save their actors' state while the actors still exist.
        Spawns are already rejected while the hooks run.
        """
        self._shutdown_hooks.append(hook)

    async def _run_shutdown_hooks(self) -> None:
        hooks = self._shutdown_hooks
        self._shutdown_hooks = []
        for hook in hooks:
            try:
                await hook()
            except Exception:
                logger.exception("shutdown hook of supervisor %r raised", self.name)

    async def settle(self) -> None:
        """Return once no actor in this tree has mail and no work is in flight."""
        await self._runtime.settle()

    @property
    def failure(self) -> RestartIntensityExceeded | None:
        """The error that stopped this supervisor, if restart intensity did."""
        return self._failure

    @property
    def is_running(self) -> bool:
        """Whether the supervisor accepts spawns."""
        return self._state == "running"

    def __len__(self) -> int:
        """Return the number of live actors, including those of nested supervisors."""
        return self._total

    def __repr__(self) -> str:
        return f"<Supervisor {self.name!r} {self._state} children={self._total}>"

    # Spawning

    def spawn(
        self,
        factory: Callable[..., Actor[M, R]],
        /,
        *args: Any,
        name: object = None,
        quota_key: object = None,
        mailbox_size: int | None = _DEFAULT,
        overflow: str = _DEFAULT,
        restart: str = _DEFAULT,
        registry: Registry | None = None,
    ) -> ActorRef[M, R]:
        """Create an actor from ``factory(*args)`` and return its reference.

        Every quota of this supervisor and its ancestors is checked first, in O(1)
        each, and a rejected spawn allocates nothing. The factory runs here, so its
        errors reach the caller; ``on_start`` runs on a worker before the first
        message. A crashed actor is rebuilt with the same ``factory`` and ``args``.
        The reference is typed ``ActorRef[M, R]`` when the factory builds an
        ``Actor[M, R]``, so mypy checks what ``tell`` and ``ask`` send and return.

        With ``name``, the actor is registered in ``registry`` (default: the
        supervisor's) and unregistered when it stops. ``quota_key`` (for example a
        client address or tenant id) is counted against ``per_key_limit``.

        Runtime complexity: O(depth of nesting). Allocates the reference, one
        entry in the supervisor's table, and the user's object.

        Raises:
            SpawnLimitExceeded: a quota rejected the spawn.
            SupervisorClosed: the supervisor is stopping, stopped or failed.
            AlreadyRegistered, RegistryFull: ``name`` could not be registered.
        """
        self._check_running()
        stored_key = None if quota_key is None else table_key(quota_key)
        self._check_quotas(quota_key, stored_key)
        return self._build(
            factory, args, name, stored_key, mailbox_size, overflow, restart, registry
        )

    def _spawn_reserved(
        self,
        reservation: Reservation,
        factory: Callable[..., Actor[M, R]],
        /,
        *args: Any,
        name: object = None,
        mailbox_size: int | None = _DEFAULT,
        overflow: str = _DEFAULT,
        restart: str = _DEFAULT,
        registry: Registry | None = None,
    ) -> ActorRef[M, R]:
        """Spawn as :meth:`spawn` does, on quotas that ``reservation`` holds.

        Only ``max_children`` is checked here, and only for a reservation made
        without a child slot. If this raises, the reservation stays held, and the
        caller releases it.
        """
        self._check_running()
        if reservation.supervisor is not self or reservation.settled:
            raise RuntimeError(
                "reservation already settled or made by another supervisor"
            )
        if not reservation.child_slot:
            self._check_children()
        return self._build(
            factory,
            args,
            name,
            reservation.stored_key,
            mailbox_size,
            overflow,
            restart,
            registry,
            reservation,
        )

    def _build(
        self,
        factory: Callable[..., Actor[M, R]],
        args: tuple[Any, ...],
        name: object,
        stored_key: Hashable | None,
        mailbox_size: Any,
        overflow: Any,
        restart: Any,
        registry: Registry | None,
        reservation: Reservation | None = None,
    ) -> ActorRef[M, R]:
        spec = self._spec_for(factory, mailbox_size, overflow, restart)

        target = None
        if name is not None:
            target = registry if registry is not None else self.registry
            # Check the name before the factory runs, so a rejected name builds
            # no user object and triggers none of the factory's side effects.
            if name in target:
                raise AlreadyRegistered(name)
            target._check_room()
        actor = factory(*args)
        ref: ActorRef[M, R] = ActorRef(spec, actor, args, name, target, stored_key)
        if target is not None:
            target.register(name, ref)

        self._children[ref] = None
        if reservation is None:
            self._commit_spawn(stored_key)
        else:
            self._settle_reservation(reservation, spawned=True)
        self._counters.spawned += 1
        if type(actor).on_start is not Actor.on_start:
            ref._state = STARTING
            self._runtime.schedule(ref)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("actor %r started under supervisor %r", name, self.name)
        return ref

    def spawn_object(
        self, obj: T, /, **options: Unpack[SpawnObjectOptions]
    ) -> Proxy[T]:
        """Run ``obj`` inside an actor and return a :class:`Proxy` that calls it.

        ``await proxy.method(*args)`` runs ``obj.method`` inside the actor, one
        call at a time in arrival order, for ``def`` and ``async def`` methods alike,
        under this supervisor's quotas, mailbox bound and restarts. A restarted
        actor keeps the same object unless ``rebuild`` makes a fresh one. Options
        are those of :meth:`spawn` plus ``rebuild``, ``timeout`` and
        ``reply_errors`` (see :class:`boundedactors.objects.SpawnObjectOptions`).

        Runtime complexity: that of :meth:`spawn`, plus one proxy and one holder.
        """
        from .objects import spawn_object

        return spawn_object(self, obj, **options)

    def _check_running(self) -> None:
        if self._state != "running":
            state = "failed" if self._failure is not None else self._state
            raise SupervisorClosed(self.name, state)

    def _check_quotas(
        self, quota_key: object, stored_key: Hashable | None, *, children: bool = True
    ) -> None:
        # Reserved child slots and tokens count as live actors and spent tokens.
        supervisor: Supervisor | None = self
        now = None
        while supervisor is not None:
            max_children = supervisor._max_children
            if children and max_children is not None:
                current = supervisor._total + supervisor._reserved
                if current >= max_children:
                    supervisor._reject("max_children", max_children, current)
            bucket = supervisor._bucket
            if bucket is not None:
                if now is None:
                    now = self.clock.now()
                tokens = bucket.tokens(now)
                if tokens < 1.0:
                    supervisor._reject(
                        "spawn_rate",
                        bucket.rate,
                        round(bucket.burst - tokens, 3),
                        bucket.retry_after(now),
                    )
            counter = supervisor._per_key
            if counter is not None and stored_key is not None:
                count = counter.count(stored_key)
                if count >= counter.per_key:
                    supervisor._reject(
                        "per_key", counter.per_key, count, quota_key=quota_key
                    )
                if count == 0 and counter.is_full():
                    supervisor._reject("quota_keys", counter.max_keys, len(counter))
            supervisor = supervisor._parent

    def _check_children(self) -> None:
        supervisor: Supervisor | None = self
        while supervisor is not None:
            max_children = supervisor._max_children
            if max_children is not None:
                current = supervisor._total + supervisor._reserved
                if current >= max_children:
                    supervisor._reject("max_children", max_children, current)
            supervisor = supervisor._parent

    def _reserve(self, quota_key: object, *, child_slot: bool = True) -> Reservation:
        """Check every quota as :meth:`spawn` does, and hold them for a spawn later.

        The reservation takes a spawn token and counts against ``per_key_limit``
        and ``max_quota_keys`` now. With ``child_slot`` it also counts against
        ``max_children``, else that one is checked by :meth:`_spawn_reserved`.
        Pass it to :meth:`_spawn_reserved`, or to :meth:`_release` if the spawn
        will not happen.

        Raises:
            SpawnLimitExceeded: a quota rejected the spawn; nothing is held.
            SupervisorClosed: the supervisor is stopping, stopped or failed.
        """
        self._check_running()
        stored_key = None if quota_key is None else table_key(quota_key)
        self._check_quotas(quota_key, stored_key, children=child_slot)
        reservation = Reservation(self, stored_key, child_slot)
        self._reservations[reservation] = None
        self._charge_quotas(stored_key, live=False, child_slot=child_slot)
        return reservation

    def _release(self, reservation: Reservation) -> None:
        """Give back what ``reservation`` holds; does nothing if it is settled."""
        if not reservation.settled:
            reservation.supervisor._settle_reservation(reservation, spawned=False)

    def _settle_reservation(self, reservation: Reservation, *, spawned: bool) -> None:
        # A spawn turns the held slot into a live one and keeps the token and the
        # per-key count; a release gives all three back.
        reservation.settled = True
        del self._reservations[reservation]
        stored_key = reservation.stored_key
        supervisor: Supervisor | None = self
        now = None
        while supervisor is not None:
            if reservation.child_slot:
                supervisor._reserved -= 1
            if spawned:
                supervisor._total += 1
            else:
                if supervisor._bucket is not None:
                    if now is None:
                        now = self.clock.now()
                    supervisor._bucket.give_back(now)
                if supervisor._per_key is not None and stored_key is not None:
                    supervisor._per_key.remove(stored_key)
            supervisor = supervisor._parent

    def _reject(
        self,
        reason: str,
        limit: float,
        current: float,
        retry_after: float | None = None,
        quota_key: object = None,
    ) -> None:
        self._counters.rejected[reason] += 1
        self._rejections.record(reason)
        raise SpawnLimitExceeded._create(
            reason, limit, current, retry_after, self.name, quota_key
        )

    def _commit_spawn(self, stored_key: Hashable | None) -> None:
        self._charge_quotas(stored_key, live=True, child_slot=False)

    def _charge_quotas(
        self, stored_key: Hashable | None, *, live: bool, child_slot: bool
    ) -> None:
        # Up the whole chain: count a live actor (or hold a child slot for a
        # reservation), take a spawn token, and count the quota key.
        supervisor: Supervisor | None = self
        now = None
        while supervisor is not None:
            if live:
                supervisor._total += 1
            elif child_slot:
                supervisor._reserved += 1
            if supervisor._bucket is not None:
                if now is None:
                    now = self.clock.now()
                supervisor._bucket.take(now)
            if supervisor._per_key is not None and stored_key is not None:
                supervisor._per_key.add(stored_key)
            supervisor = supervisor._parent

    def _spec_for(
        self, factory: object, mailbox_size: Any, overflow: Any, restart: Any
    ) -> Spec:
        if mailbox_size is _DEFAULT:
            mailbox_size = self._mailbox_size
        else:
            mailbox_size = _validate.positive_int(
                "mailbox_size", mailbox_size, allow_none=True
            )
        overflow_code = (
            self._overflow
            if overflow is _DEFAULT
            else OVERFLOW_POLICIES[
                _validate.choice("overflow", overflow, OVERFLOW_POLICIES)
            ]
        )
        restart_code = (
            self._restart
            if restart is _DEFAULT
            else RESTART_TYPES[_validate.choice("restart", restart, RESTART_TYPES)]
        )
        spec = self._spec
        if spec is not None and spec.matches(
            factory, mailbox_size, overflow_code, restart_code
        ):
            return spec
        if not callable(factory):
            raise TypeError(f"factory must be callable, got {factory!r}")
        spec = Spec(self, factory, mailbox_size, overflow_code, restart_code)
        self._spec = spec
        return spec

    # Called by the workers

    async def _start_actor(self, ref: ActorRef[Any, Any]) -> bool:
        """Build the actor if needed and run ``on_start``; ``False`` if it crashed."""
        actor = ref._actor
        if actor is None:
            try:
                actor = ref._actor = ref._spec.factory(*ref._args)
            except Exception as error:
                await self._child_crashed(ref, error)
                return False
        if type(actor).on_start is not Actor.on_start:
            try:
                await actor.on_start()
            except (Exception, asyncio.CancelledError) as error:
                if _worker_cancelled(error):
                    raise
                await self._child_crashed(ref, error)
                return False
        return True

    async def _child_crashed(
        self, ref: ActorRef[Any, Any], error: BaseException
    ) -> None:
        """Stop the crashed incarnation and restart or stop the actor."""
        normal_exit = isinstance(error, StopActor)
        if not normal_exit:
            self._counters.crashes += 1
            self._log_crash(ref, error)
        old = ref._actor
        ref._actor = None
        if old is not None:
            await self._call_on_stop(ref, old, "stopped" if normal_exit else error)

        extra = ref._extra
        if extra is not None and extra.stop_reason not in (None, RESTART):
            self._finalize(ref, extra.stop_reason)
            return
        restart = ref._spec.restart
        if restart == TEMPORARY or (restart == TRANSIENT and normal_exit):
            self._finalize(ref, "stopped")
            return
        if self._state != "running":
            self._finalize(ref, "shutdown")
            return
        if self._restart_limit_scope == "child":
            if not self._allow_child_restart(ref):
                self._counters.restarts_refused += 1
                self._log_restart_refused(ref)
                self._finalize(ref, "stopped")
                return
        elif not self._allow_restart():
            self._finalize(ref, "stopped")
            self._fail()
            return
        self._schedule_restart(ref)
        if self._strategy == "one_for_all":
            for child in list(self._children):
                if child is not ref and isinstance(child, ActorRef):
                    self._request_restart(child)

    def _schedule_restart(self, ref: ActorRef[Any, Any]) -> None:
        self._counters.restarts += 1
        extra = ref._ensure_extra()
        extra.stop_reason = None
        extra.restarts += 1
        # The exponent is capped because 2.0**1024 overflows a float: an actor that
        # has failed for hours would otherwise crash the worker that restarts it.
        exponent = min(extra.restarts - 1, _MAX_BACKOFF_EXPONENT)
        delay = min(self._backoff * 2.0**exponent, self._backoff_max)
        delay *= 1.0 - self._jitter * self._runtime.rng.random()
        self._log_restart(ref, extra.restarts, delay)
        if delay <= 0:
            ref._state = STARTING
            self._runtime.schedule(ref)
            return
        ref._state = WAITING
        extra.timer = call_later(self.clock, delay, lambda: self._restart_due(ref))

    def _restart_due(self, ref: ActorRef[Any, Any]) -> None:
        extra = ref._extra
        if extra is not None:
            extra.timer = None
        if ref._state == WAITING:
            ref._state = STARTING
            self._runtime.schedule(ref)

    def _request_restart(self, ref: ActorRef[Any, Any]) -> None:
        state = ref._state
        if state >= WAITING or state == STARTING:
            return  # not started yet, so there is nothing to stop or restart
        extra = ref._ensure_extra()
        if extra.stop_reason is None:
            extra.stop_reason = RESTART
        if state == IDLE:
            ref._state = QUEUED
            self._runtime.schedule(ref)

    async def _handle_stop_request(self, ref: ActorRef[Any, Any]) -> None:
        """Act on a stop or restart request, on the worker that runs ``ref``."""
        extra = ref._extra
        assert extra is not None
        reason = extra.stop_reason
        if reason == RESTART:
            extra.stop_reason = None
            old = ref._actor
            ref._actor = None
            if old is not None:
                await self._call_on_stop(ref, old, RESTART)
            if ref._state == RUNNING:
                ref._state = STARTING
                self._runtime.schedule(ref)
            return
        ref._state = STOPPING
        old = ref._actor
        if old is not None:
            await self._call_on_stop(ref, old, reason)
        self._finalize(ref, reason)

    # Stopping

    async def _stop_child(
        self, ref: ActorRef[Any, Any], reason: object, timeout: float | None = None
    ) -> None:
        """Stop ``ref`` after its current message; wait until it has stopped."""
        state = ref._state
        if state == STOPPED:
            return
        if timeout is None:
            timeout = self._stop_timeout
        extra = ref._ensure_extra()
        if state in (IDLE, QUEUED, STARTING, WAITING):
            started = state in (IDLE, QUEUED)
            ref._state = STOPPING
            extra.stop_reason = reason
            old = ref._actor
            if started and old is not None and timeout > 0:
                await self._call_on_stop(ref, old, reason, timeout)
            self._finalize(ref, reason)
            return
        if extra.stop_reason is None or extra.stop_reason == RESTART:
            extra.stop_reason = reason
        worker = self._runtime.find_worker(ref)
        if worker is not None and worker.task is asyncio.current_task():
            return  # the actor is stopping itself; it stops after this message
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if extra.stop_waiters is None:
            extra.stop_waiters = []
        extra.stop_waiters.append(future)
        try:
            await run_with_timeout(self.clock, asyncio.shield(future), timeout)
            return
        except TimeoutError:
            pass
        worker = self._runtime.find_worker(ref)
        logger.warning(
            "actor %r did not stop within %.1f s; cancelling it", ref._name, timeout
        )
        if worker is not None and worker.task is not None:
            worker.kill_target = ref
            worker.task.cancel()
            try:
                await run_with_timeout(
                    self.clock, asyncio.shield(future), self._stop_timeout
                )
                return
            except TimeoutError:
                logger.error("actor %r ignored cancellation; dropping it", ref._name)
        self._finalize(ref, "killed")

    async def _stop_children(self, reason: str) -> None:
        deadline = self.clock.now() + self._shutdown_timeout
        for child in reversed(list(self._children)):
            if isinstance(child, Supervisor):
                await child.aclose()
                continue
            state = child._state
            if state == STOPPED:
                continue
            if state == IDLE and type(child._actor).on_stop is Actor.on_stop:
                child._state = STOPPING
                self._finalize(child, reason)
                continue
            remaining = max(0.0, deadline - self.clock.now())
            await self._stop_child(child, reason, min(self._stop_timeout, remaining))

    async def _call_on_stop(
        self,
        ref: ActorRef[Any, Any],
        actor: Actor[Any, Any],
        reason: object,
        timeout: float | None = None,
    ) -> None:
        if type(actor).on_stop is Actor.on_stop:
            return
        task = asyncio.get_running_loop().create_task(actor.on_stop(reason))
        # The task is awaited through a shield, so that an on_stop that ignores
        # cancellation cannot hold the stop past a second stop_timeout.
        try:
            await run_with_timeout(
                self.clock, asyncio.shield(task), timeout or self._stop_timeout
            )
            return
        except TimeoutError:
            logger.warning("on_stop of actor %r timed out; cancelling it", ref._name)
        except asyncio.CancelledError as error:
            if _worker_cancelled(error):
                task.cancel()
                _keep_until_done(task)
                raise
            logger.warning("on_stop of actor %r was cancelled", ref._name)
            return
        except Exception:
            logger.exception("on_stop of actor %r raised", ref._name)
            return
        task.cancel()
        try:
            await run_with_timeout(self.clock, asyncio.shield(task), self._stop_timeout)
        except TimeoutError:
            logger.error(
                "on_stop of actor %r ignored cancellation; no longer waiting for it",
                ref._name,
            )
            _keep_until_done(task)
        except asyncio.CancelledError as error:
            if _worker_cancelled(error):
                _keep_until_done(task)
                raise
        except Exception:
            logger.exception("on_stop of actor %r raised", ref._name)

    def _finalize(self, ref: ActorRef[Any, Any], reason: object) -> None:
        """Mark ``ref`` stopped and release everything it holds. Synchronous."""
        if ref._state == STOPPED:
            return
        ref._state = STOPPED
        ref._actor = None
        letter_reason = "shutdown" if reason == "shutdown" else "stopped"
        mailbox = ref._mailbox
        ref._mailbox = None
        if mailbox:
            # Empty the deque itself: a worker whose handler ignored cancellation
            # may still hold it and must not handle these dead letters.
            while mailbox:
                item = mailbox.popleft()
                message = item
                if type(item) is Ask:
                    if not item.future.done():
                        item.future.set_exception(ActorStopped(_label(ref)))
                    message = item.message
                self._dead_letter(message, ref._name, letter_reason)
        if ref._registry is not None:
            ref._registry.unregister_value(ref._name, ref)
        extra = ref._extra
        ref._extra = None
        if extra is not None:
            if extra.timer is not None:
                extra.timer.cancel()
            for registry, group in extra.groups or ():
                registry.leave(group, ref)
            for waiter in extra.send_waiters or ():
                if not waiter.done():
                    waiter.set_exception(ActorStopped(_label(ref)))
        if self._children.pop(ref, _MISSING) is not _MISSING:
            supervisor: Supervisor | None = self
            while supervisor is not None:
                supervisor._total -= 1
                if supervisor._per_key is not None and ref._quota is not None:
                    supervisor._per_key.remove(ref._quota)
                supervisor = supervisor._parent
            self._counters.stopped += 1
        if extra is not None:
            for waiter in extra.stop_waiters or ():
                if not waiter.done():
                    waiter.set_result(None)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("actor %r stopped: %s", ref._name, _describe(reason))

    # Restart intensity

    def _allow_child_restart(self, ref: ActorRef[Any, Any]) -> bool:
        now = self.clock.now()
        extra = ref._ensure_extra()
        times = extra.crash_times
        if times is None:
            times = extra.crash_times = deque()
        times.append(now)
        while times and times[0] <= now - self._max_seconds:
            times.popleft()
        return len(times) <= self._max_restarts

    def _allow_restart(self) -> bool:
        now = self.clock.now()
        times = self._restart_times
        times.append(now)
        while times and times[0] <= now - self._max_seconds:
            times.popleft()
        return len(times) <= self._max_restarts

    def _fail(self) -> None:
        if self._failure is not None:
            return
        self._failure = RestartIntensityExceeded(
            limit=self._max_restarts,
            current=len(self._restart_times),
            max_seconds=self._max_seconds,
            supervisor=self.name,
        )
        logger.error("%s; stopping its children", self._failure)
        self._state = "failed"
        parent = self._parent
        if parent is None:
            stopping = self._stop_children("shutdown")
        else:
            # aclose() also removes this supervisor from its parent, once its
            # actors have stopped and no longer count against the parent.
            stopping = self.aclose()
            parent._child_supervisor_failed(self)
        self._runtime.spawn_background(stopping, f"boundedactors-failed-{self.name}")

    def _child_supervisor_failed(self, child: Supervisor) -> None:
        logger.error("nested supervisor %r failed under %r", child.name, self.name)
        self._counters.crashes += 1
        if self._state == "running" and not self._allow_restart():
            self._fail()

    # Dead letters, logs, stats

    def _dead_letter(self, message: object, recipient: object, reason: str) -> None:
        # A stopped nested supervisor has handed its counters to its parent, so
        # letters to its stale references are counted where stats() still looks.
        supervisor = self
        while supervisor._state == "stopped" and supervisor._parent is not None:
            supervisor = supervisor._parent
        supervisor._counters.dead_letters[reason] += 1
        self._dead_log.record(reason)
        hook = self._dead_letter_hook
        if hook is not None:
            try:
                hook(DeadLetter(message, recipient, reason))
            except Exception:
                logger.exception("dead_letters hook raised; the dead letter is counted")

    def _log_crash(self, ref: ActorRef[Any, Any], error: BaseException) -> None:
        def detail() -> None:
            logger.error(
                "actor %r crashed under supervisor %r",
                ref._name,
                self.name,
                exc_info=(type(error), error, error.__traceback__),
            )

        self._crash_log.record(type(error).__name__, detail)

    def _log_restart(self, ref: ActorRef[Any, Any], count: int, delay: float) -> None:
        def detail() -> None:
            logger.warning(
                "restarting actor %r in %.3f s (consecutive restart %d)",
                ref._name,
                delay,
                count,
            )

        self._crash_log.record("restart", detail)

    def _log_restart_refused(self, ref: ActorRef[Any, Any]) -> None:
        def detail() -> None:
            logger.warning(
                "actor %r stopped instead of restarted: more than %d restarts "
                "within %.1f s",
                ref._name,
                self._max_restarts,
                self._max_seconds,
            )

        self._crash_log.record("restart_refused", detail)

    def stats(self) -> Stats:
        """Return a snapshot of the counters of this supervisor and its nested ones.

        Runtime complexity: O(number of nested supervisors).
        """
        total = Counters()
        pending = [self]
        while pending:
            supervisor = pending.pop()
            supervisor._counters.add_to(total)
            pending.extend(c for c in supervisor._children if isinstance(c, Supervisor))
        return Stats(
            live_actors=self._total,
            spawned=total.spawned,
            stopped=total.stopped,
            rejected=dict(total.rejected),
            crashes=total.crashes,
            restarts=total.restarts,
            restarts_refused=total.restarts_refused,
            messages_handled=total.handled,
            mailbox_rejected=total.mailbox_rejected,
            mailbox_dropped=total.mailbox_dropped,
            dead_letters=sum(total.dead_letters.values()),
            dead_letters_by_reason=dict(total.dead_letters),
            symbols_used=len(self.symbols),
            symbols_limit=self.symbols.limit,
        )

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if counts differ from the actors that exist."""
        own = [c for c in self._children if isinstance(c, ActorRef)]
        nested = [c for c in self._children if isinstance(c, Supervisor)]
        assert all(ref._state != STOPPED for ref in own)
        assert self._total == len(own) + sum(child._total for child in nested)
        own_slots = sum(1 for r in self._reservations if r.child_slot)
        assert self._reserved == own_slots + sum(child._reserved for child in nested)
        assert all(not r.settled for r in self._reservations)
        if self._max_children is not None:
            assert self._total + self._reserved <= self._max_children
        if self._bucket is not None:
            self._bucket.check_invariants()
        if self._per_key is not None:
            live: dict[Hashable, int] = {}
            for ref in self._iter_actors():
                if ref._quota is not None:
                    live[ref._quota] = live.get(ref._quota, 0) + 1
            for reservation in self._iter_reservations():
                if reservation.stored_key is not None:
                    key = reservation.stored_key
                    live[key] = live.get(key, 0) + 1
            self._per_key.check_invariants(live)
        for ref in own:
            if ref._state == IDLE:
                assert ref._mailbox is None, "idle actor kept its mailbox"
            size = ref._spec.mailbox_size
            if size is not None and ref._mailbox is not None:
                assert len(ref._mailbox) <= size
            if ref._registry is not None:
                assert ref._registry.lookup(ref._name) is ref
        for child in nested:
            child.check_invariants()

    def _iter_actors(self) -> list[ActorRef[Any, Any]]:
        found: list[ActorRef[Any, Any]] = []
        for child in self._children:
            if isinstance(child, Supervisor):
                found.extend(child._iter_actors())
            else:
                found.append(child)
        return found

    def _iter_reservations(self) -> list[Reservation]:
        found = list(self._reservations)
        for child in self._children:
            if isinstance(child, Supervisor):
                found.extend(child._iter_reservations())
        return found


class Reservation:
    """Quotas held for one spawn that has not happened yet.

    A router takes one before it loads a new key's state, so a request that a
    quota would reject costs no load, and loads in flight count as live actors.
    """

    __slots__ = ("child_slot", "settled", "stored_key", "supervisor")

    def __init__(
        self, supervisor: Supervisor, stored_key: Hashable | None, child_slot: bool
    ) -> None:
        self.supervisor = supervisor
        self.stored_key = stored_key
        self.child_slot = child_slot
        self.settled = False


_MISSING = object()
_MAX_BACKOFF_EXPONENT = 64


def _label(ref: ActorRef[Any, Any]) -> str | None:
    return None if ref._name is None else str(ref._name)[:80]


# Strong references to on_stop tasks the supervisor no longer waits for: the
# event loop keeps only weak ones, and a pending task must not be collected.
_ABANDONED: set[asyncio.Task[Any]] = set()


def _keep_until_done(task: asyncio.Task[Any]) -> None:
    if task.done():
        _retrieve(task)
        return
    _ABANDONED.add(task)
    task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Task[Any]) -> None:
    _ABANDONED.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("abandoned on_stop raised", exc_info=task.exception())


def _worker_cancelled(error: BaseException) -> bool:
    """Return whether ``error`` cancels the current task itself, as opposed to a
    ``CancelledError`` that user code raised or let escape."""
    if not isinstance(error, asyncio.CancelledError):
        return False
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _describe(reason: object) -> str:
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}"
    return str(reason)
