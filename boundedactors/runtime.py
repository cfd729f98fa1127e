"""Actor references, mailboxes and the bounded pool of workers that runs actors.

An idle actor is one :class:`ActorRef` (nine slots) plus the user's object: it has
no task and no queue. ``tell`` on an idle actor allocates its mailbox (a ``deque``)
and appends the actor to the run queue. A fixed number of worker tasks take actors
from the run queue and hand each one at most ``messages_per_turn`` messages before
moving on, so a busy actor cannot starve the rest. When a mailbox empties it is
freed again.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Protocol, cast

from typing_extensions import TypeVar

from ._log import ThrottledLog, logger
from .actor import Actor, StopActor
from .clock import Clock, TimerHandle, call_later
from .errors import ActorStopped, AskTimeout, MailboxFull, shorten
from .registry import Registry
from .stats import Counters

__all__ = ["ActorRef", "Runtime"]

MessageT = TypeVar("MessageT", default=Any)
ReplyT = TypeVar("ReplyT", default=Any)

# Actor states. A state >= STOPPING accepts no more mail.
IDLE = 0  # no mail, not in the run queue
QUEUED = 1  # in the run queue
STARTING = 2  # in the run queue; on_start (and maybe the factory) must run first
RUNNING = 3  # a worker is handling it
WAITING = 4  # crashed; waiting for its restart backoff to end
STOPPING = 5
STOPPED = 6

REJECT = 0
DROP_OLDEST = 1
DROP_NEWEST = 2
OVERFLOW_POLICIES = {
    "reject": REJECT,
    "drop_oldest": DROP_OLDEST,
    "drop_newest": DROP_NEWEST,
}

PERMANENT = 0
TRANSIENT = 1
TEMPORARY = 2
RESTART_TYPES = {"permanent": PERMANENT, "transient": TRANSIENT, "temporary": TEMPORARY}

RESTART = "restart"


class Ask:
    """A message sent with ``ask``: the message and the future for its reply."""

    __slots__ = ("future", "message")

    def __init__(self, message: object, future: asyncio.Future[Any]) -> None:
        self.message = message
        self.future = future


class ChildOwner(Protocol):
    """The part of a supervisor that workers and references call.

    ``boundedactors.supervisor.Supervisor`` implements it. Naming it here keeps the
    runtime below the supervisor in the import graph.
    """

    _runtime: Runtime
    _counters: Counters
    _rejections: ThrottledLog

    async def _start_actor(self, ref: ActorRef[Any, Any]) -> bool: ...

    async def _child_crashed(
        self, ref: ActorRef[Any, Any], error: BaseException
    ) -> None: ...

    async def _handle_stop_request(self, ref: ActorRef[Any, Any]) -> None: ...

    async def _stop_child(
        self, ref: ActorRef[Any, Any], reason: object, timeout: float | None = None
    ) -> None: ...

    def _finalize(self, ref: ActorRef[Any, Any], reason: object) -> None: ...

    def _dead_letter(self, message: object, recipient: object, reason: str) -> None: ...


class Spec:
    """Options shared by the actors one supervisor spawned with the same settings.

    Storing them once, rather than in every actor, keeps an idle actor small.
    """

    __slots__ = (
        "factory",
        "mailbox_size",
        "overflow",
        "restart",
        "runtime",
        "supervisor",
    )

    def __init__(
        self,
        supervisor: ChildOwner,
        factory: Callable[..., Actor[Any, Any]],
        mailbox_size: int | None,
        overflow: int,
        restart: int,
    ) -> None:
        self.supervisor = supervisor
        self.runtime = supervisor._runtime
        self.factory = factory
        self.mailbox_size = mailbox_size
        self.overflow = overflow
        self.restart = restart

    def matches(
        self, factory: object, mailbox_size: int | None, overflow: int, restart: int
    ) -> bool:
        return (
            self.factory is factory
            and self.mailbox_size == mailbox_size
            and self.overflow == overflow
            and self.restart == restart
        )


class Extra:
    """Per-actor state that only busy, crashing or stopping actors need."""

    __slots__ = (
        "crash_times",
        "groups",
        "idle_waiters",
        "restarts",
        "send_waiters",
        "stop_reason",
        "stop_waiters",
        "timer",
    )

    def __init__(self) -> None:
        self.send_waiters: deque[asyncio.Future[None]] | None = None
        self.stop_waiters: list[asyncio.Future[None]] | None = None
        self.stop_reason: object = None
        self.restarts = 0
        self.timer: TimerHandle | None = None
        self.groups: list[tuple[Registry, object]] | None = None
        # Resolved when the actor next runs out of mail; the router waits on these
        # before it takes a snapshot for passivation.
        self.idle_waiters: list[asyncio.Future[None]] | None = None
        # Times of this actor's recent restarts, kept only when the supervisor
        # limits restarts per child.
        self.crash_times: deque[float] | None = None

    def is_empty(self) -> bool:
        return (
            not self.send_waiters
            and not self.stop_waiters
            and self.stop_reason is None
            and self.restarts == 0
            and self.timer is None
            and not self.groups
            and not self.idle_waiters
            and not self.crash_times
        )


class ActorRef(Generic[MessageT, ReplyT]):
    """A reference to a live actor, and the actor's own bookkeeping.

    ``tell`` never blocks, ``ask`` awaits the reply, ``send`` waits for mailbox room,
    ``stop`` stops the actor after its current message. References compare by
    identity; the same reference survives the actor's restarts.
    """

    __slots__ = (
        "_actor",
        "_args",
        "_extra",
        "_mailbox",
        "_name",
        "_quota",
        "_registry",
        "_spec",
        "_state",
    )

    _actor: Actor[Any, Any] | None
    _mailbox: deque[Any] | None
    _extra: Extra | None

    def __init__(
        self,
        spec: Spec,
        actor: Actor[Any, Any],
        args: tuple[Any, ...],
        name: object,
        registry: Registry | None,
        quota: object,
    ) -> None:
        self._actor = actor
        self._spec = spec
        self._args = args
        self._mailbox = None
        self._state = IDLE
        self._name = name
        self._registry = registry
        self._quota = quota
        self._extra = None

    def __repr__(self) -> str:
        state = (
            "idle",
            "queued",
            "starting",
            "running",
            "waiting",
            "stopping",
            "stopped",
        )
        return f"<ActorRef {self._name!r} {state[self._state]}>"

    @property
    def name(self) -> object:
        """The name or router key the actor was spawned with, or ``None``."""
        return self._name

    @property
    def is_alive(self) -> bool:
        """Whether the actor still accepts messages."""
        return self._state < STOPPING

    @property
    def mailbox_len(self) -> int:
        """Number of messages waiting in the mailbox."""
        mailbox = self._mailbox
        return 0 if mailbox is None else len(mailbox)

    @property
    def actor(self) -> Actor[MessageT, ReplyT] | None:
        """The current actor object, or ``None`` between incarnations.

        For tests and debugging: touching it from outside the actor bypasses the
        one-message-at-a-time rule.
        """
        return self._actor

    def tell(self, message: MessageT) -> None:
        """Queue ``message`` for the actor and return at once.

        Runtime complexity: O(1). Allocates the mailbox only if the actor was idle.

        Raises:
            MailboxFull: the mailbox is full and its overflow policy is
                ``"reject"``. Under ``"drop_oldest"`` and ``"drop_newest"`` a message
                is dropped to dead letters instead and nothing is raised.

        A message to an actor that has stopped goes to dead letters.
        """
        state = self._state
        if state == IDLE:
            self._mailbox = deque((message,))
            self._state = QUEUED
            self._spec.runtime.schedule(self)
            return
        if state >= STOPPING:
            self._spec.supervisor._dead_letter(message, self._name, "stopped")
            return
        mailbox = self._mailbox
        if mailbox is None:
            mailbox = self._mailbox = deque()
        size = self._spec.mailbox_size
        if size is not None and len(mailbox) >= size:
            self._overflow(mailbox, message)
            return
        mailbox.append(message)

    async def ask(self, message: MessageT, timeout: float | None = None) -> ReplyT:
        """Send ``message`` and return what ``receive`` returned for it.

        Re-raises what ``receive`` raised. Runtime complexity: O(1); allocates a
        future and an envelope, and a timer when ``timeout`` is set.

        Raises:
            AskTimeout: no reply within ``timeout`` seconds of the supervisor's
                clock. The message stays queued and is still handled.
            MailboxFull: the mailbox is full under ``"reject"`` or
                ``"drop_newest"`` (the message is not queued), or a
                ``"drop_oldest"`` mailbox dropped the message before it was handled.
            ActorStopped: the actor stopped before it handled the message.
            TypeError, ValueError: ``timeout`` is not a number, or is NaN.
        """
        if timeout is not None:
            _check_timeout(timeout)
        if self._state >= STOPPING:
            raise ActorStopped(_label(self._name))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        envelope = Ask(message, future)
        mailbox = self._mailbox
        size = self._spec.mailbox_size
        if mailbox is not None and size is not None and len(mailbox) >= size:
            policy = self._spec.overflow
            if policy != DROP_OLDEST:
                supervisor = self._spec.supervisor
                supervisor._counters.mailbox_rejected += 1
                supervisor._rejections.record("mailbox_full")
                raise MailboxFull(
                    limit=size, current=len(mailbox), actor=_label(self._name)
                )
        self.tell(envelope)  # type: ignore[arg-type]
        if timeout is None:
            return cast(ReplyT, await future)
        clock = self._spec.runtime.clock
        handle = call_later(clock, timeout, lambda: _expire(future, self, timeout))
        try:
            return cast(ReplyT, await future)
        finally:
            handle.cancel()

    async def send(self, message: MessageT, timeout: float | None = None) -> None:
        """Queue ``message``, waiting for mailbox room instead of overflowing.

        Waiting senders are served in arrival order. ``timeout=None`` waits until
        there is room or the actor stops.

        Raises:
            MailboxFull: no room within ``timeout`` seconds.
            ActorStopped: the actor stopped while the sender waited.
            TypeError, ValueError: ``timeout`` is not a number, or is NaN.
        """
        if timeout is not None:
            _check_timeout(timeout)
        size = self._spec.mailbox_size
        clock = self._spec.runtime.clock
        deadline = None if timeout is None else clock.now() + timeout
        woken = False
        while True:
            if self._state >= STOPPING:
                raise ActorStopped(_label(self._name))
            mailbox = self._mailbox
            extra = self._extra
            queued = extra is not None and bool(extra.send_waiters)
            if size is None or mailbox is None or (len(mailbox) < size and not queued):
                self.tell(message)
                return
            remaining = None if deadline is None else max(0.0, deadline - clock.now())
            await self._wait_for_room(size, remaining, first=woken)
            woken = True
            mailbox = self._mailbox
            if self._state < STOPPING and (mailbox is None or len(mailbox) < size):
                self.tell(message)
                return
            # Another sender's tell() took the room first: wait again, at the head
            # of the queue so arrival order holds, within the time that is left.

    async def stop(self) -> None:
        """Stop the actor after its current message and wait until it has stopped.

        Queued messages go to dead letters. A name registered for the actor is
        removed before this returns. Stopping a stopped actor does nothing.
        """
        await self._spec.supervisor._stop_child(self, "stopped")

    def join(self, registry: Registry, group: object, meta: Any = None) -> bool:
        """Join ``group`` in ``registry``; the actor leaves it when it stops.

        Raises:
            ActorStopped: the actor has stopped, so it would never leave.
        """
        if self._state >= STOPPING:
            raise ActorStopped(_label(self._name))
        if not registry.join(group, self, meta):
            return False
        extra = self._ensure_extra()
        if extra.groups is None:
            extra.groups = []
        extra.groups.append((registry, group))
        return True

    def leave(self, registry: Registry, group: object) -> bool:
        """Leave ``group`` in ``registry``."""
        left = registry.leave(group, self)
        extra = self._extra
        if left and extra is not None and extra.groups:
            for index, (joined, name) in enumerate(extra.groups):
                if joined is registry and name == group:
                    del extra.groups[index]
                    break
        return left

    # Internals shared with the supervisor and the workers.

    def _ensure_extra(self) -> Extra:
        extra = self._extra
        if extra is None:
            extra = self._extra = Extra()
        return extra

    def _overflow(self, mailbox: deque[Any], message: object) -> None:
        spec = self._spec
        overflow_full_queue(
            spec.supervisor,
            mailbox,
            message,
            spec.overflow,
            spec.mailbox_size or 0,
            self._name,
        )

    async def _wait_for_room(
        self, size: int, timeout: float | None, *, first: bool = False
    ) -> None:
        extra = self._ensure_extra()
        if extra.send_waiters is None:
            extra.send_waiters = deque()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if first:
            extra.send_waiters.appendleft(future)
        else:
            extra.send_waiters.append(future)
        handle: TimerHandle | None = None
        if timeout is not None:
            handle = call_later(
                self._spec.runtime.clock, timeout, lambda: _expire_send(future)
            )
        try:
            await future
        except MailboxFull:
            mailbox = self._mailbox
            raise MailboxFull(
                limit=size,
                current=0 if mailbox is None else len(mailbox),
                actor=_label(self._name),
            ) from None
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._wake_sender()  # pass on the room this sender was woken for
            raise
        finally:
            if handle is not None:
                handle.cancel()
            waiters = extra.send_waiters
            if waiters and not future.done():
                future.cancel()
            if waiters is not None and future in waiters:
                waiters.remove(future)

    def _wake_sender(self) -> None:
        extra = self._extra
        if extra is None or not extra.send_waiters:
            return
        waiters = extra.send_waiters
        while waiters:
            future = waiters.popleft()
            if not future.done():
                future.set_result(None)
                return


def _check_timeout(timeout: object) -> None:
    # A NaN deadline compares false with every other, so it would break the order
    # of the timer heap that it joins (the event loop's, or a FakeClock's).
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(
            f"timeout must be a number of seconds or None, got {shorten(timeout)} "
            f"({type(timeout).__name__})"
        )
    if math.isnan(timeout):
        raise ValueError("timeout must be a number of seconds or None, got nan")


def _label(name: object) -> str | None:
    return None if name is None else str(name)[:80]


def overflow_full_queue(
    supervisor: ChildOwner,
    queue: deque[Any],
    item: object,
    policy: int,
    size: int,
    recipient: object,
) -> None:
    """Apply the overflow ``policy`` to ``item`` arriving at the full ``queue``.

    Under ``"reject"``, and for an ask under any policy but ``"drop_oldest"``,
    this raises :class:`MailboxFull`. Otherwise one message is dropped to dead
    letters, and a dropped ask's caller gets :class:`MailboxFull`.
    """
    if policy == REJECT or (type(item) is Ask and policy != DROP_OLDEST):
        supervisor._counters.mailbox_rejected += 1
        supervisor._rejections.record("mailbox_full")
        raise MailboxFull(limit=size, current=len(queue), actor=_label(recipient))
    supervisor._counters.mailbox_dropped += 1
    if policy == DROP_OLDEST:
        dropped = queue.popleft()
        queue.append(item)
    else:
        dropped = item
    if type(dropped) is Ask:
        future = dropped.future
        if not future.done():
            future.set_exception(
                MailboxFull(limit=size, current=len(queue), actor=_label(recipient))
            )
        dropped = dropped.message
    supervisor._dead_letter(dropped, recipient, "mailbox_full")


def _expire(
    future: asyncio.Future[Any], ref: ActorRef[Any, Any], timeout: float
) -> None:
    if not future.done():
        future.set_exception(AskTimeout(_label(ref._name), timeout))


def _expire_send(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(MailboxFull(limit=0, current=0))


class Worker:
    """One worker task and the actor it is handling, if any."""

    __slots__ = ("current", "kill_target", "task")

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.current: ActorRef[Any, Any] | None = None
        self.kill_target: ActorRef[Any, Any] | None = None


class Runtime:
    """The run queue and the worker tasks shared by a tree of supervisors."""

    def __init__(
        self,
        *,
        clock: Clock,
        workers: int,
        messages_per_turn: int,
        rng: random.Random,
    ) -> None:
        self.clock = clock
        self.rng = rng
        self.messages_per_turn = messages_per_turn
        self._size = workers
        self._run_queue: deque[ActorRef[Any, Any]] = deque()
        self._idle: deque[asyncio.Future[None]] = deque()
        self._workers: list[Worker] = []
        self._busy = 0
        self._inflight = 0
        self._settle_waiters: list[asyncio.Future[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self.running = False

    def start(self) -> None:
        """Start the worker tasks on the running loop."""
        loop = asyncio.get_running_loop()
        self.running = True
        self._busy = self._size
        for index in range(self._size):
            worker = Worker()
            worker.task = loop.create_task(
                self._work(worker), name=f"boundedactors-worker-{index}"
            )
            self._workers.append(worker)
        settle = getattr(self.clock, "attach", None)
        if settle is not None:
            settle(self)

    async def close(self, grace: float = 5.0) -> None:
        """Cancel the worker tasks and background tasks, and wait for them.

        A task still running ``grace`` seconds (of real time) after its cancellation
        is left behind with an error log, because a handler that swallows
        ``CancelledError`` cannot be stopped from outside.
        """
        self.running = False
        tasks = [w.task for w in self._workers if w.task is not None]
        tasks.extend(self._background)
        for task in tasks:
            task.cancel()
        # Cancelled tasks normally end within a few loop passes. Only a task that
        # outlives them costs a real-time wait, so FakeClock tests arm no timer.
        for _ in range(10):
            if all(task.done() for task in tasks):
                break
            await asyncio.sleep(0)
        stubborn = [task for task in tasks if not task.done()]
        if stubborn:
            _, pending = await asyncio.wait(stubborn, timeout=grace)
            for task in pending:
                logger.error(
                    "task %s ignored cancellation for %.1f s; left running",
                    task.get_name(),
                    grace,
                )
        self._workers.clear()
        detach = getattr(self.clock, "detach", None)
        if detach is not None:
            detach(self)

    def schedule(self, ref: ActorRef[Any, Any]) -> None:
        """Append ``ref`` to the run queue and wake an idle worker."""
        self._run_queue.append(ref)
        idle = self._idle
        while idle:
            future = idle.popleft()
            if not future.done():
                future.set_result(None)
                return

    def spawn_background(self, coroutine: Any, name: str) -> asyncio.Task[Any]:
        """Run ``coroutine`` as a task that ``settle`` waits for and ``close`` ends."""
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._inflight += 1
        self._background.add(task)
        task.add_done_callback(self._background_done)
        return task

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        self._inflight -= 1
        self._maybe_settled()

    def is_settled(self) -> bool:
        """Return whether no actor has mail and no work is in flight."""
        return not self._run_queue and self._busy == 0 and self._inflight == 0

    async def settle(self) -> None:
        """Return once no actor has mail queued and no work is in flight.

        Timers that are not yet due do not count: with a fake clock, they wait for
        ``advance``.
        """
        loop = asyncio.get_running_loop()
        while True:
            while not self.is_settled():
                future: asyncio.Future[None] = loop.create_future()
                self._settle_waiters.append(future)
                await future
            # Let callbacks that are already scheduled (replies, wake-ups) run, then
            # check again, because they may have queued more work.
            for _ in range(3):
                await asyncio.sleep(0)
            if self.is_settled():
                return

    def _maybe_settled(self) -> None:
        if self._settle_waiters and self.is_settled():
            waiters = self._settle_waiters
            self._settle_waiters = []
            for future in waiters:
                if not future.done():
                    future.set_result(None)

    def find_worker(self, ref: ActorRef[Any, Any]) -> Worker | None:
        """Return the worker handling ``ref``, or ``None``. O(number of workers)."""
        for worker in self._workers:
            if worker.current is ref:
                return worker
        return None

    async def _work(self, worker: Worker) -> None:
        run_queue = self._run_queue
        idle = self._idle
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        handled = 0

        while True:
            if not run_queue:
                self._busy -= 1
                self._maybe_settled()
                future: asyncio.Future[None] = loop.create_future()
                idle.append(future)
                try:
                    await future
                finally:
                    self._busy += 1
                handled = 0
                continue
            ref = run_queue.popleft()
            worker.current = ref
            try:
                handled += await self._turn(ref)
            except asyncio.CancelledError:
                if worker.kill_target is not ref or task is None:
                    raise
                task.uncancel()
                worker.kill_target = None
                ref._spec.supervisor._finalize(ref, "killed")
            finally:
                worker.current = None
            if worker.kill_target is not None:
                # The handler swallowed the cancellation that was meant to stop it;
                # withdraw that request so the worker does not look cancelled.
                worker.kill_target = None
                if task is not None:
                    task.uncancel()
            if handled >= 256:
                # Yield to the event loop so that a constant stream of mail cannot
                # starve the application's other tasks.
                handled = 0
                await asyncio.sleep(0)

    async def _turn(self, ref: ActorRef[Any, Any]) -> int:
        """Handle up to ``messages_per_turn`` messages of ``ref``; return how many."""
        state = ref._state
        if state != QUEUED and state != STARTING:
            return 0  # stopped or taken over since it was queued
        ref._state = RUNNING
        supervisor = ref._spec.supervisor
        extra = ref._extra
        if extra is not None and extra.stop_reason is not None:
            await supervisor._handle_stop_request(ref)
            return 0
        if state == STARTING:
            if not await supervisor._start_actor(ref):
                return 0
            extra = ref._extra
            if extra is not None and extra.stop_reason is not None:
                await supervisor._handle_stop_request(ref)
                return 0

        actor = ref._actor
        assert actor is not None
        mailbox = ref._mailbox
        count = 0
        limit = self.messages_per_turn
        while mailbox:
            item = mailbox.popleft()
            count += 1
            extra = ref._extra
            if extra is not None and extra.send_waiters:
                ref._wake_sender()
            if type(item) is Ask:
                future = item.future
                try:
                    reply = await actor.receive(item.message)
                except (Exception, asyncio.CancelledError) as error:
                    if not future.done():
                        future.set_exception(_for_asker(error, ref))
                    if not await self._crashed(ref, error):
                        supervisor._counters.handled += count
                        raise
                    supervisor._counters.handled += count
                    return count
                if not future.done():
                    future.set_result(reply)
            else:
                try:
                    await actor.receive(item)
                except (Exception, asyncio.CancelledError) as error:
                    if not await self._crashed(ref, error):
                        supervisor._counters.handled += count
                        raise
                    supervisor._counters.handled += count
                    return count
            extra = ref._extra
            if extra is not None:
                extra.restarts = 0
                if extra.stop_reason is not None:
                    break
            if count >= limit:
                break

        supervisor._counters.handled += count
        if ref._state == STOPPED:
            return count  # killed while its handler ignored the cancellation
        extra = ref._extra
        if extra is not None:
            if extra.stop_reason is not None:
                await supervisor._handle_stop_request(ref)
                return count
            if extra.is_empty():
                ref._extra = None
        if mailbox:
            ref._state = QUEUED
            self._run_queue.append(ref)
        else:
            ref._mailbox = None
            ref._state = IDLE
            if extra is not None and extra.idle_waiters:
                _wake_idle_waiters(ref, extra)
        return count

    async def _crashed(self, ref: ActorRef[Any, Any], error: BaseException) -> bool:
        """Hand a crash to the supervisor; return ``False`` to re-raise ``error``."""
        if isinstance(error, asyncio.CancelledError):
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                return False  # the worker itself is being cancelled
        await ref._spec.supervisor._child_crashed(ref, error)
        return True


def _wake_idle_waiters(ref: ActorRef[Any, Any], extra: Extra) -> None:
    waiters = extra.idle_waiters or ()
    extra.idle_waiters = None
    for future in waiters:
        if not future.done():
            future.set_result(None)
    if extra.is_empty():
        ref._extra = None


def _for_asker(error: BaseException, ref: ActorRef[Any, Any]) -> BaseException:
    if isinstance(error, StopActor | asyncio.CancelledError):
        return ActorStopped(_label(ref._name))
    return error
