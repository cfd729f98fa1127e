"""The :class:`Actor` base class that user actors subclass."""

from __future__ import annotations

from typing import Generic

from typing_extensions import TypeVar

__all__ = ["Actor", "StopActor"]

MessageT = TypeVar("MessageT", default=object)
ReplyT = TypeVar("ReplyT", default=object)


class StopActor(Exception):
    """Raise from ``receive`` to stop the actor normally.

    A ``"permanent"`` actor is restarted anyway, as in OTP; ``"transient"`` and
    ``"temporary"`` actors stay stopped. An ``ask`` that raised it gets
    :class:`boundedactors.ActorStopped`.
    """


class Actor(Generic[MessageT, ReplyT]):
    """Base class of actors: one object that handles one message at a time.

    Subclass it and define ``receive``; its return value is the reply to ``ask``.
    While an actor has no mail it holds no task and no queue: it is the user's
    object plus a small reference. Exceptions raised by ``receive`` crash the actor
    (not the worker running it) and its supervisor restarts it.

    >>> class Counter(Actor[str, int]):
    ...     def __init__(self) -> None:
    ...         self.count = 0
    ...     async def receive(self, message: str) -> int:
    ...         self.count += 1
    ...         return self.count
    """

    __slots__ = ()

    async def receive(self, message: MessageT) -> ReplyT:
        """Handle one message and return the reply for ``ask``."""
        raise NotImplementedError(f"{type(self).__name__} must define receive()")

    async def on_start(self) -> None:
        """Run once per incarnation, before the first message."""

    async def on_stop(self, reason: object) -> None:
        """Run when the actor stops or is replaced.

        ``reason`` is ``"stopped"``, ``"shutdown"``, ``"passivated"`` (a router
        saved and stopped it, to rebuild it on its next message), ``"restart"`` (a
        sibling crashed under the ``"one_for_all"`` strategy) or the exception that
        crashed it. It is awaited with the supervisor's ``stop_timeout``.
        """

    def snapshot(self) -> object:
        """Return the state to save when the actor is passivated (``None`` here).

        A router with a store calls it between messages, before ``on_stop``, and
        passes the result to ``store.save``. Return a fresh object (or an immutable
        one): the router may keep it in its cache of recently saved states.
        """
        return None
