"""TestProbe: an actor that records what it receives, for assertions in tests."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..actor import Actor
from ..clock import Clock, LoopClock, run_with_timeout
from ..stats import DeadLetter
from .clock import FakeClock

if TYPE_CHECKING:
    from ..runtime import ActorRef
    from ..supervisor import Supervisor

__all__ = ["TestProbe"]


class TestProbe:
    """Records messages sent to it, so a test can wait for them and assert on them.

    A probe collects messages from three kinds of source, in arrival order, into one
    queue that :meth:`receive` reads:

    - its own actor, :attr:`ref`, records each message as it is;
    - actors built by :meth:`factory` (pass ``Router(sup, factory=probe.factory)``)
      record ``(key, message)``;
    - :meth:`dead_letter_hook` records each :class:`~boundedactors.DeadLetter`
      (pass ``Supervisor(dead_letters=probe.dead_letter_hook)``).

    Waiting reads the clock of the supervisor the probe was spawned in, or
    ``clock``. With a :class:`FakeClock`, :meth:`receive` and
    :meth:`expect_no_message` move virtual time forward themselves, firing timers
    in deadline order, so a test never sleeps. One task at a time may wait on a
    probe; with a real clock a second one raises ``RuntimeError``, and with a
    fake clock the clock's own check rejects a second concurrent advance.

    Args:
        supervisor: spawns the probe's own actor (:attr:`ref`) at once. Without it,
            call :meth:`spawn` later or use only :meth:`factory` and
            :meth:`dead_letter_hook`.
        clock: the clock to wait on; defaults to the supervisor's clock, then to
            the event loop's.
        reply: ``reply(message)`` computes the reply to ``ask``; ``None`` replies
            ``None``. If it raises, the probe's actor crashes like any actor would.
        name: the name to register :attr:`ref` under in the supervisor's registry.
    """

    __test__ = False  # a test helper, not a test class for pytest to collect

    def __init__(
        self,
        supervisor: Supervisor | None = None,
        *,
        clock: Clock | None = None,
        reply: Callable[[Any], Any] | None = None,
        name: object = None,
    ) -> None:
        if reply is not None and not callable(reply):
            raise TypeError(f"reply must be callable or None, got {reply!r}")
        self.received: list[Any] = []
        """Every message recorded so far, including those already read."""
        self.activations: list[tuple[object, object]] = []
        """``(key, state)`` for each actor built by :meth:`factory`."""
        self.stops: list[tuple[object, object]] = []
        """``(key or name, reason)`` for each probe actor's ``on_stop``."""
        self.states: dict[object, object] = {}
        """The state that each :meth:`factory` actor returns from ``snapshot()``.

        Activation sets it to the state the actor was loaded with; a test may
        change it to choose what gets saved."""
        self.ref: ActorRef[Any, Any] | None = None
        self._queue: deque[Any] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._clock = clock
        self._supervisor: Supervisor | None = None
        self._reply = reply
        if supervisor is not None:
            self.spawn(supervisor, name=name)

    def __repr__(self) -> str:
        return f"<TestProbe unread={len(self._queue)} received={len(self.received)}>"

    @property
    def messages(self) -> list[Any]:
        """The messages recorded and not yet read by :meth:`receive`, oldest first."""
        return list(self._queue)

    def spawn(
        self, supervisor: Supervisor, *, name: object = None
    ) -> ActorRef[Any, Any]:
        """Spawn the probe's own actor under ``supervisor`` and return its reference.

        Raises what :meth:`Supervisor.spawn` raises.
        """
        ref = supervisor.spawn(_ProbeActor, self, name, False, name=name)
        self.ref = ref
        self._supervisor = supervisor
        if self._clock is None:
            self._clock = supervisor.clock
        return ref

    def factory(self, key: object, state: object = None) -> Actor[Any, Any]:
        """Build a probe actor for ``key``: a stand-in for a router's factory.

        The actor records ``(key, message)``, replies with ``reply(message)``, and
        returns ``states[key]`` from ``snapshot()``. ``state`` is the state a
        router with a store loaded for the key.
        """
        self.activations.append((key, state))
        self.states[key] = state
        return _ProbeActor(self, key, True)

    def dead_letter_hook(self, letter: DeadLetter) -> None:
        """Record ``letter``; pass this as ``Supervisor(dead_letters=...)``."""
        self.record(letter)

    def record(self, message: object) -> None:
        """Record ``message`` as if the probe had received it. O(1)."""
        self.received.append(message)
        self._queue.append(message)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def receive(self, timeout: float = 1.0) -> Any:
        """Return the oldest unread message, waiting up to ``timeout`` seconds.

        With a :class:`FakeClock` the wait is in virtual time: timers due within
        ``timeout`` fire in deadline order until a message arrives, and the clock
        stops at the moment it arrived.

        Raises:
            AssertionError: no message arrived within ``timeout``.
        """
        if not await self._wait_for_message(timeout):
            raise AssertionError(f"probe received no message within {timeout} s")
        return self._queue.popleft()

    async def receive_many(self, count: int, timeout: float = 1.0) -> list[Any]:
        """Return the next ``count`` messages, waiting up to ``timeout`` for each."""
        return [await self.receive(timeout) for _ in range(count)]

    async def expect(self, expected: object, timeout: float = 1.0) -> Any:
        """Receive one message and assert that it equals ``expected``.

        Raises:
            AssertionError: no message arrived within ``timeout``, or it differs.
        """
        message = await self.receive(timeout)
        if message != expected:
            raise AssertionError(f"probe expected {expected!r}, received {message!r}")
        return message

    async def expect_no_message(self, within: float = 0.0) -> None:
        """Assert that no unread message is waiting or arrives within ``within``.

        With a :class:`FakeClock` this moves virtual time forward by ``within``
        (firing due timers) and returns as soon as a message arrives; with
        ``within=0`` it checks once the event loop has settled. With a real clock
        it waits ``within`` real seconds.

        Raises:
            AssertionError: a message arrived; the message names it.
        """
        if within < 0:
            raise ValueError(f"within must be >= 0, got {within!r}")
        if await self._wait_for_message(within, settle_first=True):
            raise AssertionError(
                f"probe expected no message within {within} s, "
                f"received {self._queue[0]!r}"
            )

    async def _wait_for_message(
        self, timeout: float, *, settle_first: bool = False
    ) -> bool:
        """Wait until a message is unread; return ``False`` after ``timeout``."""
        clock = self._clock
        if isinstance(clock, FakeClock):
            return await clock.advance_until(lambda: bool(self._queue), timeout=timeout)
        if settle_first and self._supervisor is not None:
            await self._supervisor.settle()
        if self._queue:
            return True
        if self._waiter is not None:
            raise RuntimeError("another task is already waiting on this probe")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiter = future
        try:
            await run_with_timeout(clock or LoopClock(), future, timeout)
        except TimeoutError:
            return bool(self._queue)
        finally:
            self._waiter = None
        return True


class _ProbeActor(Actor[Any, Any]):
    """The actor behind a probe: records each message and returns the probe's reply."""

    __slots__ = ("key", "keyed", "probe")

    def __init__(self, probe: TestProbe, key: object, keyed: bool) -> None:
        self.probe = probe
        self.key = key
        self.keyed = keyed

    async def receive(self, message: Any) -> Any:
        probe = self.probe
        probe.record((self.key, message) if self.keyed else message)
        reply = probe._reply
        return None if reply is None else reply(message)

    async def on_stop(self, reason: object) -> None:
        self.probe.stops.append((self.key, reason))

    def snapshot(self) -> object:
        return self.probe.states.get(self.key) if self.keyed else None
