"""A symbol table with a hard ceiling: the bounded counterpart of the BEAM atom table.

The BEAM never collects atoms, so a program that turns untrusted text into atoms
(JSON keys, HTTP method names) fills the table and the whole VM aborts. A
:class:`SymbolTable` has a ``limit``; past it, :meth:`SymbolTable.intern` raises
:class:`SymbolLimitExceeded` (or returns one shared overflow symbol) and the table
keeps working. :meth:`SymbolTable.get` never creates a symbol, so it is the path for
text an outsider controls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from . import _validate
from .errors import InvalidSymbol, SymbolLimitExceeded, shorten

__all__ = ["Symbol", "SymbolTable"]

_CREATE = object()


class Symbol:
    """An interned name. The same text in one table always gives the same object.

    Symbols compare and hash by identity, so a dict keyed by symbols never hashes
    the text again. Each costs one 56-byte object plus its text.
    """

    __slots__ = ("__weakref__", "index", "text")

    text: str
    index: int

    def __init__(self, token: object, text: str, index: int) -> None:
        if token is not _CREATE:
            raise TypeError("Symbol cannot be created directly; use SymbolTable.intern")
        self.text = text
        self.index = index

    def __repr__(self) -> str:
        return f"Symbol({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Symbol is bound to its table and cannot be pickled")


class SymbolTable:
    """Interned symbols with a hard ceiling on their number.

    Args:
        limit: maximum number of symbols, including the overflow symbol. At the
            limit, ``intern`` of new text raises :class:`SymbolLimitExceeded`, or
            returns the overflow symbol when ``overflow`` is set.
        max_length: maximum length of a symbol's text, in characters.
        overflow: text of a shared symbol that new text maps to past the limit, as
            metric SDKs fold new label values into one. ``None`` (the default)
            raises instead.

    The table is thread-safe: ``intern`` takes a lock, ``get`` does not need one.

    >>> table = SymbolTable(limit=2)
    >>> table.intern("open") is table.intern("open")
    True
    >>> table.get("close") is None
    True
    """

    def __init__(
        self,
        *,
        limit: int = 1_048_576,
        max_length: int = 255,
        overflow: str | None = None,
    ) -> None:
        self._limit: int = _validate.positive_int("limit", limit)  # type: ignore[assignment]
        self._max_length: int = _validate.positive_int("max_length", max_length)  # type: ignore[assignment]
        self._symbols: dict[str, Symbol] = {}
        self._lock = threading.Lock()
        self.overflowed = 0
        self.rejected = 0
        self.overflow_symbol: Symbol | None = None
        if overflow is not None:
            if not isinstance(overflow, str):
                raise TypeError(
                    f"overflow must be a str or None, got {shorten(overflow)} "
                    f"({type(overflow).__name__})"
                )
            if not overflow:
                raise InvalidSymbol("overflow must be a non-empty str or None, got ''")
            self._check(overflow)
            self.overflow_symbol = self._create(overflow)

    @classmethod
    def from_allowlist(
        cls, texts: Iterable[str], *, max_length: int = 255, overflow: str | None = None
    ) -> SymbolTable:
        """Build a table that contains exactly ``texts`` and accepts nothing new.

        This is the allowlist form of ``String.to_existing_atom``: ``get`` finds the
        allowed names, and ``intern`` of anything else raises
        :class:`SymbolLimitExceeded` (or returns the overflow symbol).
        """
        if isinstance(texts, str | bytes):
            raise TypeError(
                f"texts must be an iterable of str, not a single {type(texts).__name__}"
                f": {shorten(texts)}"
            )
        unique = list(dict.fromkeys(texts))
        extra = 1 if overflow is not None and overflow not in unique else 0
        table = cls(
            limit=max(1, len(unique) + extra), max_length=max_length, overflow=overflow
        )
        for text in unique:
            table.intern(text)
        # The constructor needs a limit >= 1; an empty allowlist admits nothing.
        table._limit = len(unique) + extra
        return table

    @property
    def limit(self) -> int:
        """Maximum number of symbols."""
        return self._limit

    @property
    def max_length(self) -> int:
        """Maximum length of a symbol's text, in characters."""
        return self._max_length

    def __len__(self) -> int:
        return len(self._symbols)

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and self.get(text) is not None

    def __iter__(self) -> Iterator[Symbol]:
        return iter(list(self._symbols.values()))

    def get(self, text: str) -> Symbol | None:
        """Return the symbol for ``text``, or ``None``; never creates one.

        Text that could never be interned (empty, longer than ``max_length``) returns
        ``None`` after a length check, so a huge string costs O(1).

        Runtime complexity: O(len(text)) up to ``max_length``; no allocation.

        Raises:
            TypeError: ``text`` is not a ``str``.
        """
        if type(text) is not str:
            if not isinstance(text, str):
                raise TypeError(
                    f"symbol text must be str, got {type(text).__name__}: "
                    f"{shorten(text)}"
                )
            text = str(text)
        if len(text) > self._max_length:
            return None
        return self._symbols.get(text)

    def intern(self, text: str) -> Symbol:
        """Return the symbol for ``text``, creating it if the table has room.

        Runtime complexity: O(len(text)) up to ``max_length``. Creating a symbol
        allocates one :class:`Symbol` and one dict entry; finding one allocates
        nothing.

        Raises:
            TypeError: ``text`` is not a ``str``.
            InvalidSymbol: ``text`` is empty, longer than ``max_length`` or not
                encodable as UTF-8 (a lone surrogate).
            SymbolLimitExceeded: the table is full and has no overflow symbol.
        """
        if type(text) is str and len(text) <= self._max_length:
            # The common case, text that already has a symbol, with no call to get.
            symbol = self._symbols.get(text)
            if symbol is not None:
                return symbol
        symbol = self.get(text)
        if symbol is not None:
            return symbol
        text = str(text)
        self._check(text)
        with self._lock:
            symbol = self._symbols.get(text)
            if symbol is not None:
                return symbol
            if len(self._symbols) >= self._limit:
                return self._at_limit()
            return self._create(text)

    def check_invariants(self) -> None:
        """Raise ``AssertionError`` if the table's internal state is inconsistent."""
        assert len(self._symbols) <= self._limit
        for index, (text, symbol) in enumerate(self._symbols.items()):
            assert symbol.text == text
            assert symbol.index == index
            assert 0 < len(text) <= self._max_length
        if self.overflow_symbol is not None:
            assert self._symbols[self.overflow_symbol.text] is self.overflow_symbol

    def _at_limit(self) -> Symbol:
        if self.overflow_symbol is not None:
            self.overflowed += 1
            return self.overflow_symbol
        self.rejected += 1
        raise SymbolLimitExceeded(
            f"symbol table is full: {len(self._symbols)} of {self._limit} symbols; "
            "use get() for untrusted text or raise the limit",
            limit=self._limit,
            current=len(self._symbols),
        )

    def _create(self, text: str) -> Symbol:
        symbol = Symbol(_CREATE, text, len(self._symbols))
        self._symbols[text] = symbol
        return symbol

    def _check(self, text: str) -> None:
        if not text:
            raise InvalidSymbol("symbol text must not be empty")
        if len(text) > self._max_length:
            raise InvalidSymbol(
                f"symbol text is {len(text)} characters, max_length is "
                f"{self._max_length}: {shorten(text)}"
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise InvalidSymbol(
                f"symbol text is not valid UTF-8 ({error.reason} at index "
                f"{error.start}): {shorten(text)}"
            ) from None
