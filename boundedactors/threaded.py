"""A supervisor on its own thread, for synchronous code (Django, Flask, workers).

:class:`ThreadedRuntime` starts an event loop in a daemon thread and runs a
:class:`Supervisor` on it. Any other thread can then ``tell``, ``ask``, spawn and
call wrapped objects through it. Each call hands work to the loop with
``loop.call_soon_threadsafe`` or ``asyncio.run_coroutine_threadsafe`` and blocks the
calling thread on a ``concurrent.futures.Future`` until the result arrives, so
the library's errors (:class:`MailboxFull`, :class:`AskTimeout`, ...) are raised
in the calling thread::

    with ThreadedRuntime(max_children=10_000) as runtime:
        ref = runtime.call(runtime.supervisor.spawn, Counter)
        runtime.tell(ref, "inc")
        assert runtime.ask(ref, "get", timeout=1.0) == 1

Every call is one round trip between threads; see docs/embedding.md for its
measured cost.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, overload

from typing_extensions import TypeVar

from .errors import AskTimeout
from .objects import Proxy
from .runtime import ActorRef
from .supervisor import Supervisor

__all__ = ["BlockingProxy", "ThreadedRuntime"]

M = TypeVar("M")
R = TypeVar("R")
T = TypeVar("T")
P = ParamSpec("P")

_START_TIMEOUT = 10.0


class ThreadedRuntime:
    """An event loop on a daemon thread, running one :class:`Supervisor`.

    Use it as ``with ThreadedRuntime(**options) as runtime:``, or call
    :meth:`start` and :meth:`stop` from an application's own start and stop hooks.
    ``options`` are those of :class:`Supervisor`. Leaving the block stops the
    supervisor (its actors stop in reverse start order) and then the loop.

    Every method except :attr:`supervisor` and :attr:`loop` must be called from a
    thread other than the runtime's own: there it would wait for itself, so it
    raises ``RuntimeError`` instead. Code on the loop awaits the actors directly.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._supervisor: Supervisor | None = None
        self._stop_event: asyncio.Event | None = None
        self._startup: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._stopped = False
        self._error: BaseException | None = None

    def __enter__(self) -> ThreadedRuntime:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def supervisor(self) -> Supervisor:
        """The supervisor running on the runtime's loop.

        Call its methods on that loop only: through :meth:`call` or :meth:`run`.
        """
        if self._supervisor is None:
            raise RuntimeError("the runtime is not running; call start() first")
        return self._supervisor

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop that the runtime's thread runs."""
        if self._loop is None:
            raise RuntimeError("the runtime is not running; call start() first")
        return self._loop

    def start(self, timeout: float = _START_TIMEOUT) -> None:
        """Start the thread, its loop and the supervisor; return once they run.

        Raises whatever the supervisor's options raised (``TypeError`` or
        ``ValueError``), and ``RuntimeError`` if the runtime was started before.
        """
        if self._thread is not None:
            raise RuntimeError("a ThreadedRuntime can be started only once")
        self._thread = threading.Thread(
            target=self._run_thread, name="boundedactors-runtime", daemon=True
        )
        self._thread.start()
        self._startup.result(timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Stop the supervisor and the loop, and join the thread. Idempotent.

        ``timeout`` bounds the join; by default it is the supervisor's
        ``shutdown_timeout`` plus five seconds.

        Raises:
            RestartIntensityExceeded: the supervisor failed while it ran, as
                leaving ``async with Supervisor()`` would raise.
            TimeoutError: the thread did not stop within ``timeout``.
        """
        if self._stopped or self._thread is None:
            return
        self._check_thread()
        self._stopped = True
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)
        if timeout is None:
            timeout = float(self._options.get("shutdown_timeout", 30.0)) + 5.0
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the runtime thread did not stop within {timeout} s")
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _run_thread(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # raised by start() or stop()
            if not self._startup.done():
                self._startup.set_exception(error)
            else:
                self._error = error

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        async with Supervisor(**self._options) as supervisor:
            self._supervisor = supervisor
            self._startup.set_result(None)
            await self._stop_event.wait()

    # Calls from other threads

    def call(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the synchronous ``function(*args, **kwargs)`` on the loop; return its
        result or raise its exception here.

        Use it for the supervisor's synchronous methods, for example
        ``runtime.call(runtime.supervisor.spawn, Counter)``. It waits without a
        timeout, because ``function`` runs as soon as the loop is free.
        """
        future: concurrent.futures.Future[R] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(function(*args, **kwargs))
            except BaseException as error:  # re-raised by the caller
                future.set_exception(error)

        self._loop_for_call().call_soon_threadsafe(run)
        return future.result()

    def run(self, coroutine: Coroutine[Any, Any, R], timeout: float | None = None) -> R:
        """Run ``coroutine`` on the loop and return its result here.

        Raises:
            TimeoutError: no result within ``timeout`` seconds; the coroutine is
                cancelled.
        """
        try:
            loop = self._loop_for_call()
        except RuntimeError:
            coroutine.close()
            raise
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"timed out after {timeout} s") from None

    def tell(self, ref: ActorRef[M, Any], message: M) -> None:
        """Queue ``message`` for the actor, as :meth:`ActorRef.tell` does.

        Waits for the loop to take the message (one round trip), so a rejection
        is raised here.

        Raises:
            MailboxFull: the mailbox is full under the ``"reject"`` policy.
        """
        self.call(ref.tell, message)

    def ask(self, ref: ActorRef[M, R], message: M, timeout: float | None = None) -> R:
        """Send ``message`` and return the actor's reply, as :meth:`ActorRef.ask`.

        ``timeout`` is measured on the supervisor's clock. If the loop itself is
        too busy to report the timeout, the calling thread gives up one second of
        wall time after it and raises the same error.

        Raises:
            AskTimeout: no reply within ``timeout`` seconds.
            MailboxFull, ActorStopped: as for :meth:`ActorRef.ask`.
        """
        try:
            return self.run(
                ref.ask(message, timeout), None if timeout is None else timeout + 1.0
            )
        except AskTimeout:
            raise
        except TimeoutError:
            assert timeout is not None
            raise AskTimeout(
                None if ref.name is None else str(ref.name)[:80], timeout
            ) from None

    def blocking(self, proxy: Proxy[T]) -> BlockingProxy[T]:
        """Return a synchronous view of ``proxy`` for this thread's callers."""
        if not isinstance(proxy, Proxy):
            raise TypeError(f"proxy must be a Proxy, got {proxy!r}")
        return BlockingProxy(self, proxy)

    def _loop_for_call(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None or self._stopped or loop.is_closed():
            raise RuntimeError(
                "the runtime is not running: it was not started or has stopped"
            )
        self._check_thread()
        return loop

    def _check_thread(self) -> None:
        thread = self._thread
        if thread is not None and thread.ident == threading.get_ident():
            raise RuntimeError(
                "called from the runtime's own thread, where it would wait for "
                "itself; await the actor directly instead"
            )


class BlockingProxy(Generic[T]):
    """A synchronous :class:`Proxy`: ``view.method(*args)`` blocks until done.

    Typing is as for :class:`Proxy`: attribute calls return ``Any``, and
    ``view.call(Type.method, ...)`` is fully checked.
    """

    __slots__ = ("_proxy", "_runtime")

    def __init__(self, runtime: ThreadedRuntime, proxy: Proxy[T]) -> None:
        self._runtime = runtime
        self._proxy = proxy

    def __repr__(self) -> str:
        return f"<BlockingProxy of {self._proxy!r}>"

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._proxy, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._runtime.run(method(*args, **kwargs))

        call.__name__ = name
        return call

    @overload
    def call(
        self,
        function: Callable[Concatenate[T, P], Coroutine[Any, Any, R]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @overload
    def call(
        self,
        function: Callable[Concatenate[T, P], R],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    def call(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run ``function(obj, *args, **kwargs)`` inside the actor and wait."""
        return self._runtime.run(self._proxy.call(function, *args, **kwargs))
