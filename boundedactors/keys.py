"""Hash keys that outsiders choose without letting them force collisions.

CPython randomises the hashes of ``str`` and ``bytes`` per process (unless
``PYTHONHASHSEED`` is fixed), but not those of ``int``, ``float``, ``tuple`` or
``uuid.UUID``: ``hash(n) == hash(n + (2**61 - 1))`` for every int ``n``. A dict keyed
by such values can be filled with keys that share one hash, and every lookup then
walks all of them. :func:`table_key` maps a key to a form whose hash is randomised,
so routing by key stays O(1) whatever the keys are.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Hashable

from .errors import shorten

__all__ = ["HashedKey", "table_key"]

_MAX_DEPTH = 16


class HashedKey:
    """A non-``str`` key with a hash computed from a randomised ``bytes`` hash.

    Two ``HashedKey`` objects are equal when their keys are equal, and equal keys
    always get equal hashes, because ``int``, ``float`` and ``bool`` keys that compare
    equal share one canonical encoding.
    """

    __slots__ = ("_hash", "key")

    def __init__(self, key: Hashable, digest: int) -> None:
        self.key = key
        self._hash = digest

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if type(other) is not HashedKey:
            return NotImplemented
        return self._hash == other._hash and bool(self.key == other.key)

    def __repr__(self) -> str:
        return f"HashedKey({self.key!r})"


def table_key(key: object) -> Hashable:
    """Return the form of ``key`` to store in a hash table.

    ``str`` and ``bytes`` keys are returned unchanged. ``int``, ``float``, ``bool``,
    ``uuid.UUID``, ``None`` and tuples of them (nested at most 16 deep) are wrapped
    in :class:`HashedKey` with a randomised hash. Other hashable
    keys are wrapped with their own ``hash()``, so they are only as collision-proof
    as their type's hash: convert outsider-chosen keys of other types to ``str``.

    Runtime complexity: O(1) for ``str`` and ``bytes``; O(size of the key) for the
    rest, with one allocation.

    Raises:
        TypeError: the key is unhashable.
        ValueError: the key is or contains a NaN float, which never equals itself,
            or nests tuples more than 16 levels deep.
    """
    key_type = type(key)
    if key_type is str or key_type is bytes or key_type is HashedKey:
        return key  # a HashedKey is already in table form
    encoded = _encode(key, 0)
    if encoded is None:
        try:
            digest = hash(key)
        except TypeError:
            raise TypeError(
                f"key must be hashable, got {shorten(key)} ({key_type.__name__})"
            ) from None
    else:
        digest = hash(encoded)
    return HashedKey(key, digest)


def _encode(key: object, depth: int) -> bytes | None:
    """Encode ``key`` so that equal keys give equal bytes, or return ``None``."""
    # Integers are encoded in hex: linear in their size, where decimal is
    # quadratic and raises ValueError past 4300 digits.
    if isinstance(key, bool | int):
        return b"i%x" % int(key)
    if isinstance(key, float):
        if math.isnan(key):
            raise ValueError(f"key must not be NaN, got {key!r}")
        if key.is_integer():
            return b"i%x" % int(key)
        return b"f" + key.hex().encode()
    if isinstance(key, str):
        data = key.encode("utf-8", "surrogatepass")
        return b"s%d:" % len(data) + data
    if isinstance(key, bytes):
        return b"b%d:" % len(key) + key
    if isinstance(key, uuid.UUID):
        return b"u" + key.bytes
    if key is None:
        return b"n"
    if isinstance(key, tuple):
        if depth >= _MAX_DEPTH:
            # Deeper keys would fall back to CPython's predictable tuple hash.
            raise ValueError(f"key nests tuples more than {_MAX_DEPTH} levels deep")
        parts = [b"t%d(" % len(key)]
        for item in key:
            encoded = _encode(item, depth + 1)
            if encoded is None:
                return None
            parts.append(encoded)
        parts.append(b")")
        return b"".join(parts)
    return None
