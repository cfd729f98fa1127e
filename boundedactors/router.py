"""Routing messages to one actor per key, by hashing, with activation on demand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic

from typing_extensions import TypeVar

from .actor import Actor
from .errors import ActorNotFound, MailboxFull
from .keys import table_key
from .registry import Registry
from .runtime import IDLE, STOPPING, ActorRef
from .supervisor import _DEFAULT, Supervisor

__all__ = ["Router", "publish"]

MessageT = TypeVar("MessageT", default=Any)
ReplyT = TypeVar("ReplyT", default=Any)


class Router(Generic[MessageT, ReplyT]):
    """Sends each message to the actor for its key, starting it on first use.

    Args:
        supervisor: spawns the actors, so every one of its quotas applies.
        factory: called as ``factory(key)`` to build the actor for a new key. Without
            a factory, messages to unknown keys go to dead letters and ``ask`` raises
            :class:`ActorNotFound`.
        registry: where the key-to-actor table lives (default: a new
            :class:`Registry`). Give one to look the actors up elsewhere; it should
            hold only actor references.
        mailbox_size, overflow, restart: spawn options for the actors.

    The route from key to actor is one hash-table lookup: no scan over actors,
    whatever their number. Keys of type ``str`` and ``bytes`` are used as they are
    (CPython randomises their hashes); other keys are rehashed through a randomised
    hash (see :func:`boundedactors.keys.table_key`), so keys chosen to collide cost
    O(1) too. Activation is synchronous, so concurrent first messages for one key
    start exactly one actor.
    """

    def __init__(
        self,
        supervisor: Supervisor,
        *,
        factory: Callable[[Any], Actor[MessageT, ReplyT]] | None = None,
        registry: Registry | None = None,
        mailbox_size: int | None = _DEFAULT,
        overflow: str = _DEFAULT,
        restart: str = _DEFAULT,
    ) -> None:
        if not isinstance(supervisor, Supervisor):
            raise TypeError(f"supervisor must be a Supervisor, got {supervisor!r}")
        if factory is not None and not callable(factory):
            raise TypeError(f"factory must be callable or None, got {factory!r}")
        if registry is not None and not isinstance(registry, Registry):
            raise TypeError(f"registry must be a Registry or None, got {registry!r}")
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

    def __len__(self) -> int:
        """Return the number of keys with a live actor."""
        return len(self._names)

    def __contains__(self, key: object) -> bool:
        return self.lookup(key) is not None

    def lookup(self, key: object) -> ActorRef[MessageT, ReplyT] | None:
        """Return the live actor for ``key`` without starting one, or ``None``.

        Runtime complexity: O(1).
        """
        ref = self._names.get(key if type(key) is str else table_key(key))
        return ref

    def get(
        self, key: object, *, quota_key: object = None
    ) -> ActorRef[MessageT, ReplyT]:
        """Return the actor for ``key``, starting it through the supervisor if needed.

        Raises:
            SpawnLimitExceeded: a quota rejected the activation.
            ActorNotFound: there is no actor and the router has no factory.
        """
        ref = self._names.get(key if type(key) is str else table_key(key))
        if ref is None:
            ref = self._activate(key, quota_key)
        return ref

    def tell(self, key: object, message: MessageT, *, quota_key: object = None) -> None:
        """Send ``message`` to the actor for ``key`` without waiting.

        Runtime complexity: O(1); allocates nothing beyond ``tell``'s own cost for
        ``str`` and ``bytes`` keys, and one small key object for other keys.

        Raises:
            SpawnLimitExceeded: the key had no actor and a quota rejected starting one.
            MailboxFull: the actor's mailbox is full under the ``"reject"`` policy.
        """
        ref = self._names.get(key if type(key) is str else table_key(key))
        if ref is not None:
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
        return await self.get(key, quota_key=quota_key).ask(message, timeout)

    async def send(
        self,
        key: object,
        message: MessageT,
        timeout: float | None = None,
        *,
        quota_key: object = None,
    ) -> None:
        """Send ``message`` to the actor for ``key``, waiting for mailbox room."""
        await self.get(key, quota_key=quota_key).send(message, timeout)

    async def stop(self, key: object) -> bool:
        """Stop the actor for ``key``; return whether there was one."""
        ref = self.lookup(key)
        if ref is None:
            return False
        await ref.stop()
        return True

    def _activate(self, key: object, quota_key: object) -> ActorRef[Any, Any]:
        if self._factory is None:
            raise ActorNotFound(key)
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
    """
    delivered = 0
    for member in registry.members(group):
        try:
            member.tell(message)
        except MailboxFull:
            member._spec.supervisor._dead_letter(message, member._name, "mailbox_full")
            continue
        delivered += 1
    return delivered
