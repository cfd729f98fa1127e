"""The exceptions that boundedactors raises.

Every error the library raises on purpose derives from :class:`BoundedActorsError`.
Errors for a limit that was reached derive from :class:`LimitExceeded` and carry
``limit`` (the configured value), ``current`` (the count when the request arrived)
and ``retry_after`` (seconds until a retry can succeed, or ``None`` when that cannot
be known)::

    BoundedActorsError
     +-- LimitExceeded
     |    +-- SpawnLimitExceeded        spawn rejected: reason is "max_children",
     |    |                             "spawn_rate", "per_key" or "quota_keys"
     |    +-- MailboxFull               tell/send/ask on a full mailbox
     |    +-- RegistryFull              register/join past Registry(limit=...)
     |    +-- SymbolLimitExceeded       intern past SymbolTable(limit=...)
     |    +-- RestartIntensityExceeded  more than max_restarts in max_seconds
     |    +-- StoreFull                 save of a new key past MemoryStore(limit=...)
     +-- AlreadyRegistered              register() of a key that is taken
     +-- ActorNotFound (LookupError)    no live actor for a key and no factory
     +-- ActorStopped                   ask/send to an actor that has stopped
     +-- SupervisorClosed               spawn on a supervisor that is stopping
     +-- AskTimeout (TimeoutError)      ask() got no reply within its timeout
     +-- InvalidSymbol (ValueError)     text that cannot become a Symbol

Misuse, such as an option of the wrong type or out of range, raises the built-in
``TypeError`` or ``ValueError`` with the option's name and the value received.
"""

from __future__ import annotations

__all__ = [
    "ActorNotFound",
    "ActorStopped",
    "AlreadyRegistered",
    "AskTimeout",
    "BoundedActorsError",
    "InvalidSymbol",
    "LimitExceeded",
    "MailboxFull",
    "RegistryFull",
    "RestartIntensityExceeded",
    "SpawnLimitExceeded",
    "StoreFull",
    "SupervisorClosed",
    "SymbolLimitExceeded",
]

_MAX_SHOWN = 60


def shorten(value: object, width: int = _MAX_SHOWN) -> str:
    """Return ``repr(value)`` cut to about ``width`` characters for error messages.

    Runtime complexity: O(width) for ``str`` and ``bytes``, because only a prefix is
    formatted, so a multi-megabyte string costs the same as a short one.
    """
    if isinstance(value, str | bytes) and len(value) > width:
        return f"{value[:width]!r}... ({len(value)} in all)"
    if isinstance(value, int) and value.bit_length() > 4 * width:
        # repr() of a huge int is quadratic, and past 4300 digits it raises.
        return f"<int of {value.bit_length()} bits>"
    text = repr(value)
    if len(text) > width:
        return text[:width] + "..."
    return text


class BoundedActorsError(Exception):
    """Base class of every error that boundedactors raises on purpose."""


class LimitExceeded(BoundedActorsError):
    """A configured limit rejected a request.

    Attributes:
        limit: the configured value of the limit.
        current: the count that the limit was measured against.
        retry_after: seconds after which the same request may succeed, or ``None``
            when the library cannot know (for example, a full mailbox).
    """

    # A flood of rejected requests raises one error each, so raising must be cheap:
    # slots spare each error an instance dict for its attributes.
    __slots__ = ("current", "limit", "retry_after")

    limit_name = "limit"

    def __init__(
        self,
        message: str | None = None,
        *,
        limit: float,
        current: float,
        retry_after: float | None = None,
    ) -> None:
        self._set_limit(message, limit, current, retry_after)

    def _set_limit(
        self,
        message: str | None,
        limit: float,
        current: float,
        retry_after: float | None,
    ) -> None:
        self.limit = limit
        self.current = current
        self.retry_after = retry_after
        if message is None:
            message = f"{self.limit_name} reached: {current} of {limit}"
        if retry_after is not None:
            message = f"{message}; retry after {retry_after:.3f} s"
        self.args = (message,)


class SpawnLimitExceeded(LimitExceeded):
    """A supervisor rejected a spawn; no actor was allocated.

    ``reason`` names the limit: ``"max_children"``, ``"spawn_rate"``, ``"per_key"``
    (too many live actors for one ``quota_key``) or ``"quota_keys"`` (the table of
    quota keys is full).
    """

    __slots__ = ("quota_key", "reason", "supervisor")

    def __init__(
        self,
        reason: str,
        *,
        limit: float,
        current: float,
        retry_after: float | None = None,
        supervisor: str | None = None,
        quota_key: object = None,
    ) -> None:
        self._set_spawn(reason, limit, current, retry_after, supervisor, quota_key)

    @classmethod
    def _create(
        cls,
        reason: str,
        limit: float,
        current: float,
        retry_after: float | None,
        supervisor: str | None,
        quota_key: object,
    ) -> SpawnLimitExceeded:
        """Build the error as ``__init__`` does, at a third of the cost.

        Calling an exception class with keyword arguments goes through a generic
        path that builds an argument dict; the supervisor raises one of these per
        rejected spawn, so it skips that path.
        """
        error = cls.__new__(cls)
        error._set_spawn(reason, limit, current, retry_after, supervisor, quota_key)
        return error

    def _set_spawn(
        self,
        reason: str,
        limit: float,
        current: float,
        retry_after: float | None,
        supervisor: str | None,
        quota_key: object,
    ) -> None:
        self.reason = reason
        self.supervisor = supervisor
        self.quota_key = quota_key
        where = f" in supervisor {supervisor!r}" if supervisor else ""
        subject = f" for quota key {shorten(quota_key)}" if reason == "per_key" else ""
        message = (
            f"spawn rejected{where}{subject}: {reason} is {limit}, current {current}"
        )
        self._set_limit(message, limit, current, retry_after)


class MailboxFull(LimitExceeded):
    """A mailbox had no room for a message under the ``"reject"`` overflow policy,
    or ``send()`` found no room before its timeout."""

    limit_name = "mailbox_size"

    def __init__(
        self,
        *,
        limit: float,
        current: float,
        actor: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.actor = actor
        message = f"mailbox of actor {actor!r} is full: {current} of {limit} messages"
        super().__init__(message, limit=limit, current=current, retry_after=retry_after)


class RegistryFull(LimitExceeded):
    """A registry contains ``limit`` entries and rejected a new one."""

    limit_name = "registry limit"


class SymbolLimitExceeded(LimitExceeded):
    """A symbol table contains ``limit`` symbols and rejected new text.

    The table stays fully usable: existing symbols still resolve and ``get`` still
    works. Symbols are never removed, so ``retry_after`` is always ``None``.
    """

    limit_name = "symbol limit"


class RestartIntensityExceeded(LimitExceeded):
    """A supervisor's children crashed more than ``max_restarts`` times within
    ``max_seconds``; the supervisor stopped all of its children."""

    limit_name = "max_restarts"

    def __init__(
        self, *, limit: int, current: int, max_seconds: float, supervisor: str | None
    ) -> None:
        self.max_seconds = max_seconds
        self.supervisor = supervisor
        message = (
            f"supervisor {supervisor!r} stopped: children needed {current} "
            f"restarts within {max_seconds} s, max_restarts is {limit}"
        )
        super().__init__(message, limit=limit, current=current, retry_after=None)


class StoreFull(LimitExceeded):
    """A state store contains ``limit`` keys and rejected a new one."""

    limit_name = "store limit"


class AlreadyRegistered(BoundedActorsError):
    """A registry already contains an entry under the key."""

    def __init__(self, key: object) -> None:
        self.key = key
        super().__init__(f"key {shorten(key)} is already registered")


class ActorNotFound(BoundedActorsError, LookupError):
    """No live actor exists for a key, and nothing was allowed to create one."""

    def __init__(self, key: object) -> None:
        self.key = key
        super().__init__(f"no actor for key {shorten(key)}")


class ActorStopped(BoundedActorsError):
    """The actor stopped before it could handle the message."""

    def __init__(self, actor: str | None) -> None:
        self.actor = actor
        super().__init__(f"actor {actor!r} has stopped")


class SupervisorClosed(BoundedActorsError):
    """The supervisor is not running, so it cannot spawn actors."""

    def __init__(self, supervisor: str | None, state: str) -> None:
        self.supervisor = supervisor
        super().__init__(f"supervisor {supervisor!r} is {state}; cannot spawn")


class AskTimeout(BoundedActorsError, TimeoutError):
    """``ask()`` got no reply within its timeout. The message stays queued and is
    still handled; only its reply is discarded."""

    def __init__(self, actor: str | None, timeout: float) -> None:
        self.actor = actor
        self.timeout = timeout
        super().__init__(f"ask to actor {actor!r} timed out after {timeout} s")


class InvalidSymbol(BoundedActorsError, ValueError):
    """Text that cannot become a symbol: empty, too long, or not encodable as UTF-8."""
