"""A bounded registry of unique keys and of groups (duplicate keys) for fan-out.

Lookups read straight from hash tables, with no task or lock on the path. Keys go
through :func:`boundedactors.keys.table_key`, so keys chosen to collide in CPython's
hash cost O(1) like any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from . import _validate
from .errors import AlreadyRegistered, RegistryFull, shorten
from .keys import HashedKey, table_key

__all__ = ["Registry"]


class Registry:
    """Maps unique keys to values, and group keys to sets of member values.

    Args:
        limit: maximum number of entries, counting each unique key and each group
            membership as one. ``None`` means no limit. At the limit, ``register``
            and ``join`` raise :class:`RegistryFull` and change nothing.
        group_limit: maximum number of members in one group, or ``None``.

    Actors registered by name through ``Supervisor.spawn(name=...)`` or
    ``ActorRef.join`` are removed when they stop, before ``stop()`` returns. Values
    registered directly stay until they are unregistered.

    >>> registry = Registry(limit=10)
    >>> registry.register("alice", 1)
    >>> registry.lookup("alice")
    1
    >>> registry.join("room:1", "alice")
    True
    >>> registry.members("room:1")
    ['alice']
    """

    def __init__(self, *, limit: int | None = None, group_limit: int | None = None):
        self._limit = _validate.positive_int("limit", limit, allow_none=True)
        self._group_limit = _validate.positive_int(
            "group_limit", group_limit, allow_none=True
        )
        self._names: dict[Hashable, Any] = {}
        self._meta: dict[Hashable, Any] = {}
        self._groups: dict[Hashable, dict[Hashable, Any]] = {}
        self._memberships = 0
        self._wrapped_members = 0  # members stored as HashedKey, across all groups

    @property
    def limit(self) -> int | None:
        """Maximum number of entries, or ``None``."""
        return self._limit

    def __len__(self) -> int:
        """Return the number of entries: unique keys plus group memberships."""
        return len(self._names) + self._memberships

    def __contains__(self, key: object) -> bool:
        return table_key(key) in self._names

    def keys(self) -> Iterator[object]:
        """Iterate over the unique keys, in registration order."""
        for key in list(self._names):
            yield key.key if type(key) is HashedKey else key

    # Unique keys

    def register(self, key: object, value: Any, meta: Any = None) -> None:
        """Register ``value`` under a unique ``key``.

        Runtime complexity: O(1); allocates one dict entry (two with ``meta``).

        Raises:
            AlreadyRegistered: ``key`` is taken.
            RegistryFull: the registry contains ``limit`` entries.
            TypeError: ``key`` is unhashable.
        """
        stored = table_key(key)
        if stored in self._names:
            raise AlreadyRegistered(key)
        self._check_room()
        self._names[stored] = value
        if meta is not None:
            self._meta[stored] = meta

    def unregister(self, key: object) -> Any:
        """Remove ``key`` and return its value, or ``None`` if it was absent.

        Idempotent. Runtime complexity: O(1).
        """
        stored = table_key(key)
        self._meta.pop(stored, None)
        return self._names.pop(stored, None)

    def unregister_value(self, key: object, value: Any) -> bool:
        """Remove ``key`` only while it still maps to ``value`` (by identity).

        Returns whether an entry was removed. This lets an actor that stops remove
        its own name without removing a newer actor registered under it.
        """
        stored = table_key(key)
        if self._names.get(stored, _MISSING) is not value:
            return False
        del self._names[stored]
        self._meta.pop(stored, None)
        return True

    def lookup(self, key: object) -> Any:
        """Return the value registered under ``key``, or ``None``.

        Runtime complexity: O(1); allocates nothing for ``str`` and ``bytes`` keys.
        """
        return self._names.get(table_key(key))

    def meta(self, key: object) -> Any:
        """Return the metadata registered with ``key``, or ``None``."""
        return self._meta.get(table_key(key))

    # Groups

    def join(self, group: object, value: Hashable, meta: Any = None) -> bool:
        """Add ``value`` to ``group``. Returns ``False`` if it was already a member.

        Runtime complexity: O(1) whatever the group's size; one dict entry, and
        one small key object for an ``int``, ``float``, ``tuple`` or ``UUID``
        value, whose CPython hash an outsider could make collide.

        Raises:
            RegistryFull: the registry or the group is full.
            TypeError: ``group`` or ``value`` is unhashable.
        """
        stored = table_key(group)
        member = _member_key(value)
        members = self._groups.get(stored)
        if members is not None and member in members:
            return False
        self._check_room()
        group_limit = self._group_limit
        if (
            group_limit is not None
            and members is not None
            and len(members) >= group_limit
        ):
            raise RegistryFull(
                f"group {shorten(group)} is full: {len(members)} of "
                f"{self._group_limit} members",
                limit=group_limit,
                current=len(members),
            )
        if members is None:
            members = self._groups[stored] = {}
        members[member] = meta
        self._memberships += 1
        if member is not value and type(member) is HashedKey:
            self._wrapped_members += 1
        return True

    def leave(self, group: object, value: Hashable) -> bool:
        """Remove ``value`` from ``group``. Returns whether it was a member.

        Runtime complexity: O(1) whatever the group's size. An emptied group is
        removed, so groups that come and go leave nothing behind.
        """
        stored = table_key(group)
        member = _member_key(value)
        members = self._groups.get(stored)
        if members is None or member not in members:
            return False
        del members[member]
        self._memberships -= 1
        if member is not value and type(member) is HashedKey:
            self._wrapped_members -= 1
        if not members:
            del self._groups[stored]
        return True

    def members(self, group: object) -> list[Any]:
        """Return the members of ``group`` in join order (a copy).

        Runtime complexity: O(size of the group); other groups are not touched.
        """
        members = self._groups.get(table_key(group))
        if members is None:
            return []
        if not self._wrapped_members:
            return list(members)
        return [m.key if type(m) is HashedKey else m for m in members]

    def member_meta(self, group: object, value: Hashable) -> Any:
        """Return the metadata ``value`` joined ``group`` with, or ``None``.

        Runtime complexity: O(1).
        """
        members = self._groups.get(table_key(group))
        if members is None:
            return None
        return members.get(_member_key(value))

    def group_size(self, group: object) -> int:
        """Return the number of members of ``group``. Runtime complexity: O(1)."""
        members = self._groups.get(table_key(group))
        return 0 if members is None else len(members)

    def groups(self) -> Iterator[object]:
        """Iterate over the groups that have members."""
        for key in list(self._groups):
            yield key.key if type(key) is HashedKey else key

    def dispatch(self, group: object, callback: Callable[[Any], object]) -> int:
        """Call ``callback(member)`` for each member of ``group``; return the count.

        The members are copied first, so the callback may join or leave. Runtime
        complexity: O(size of the group); other groups are not touched.
        """
        members = self.members(group)
        for member in members:
            callback(member)
        return len(members)

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if the registry's internal state is inconsistent."""
        assert self._memberships == sum(len(m) for m in self._groups.values())
        assert self._wrapped_members == sum(
            type(member) is HashedKey
            for members in self._groups.values()
            for member in members
        )
        assert all(self._groups.values()), "empty group kept"
        assert set(self._meta) <= set(self._names)
        if self._limit is not None:
            assert len(self) <= self._limit
        if self._group_limit is not None:
            assert all(len(m) <= self._group_limit for m in self._groups.values())

    def _check_room(self) -> None:
        if self._limit is not None and len(self) >= self._limit:
            raise RegistryFull(
                f"registry is full: {len(self)} of {self._limit} entries",
                limit=self._limit,
                current=len(self),
            )


_MISSING = object()


def _member_key(value: object) -> Hashable:
    """Return the form of a group member to store, as :func:`table_key` does for
    keys, so members chosen to collide in CPython's hash cost O(1) too.

    Values of other types, such as actor references, are stored as they are.
    """
    if isinstance(value, int | float | tuple | uuid.UUID):
        return table_key(value)
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"group member must be hashable, got {shorten(value)} "
            f"({type(value).__name__})"
        ) from None
    return value
