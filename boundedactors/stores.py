"""State stores: where a router saves the state of passivated actors.

A store maps a router key to the state that ``actor.snapshot()`` returned. The
router calls ``await store.load(key)`` before it builds an actor for a key and
``await store.save(key, state)`` when it passivates one (idle timeout, capacity,
supervisor shutdown). Any object with those two coroutine methods is a
:class:`StateStore`.

Two stores ship with the library:

- :class:`MemoryStore`: a dict in this process, for tests and for state that may
  be lost when the process exits.
- :class:`SQLiteStore`: a table in an SQLite database, through the standard
  library's ``sqlite3`` module. Every call runs on one worker thread, so the event
  loop does not wait for the disk.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from . import _validate
from .errors import StoreFull

if TYPE_CHECKING:
    import sqlite3

__all__ = ["MemoryStore", "SQLiteStore", "StateStore"]

_T = TypeVar("_T")


@runtime_checkable
class StateStore(Protocol):
    """Loads and saves actor state by key.

    ``load`` returns ``None`` for a key that was never saved. Either method may
    raise; the router retries it with backoff and reports the failure.
    """

    async def load(self, key: Any) -> Any:
        """Return the state saved for ``key``, or ``None`` if there is none."""

    async def save(self, key: Any, state: Any) -> None:
        """Store ``state`` for ``key``, replacing what was there."""


class MemoryStore:
    """A :class:`StateStore` that keeps states in a dict in this process.

    States are deep-copied on ``save`` and on ``load``, as a store that serialises
    would do, so an actor that keeps mutating its state after a snapshot cannot
    change what was saved. Runtime complexity: O(1) per call plus the copy.

    Args:
        limit: maximum number of keys stored; ``save`` of a new key past it raises
            :class:`StoreFull`. ``None`` means no limit.
    """

    def __init__(self, *, limit: int | None = 1_000_000) -> None:
        self._limit = _validate.positive_int("limit", limit, allow_none=True)
        self._states: dict[Any, Any] = {}

    def __len__(self) -> int:
        """Return the number of keys stored."""
        return len(self._states)

    def __contains__(self, key: object) -> bool:
        return key in self._states

    async def load(self, key: Any) -> Any:
        """Return a copy of the state saved for ``key``, or ``None``."""
        state = self._states.get(key)
        return None if state is None else copy.deepcopy(state)

    async def save(self, key: Any, state: Any) -> None:
        """Store a copy of ``state`` for ``key``.

        Raises:
            StoreFull: ``key`` is new and the store already contains ``limit`` keys.
        """
        states = self._states
        limit = self._limit
        if limit is not None and key not in states and len(states) >= limit:
            raise StoreFull(limit=limit, current=len(states))
        states[key] = copy.deepcopy(state)

    async def delete(self, key: Any) -> bool:
        """Remove the state of ``key``; return whether there was one."""
        return self._states.pop(key, _MISSING) is not _MISSING


_MISSING = object()


class SQLiteStore:
    """A :class:`StateStore` backed by one table of an SQLite database.

    Calls run in order on a single worker thread that owns the connection, so the
    event loop does not block on the disk and no two calls touch the connection at
    once. Each ``save`` is one committed ``INSERT ... ON CONFLICT`` statement.

    Args:
        path: the database file, or ``":memory:"`` for a private in-memory database.
        table: table name (letters, digits and underscores); created if missing.
        dumps, loads: turn a state into ``str`` or ``bytes`` and back (default:
            JSON, so states must be JSON-compatible). Pass ``pickle.dumps`` and
            ``pickle.loads`` only for a database that no outsider can write.
        encode_key: turn a router key into the text stored in the key column
            (default: ``repr(key)``, which keeps ``1`` and ``"1"`` apart).

    Close it with ``await store.aclose()`` or use ``async with SQLiteStore(...)``.
    """

    def __init__(
        self,
        path: str,
        *,
        table: str = "actor_state",
        dumps: Callable[[Any], str | bytes] = json.dumps,
        loads: Callable[[Any], Any] = json.loads,
        encode_key: Callable[[Any], str] = repr,
    ) -> None:
        if not isinstance(path, str):
            raise TypeError(f"path must be a str, got {path!r}")
        if not (isinstance(table, str) and table.isidentifier() and table.isascii()):
            raise ValueError(
                f"table must be an ASCII identifier (letters, digits, _), got {table!r}"
            )
        for name, function in (
            ("dumps", dumps),
            ("loads", loads),
            ("encode_key", encode_key),
        ):
            if not callable(function):
                raise TypeError(f"{name} must be callable, got {function!r}")
        self._path = path
        self._table = table
        self._dumps = dumps
        self._loads = loads
        self._encode_key = encode_key
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="boundedactors-sqlite"
        )
        self._connection: sqlite3.Connection | None = None
        self._closed = False

    async def __aenter__(self) -> SQLiteStore:
        await self._run(self._connect)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def load(self, key: Any) -> Any:
        """Return the state saved for ``key``, or ``None``.

        Runtime complexity: one primary-key lookup, O(log n) in the table size.
        """
        text = self._encode_key(key)
        row = await self._run(lambda: self._select(text))
        return None if row is None else self._loads(row)

    async def save(self, key: Any, state: Any) -> None:
        """Store ``state`` for ``key`` and commit.

        Runtime complexity: one primary-key upsert and one commit.
        """
        text = self._encode_key(key)
        data = self._dumps(state)
        await self._run(lambda: self._upsert(text, data))

    async def delete(self, key: Any) -> bool:
        """Remove the state of ``key``; return whether there was one."""
        text = self._encode_key(key)
        return await self._run(lambda: self._delete(text))

    async def count(self) -> int:
        """Return the number of keys stored. Runtime complexity: O(n)."""
        return await self._run(self._count)

    async def aclose(self) -> None:
        """Close the connection and stop the worker thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)

    # The methods below run on the worker thread.

    async def _run(self, function: Callable[[], _T]) -> _T:
        if self._closed:
            raise RuntimeError("SQLiteStore is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function)

    def _connect(self) -> sqlite3.Connection:
        connection = self._connection
        if connection is None:
            # Imported here so that importing boundedactors does not load sqlite3.
            import sqlite3

            connection = sqlite3.connect(self._path, check_same_thread=False)
            if self._path != ":memory:":
                connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} "
                "(key TEXT PRIMARY KEY, state BLOB NOT NULL)"
            )
            connection.commit()
            self._connection = connection
        return connection

    def _select(self, key: str) -> Any:
        cursor = self._connect().execute(
            f"SELECT state FROM {self._table} WHERE key = ?", (key,)
        )
        row = cursor.fetchone()
        return None if row is None else row[0]

    def _upsert(self, key: str, data: str | bytes) -> None:
        connection = self._connect()
        with connection:
            connection.execute(
                f"INSERT INTO {self._table} (key, state) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET state = excluded.state",
                (key, data),
            )

    def _delete(self, key: str) -> bool:
        connection = self._connect()
        with connection:
            cursor = connection.execute(
                f"DELETE FROM {self._table} WHERE key = ?", (key,)
            )
        return cursor.rowcount > 0

    def _count(self) -> int:
        cursor = self._connect().execute(f"SELECT COUNT(*) FROM {self._table}")
        return int(cursor.fetchone()[0])

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
