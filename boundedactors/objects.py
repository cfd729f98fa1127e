"""Wrapping an existing object in an actor: ``Supervisor.spawn_object`` and ``Proxy``.

An application often has the long-lived object already (a cart, a device driver,
a cache). ``sup.spawn_object(obj)`` puts it behind an actor and returns a
:class:`Proxy`. Every call through the proxy becomes one message, so the object's
methods run one at a time, in arrival order, inside the actor, under the same
quotas, mailbox bound and supervision as any actor::

    cart = sup.spawn_object(Cart())
    await cart.add("apple", 2)               # runs Cart.add inside the actor
    total = await cart.call(Cart.total)      # the same, checked by mypy

Typing. Python's type system cannot map every method of ``T`` to an awaitable
version of itself, so attribute calls (``proxy.add(...)``) are typed as
``Callable[..., Awaitable[Any]]``: mypy checks neither their arguments nor their
result. ``proxy.call(Type.method, *args, **kwargs)`` is fully typed: mypy checks
the arguments against ``Type.method`` and types the result as its return value,
unwrapped from the coroutine for ``async def`` methods.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    ParamSpec,
    TypedDict,
    overload,
)

from typing_extensions import TypeVar

from .actor import Actor
from .registry import Registry
from .runtime import ActorRef

if TYPE_CHECKING:
    from .supervisor import Supervisor

__all__ = ["Proxy", "SpawnObjectOptions"]

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")


class SpawnObjectOptions(TypedDict, total=False):
    """Keyword options of :meth:`Supervisor.spawn_object`.

    ``name``, ``quota_key``, ``mailbox_size``, ``overflow``, ``restart`` and
    ``registry`` mean what they mean for :meth:`Supervisor.spawn`.

    rebuild: called with no arguments on each restart to make a fresh object.
        Without it, a restarted actor keeps the same object, in whatever state the
        crash left it.
    timeout: default seconds each call through the proxy waits for its result
        (``None``: no limit); see :meth:`Proxy.with_timeout`.
    reply_errors: exception types that a method may raise without crashing the
        actor. They reach the caller as usual; any other exception reaches the
        caller and also crashes the actor, so its supervisor restarts it.
    """

    name: object
    quota_key: object
    mailbox_size: int | None
    overflow: str
    restart: str
    registry: Registry | None
    rebuild: Callable[[], Any] | None
    timeout: float | None
    reply_errors: tuple[type[Exception], ...]


class _Holder:
    """The wrapped object, shared by all incarnations of one object actor."""

    __slots__ = ("built", "obj", "rebuild", "reply_errors")

    def __init__(
        self,
        obj: object,
        rebuild: Callable[[], Any] | None,
        reply_errors: tuple[type[Exception], ...],
    ) -> None:
        self.obj = obj
        self.rebuild = rebuild
        self.reply_errors = reply_errors
        self.built = False


class _Call:
    """One call through a proxy: a method name or a function, and its arguments."""

    __slots__ = ("args", "function", "kwargs", "method")

    def __init__(
        self,
        method: str | None,
        function: Callable[..., Any] | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.method = method
        self.function = function
        self.args = args
        self.kwargs = kwargs


class _Raised:
    """An exception listed in ``reply_errors``, carried back as a reply."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class ObjectActor(Actor[_Call, Any]):
    """The actor behind a :class:`Proxy`; each message calls the wrapped object."""

    __slots__ = ("_holder",)

    def __init__(self, holder: _Holder) -> None:
        if holder.built and holder.rebuild is not None:
            holder.obj = holder.rebuild()
        holder.built = True
        self._holder = holder

    async def receive(self, message: _Call) -> Any:
        obj = self._holder.obj
        try:
            if message.method is not None:
                result = getattr(obj, message.method)(*message.args, **message.kwargs)
            else:
                assert message.function is not None
                result = message.function(obj, *message.args, **message.kwargs)
            if inspect.isawaitable(result):
                result = await result
        except self._holder.reply_errors as error:
            return _Raised(error)
        return result


class Proxy(Generic[T]):
    """Calls the methods of an object that lives inside an actor.

    ``await proxy.method(*args, **kwargs)`` sends one message and returns what
    ``obj.method`` returned, awaiting it first if it is awaitable, so ``def`` and
    ``async def`` methods work alike. Exceptions the method raises are raised
    here. Public method names only: names starting with ``_`` raise
    ``AttributeError`` at once, as do names the object's class does not have.

    Runtime complexity per call: O(1), the cost of :meth:`ActorRef.ask` plus one
    small call record. Raises what ``ask`` raises (:class:`MailboxFull`,
    :class:`ActorStopped`, :class:`AskTimeout`).

    The proxy's own names are ``call``, ``ref`` and ``with_timeout``. A method of
    the wrapped object with one of these names is reachable as
    ``proxy.call(Type.name, ...)``.
    """

    __slots__ = ("_kind", "_ref", "_timeout")

    def __init__(
        self, ref: ActorRef[Any, Any], kind: type[T], timeout: float | None
    ) -> None:
        self._ref = ref
        self._kind = kind
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"<Proxy {self._kind.__name__} {self._ref!r}>"

    @property
    def ref(self) -> ActorRef[Any, Any]:
        """The actor's reference: stop it with ``await proxy.ref.stop()``."""
        return self._ref

    def with_timeout(self, timeout: float | None) -> Proxy[T]:
        """Return a proxy to the same actor whose calls wait at most ``timeout`` s."""
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a number > 0 or None, got {timeout!r}")
        return Proxy(self._ref, self._kind, timeout)

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        if name.startswith("_") or not callable(getattr(self._kind, name, None)):
            raise AttributeError(
                f"{self._kind.__name__!r} object has no public method {name!r}"
            )

        async def method(*args: Any, **kwargs: Any) -> Any:
            return await self._send(_Call(name, None, args, kwargs))

        method.__name__ = name
        return method

    @overload
    async def call(
        self,
        function: Callable[Concatenate[T, P], Coroutine[Any, Any, R]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @overload
    async def call(
        self,
        function: Callable[Concatenate[T, P], R],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    async def call(
        self,
        function: Callable[..., Any],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Run ``function(obj, *args, **kwargs)`` inside the actor; return its result.

        ``function`` is usually an unbound method such as ``Cart.add``, but any
        callable that takes the object first works, for example a lambda that
        reads several fields in one turn. An awaitable result is awaited.
        """
        if not callable(function):
            raise TypeError(f"function must be callable, got {function!r}")
        return await self._send(_Call(None, function, args, kwargs))

    async def _send(self, message: _Call) -> Any:
        reply = await self._ref.ask(message, self._timeout)
        if type(reply) is _Raised:
            raise reply.error
        return reply


def spawn_object(
    supervisor: Supervisor,
    obj: T,
    *,
    rebuild: Callable[[], T] | None = None,
    timeout: float | None = None,
    reply_errors: tuple[type[Exception], ...] = (),
    **spawn_options: Any,
) -> Proxy[T]:
    """Spawn an :class:`ObjectActor` for ``obj`` (see ``Supervisor.spawn_object``)."""
    if isinstance(obj, Actor | ActorRef | Proxy):
        raise TypeError(
            f"obj must be a plain object, got {type(obj).__name__}; "
            "spawn actors with spawn() instead"
        )
    if rebuild is not None and not callable(rebuild):
        raise TypeError(f"rebuild must be callable or None, got {rebuild!r}")
    if timeout is not None and not (isinstance(timeout, int | float) and timeout > 0):
        raise ValueError(f"timeout must be a number > 0 or None, got {timeout!r}")
    if not isinstance(reply_errors, tuple) or not all(
        isinstance(kind, type) and issubclass(kind, Exception) for kind in reply_errors
    ):
        raise TypeError(
            "reply_errors must be a tuple of Exception subclasses, "
            f"got {reply_errors!r}"
        )
    holder = _Holder(obj, rebuild, reply_errors)
    ref = supervisor.spawn(ObjectActor, holder, **spawn_options)
    return Proxy(ref, type(obj), timeout)
