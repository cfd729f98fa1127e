"""Tests of SymbolTable and Symbol."""

from __future__ import annotations

import pickle
import threading

import pytest

from boundedactors import InvalidSymbol, Symbol, SymbolLimitExceeded, SymbolTable


def test_intern_returns_same_object() -> None:
    """The same text always gives the same Symbol object."""
    table = SymbolTable(limit=10)
    first = table.intern("open")
    assert table.intern("open") is first
    assert table.intern("".join(["op", "en"])) is first
    assert first.text == "open"
    assert str(first) == "open"
    assert len(table) == 1
    table.check_invariants()


def test_symbol_is_hashable_and_small() -> None:
    """A symbol hashes by identity and has no per-instance dict."""
    table = SymbolTable(limit=10)
    symbol = table.intern("a")
    assert {symbol: 1}[symbol] == 1
    assert not hasattr(symbol, "__dict__")


def test_symbol_cannot_be_built_or_pickled() -> None:
    """Symbols come only from a table and cannot be copied out of it."""
    table = SymbolTable(limit=10)
    with pytest.raises(TypeError):
        Symbol(object(), "x", 0)
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(table.intern("x"))


def test_limit_raises_and_table_stays_usable() -> None:
    """Past the limit, intern raises, and existing symbols still resolve."""
    table = SymbolTable(limit=2)
    x = table.intern("x")
    table.intern("y")
    with pytest.raises(SymbolLimitExceeded) as caught:
        table.intern("z")
    assert caught.value.limit == 2
    assert caught.value.current == 2
    assert caught.value.retry_after is None
    assert table.intern("x") is x
    assert table.get("x") is x
    assert "z" not in table
    assert len(table) == 2
    assert table.rejected == 1
    table.check_invariants()


def test_get_never_creates() -> None:
    """get() of unknown text returns None and leaves the table unchanged."""
    table = SymbolTable(limit=5)
    for text in ("a", "b", "c" * 1000, ""):
        assert table.get(text) is None
    assert len(table) == 0
    assert "a" not in table
    assert 1 not in table


def test_overflow_symbol_past_limit() -> None:
    """With overflow set, new text past the limit maps to one shared symbol."""
    table = SymbolTable(limit=3, overflow="other")
    assert len(table) == 1
    a = table.intern("a")
    table.intern("b")
    other = table.intern("c")
    assert other is table.overflow_symbol
    assert other.text == "other"
    assert table.intern("d") is other
    assert table.intern("a") is a
    assert table.overflowed == 2
    assert len(table) == 3
    table.check_invariants()


def test_allowlist_accepts_only_listed_text() -> None:
    """An allowlist table resolves its names and rejects anything else."""
    table = SymbolTable.from_allowlist(["get", "put", "get"])
    assert table.limit == 2
    assert table.get("get") is table.intern("get")
    with pytest.raises(SymbolLimitExceeded):
        table.intern("delete")
    folded = SymbolTable.from_allowlist(["get"], overflow="other")
    assert folded.intern("delete") is folded.overflow_symbol
    assert folded.intern("get").text == "get"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b"bytes", TypeError),
        (42, TypeError),
        (None, TypeError),
        ("", InvalidSymbol),
        ("x" * 256, InvalidSymbol),
        ("\ud800", InvalidSymbol),
        ("a\udfffb", InvalidSymbol),
    ],
)
def test_intern_rejects_bad_input(text: object, error: type[Exception]) -> None:
    """Bad text raises a clear error and grows nothing."""
    table = SymbolTable(limit=10)
    with pytest.raises(error):
        table.intern(text)  # type: ignore[arg-type]
    assert len(table) == 0
    table.check_invariants()


def test_invalid_symbol_is_value_error() -> None:
    """InvalidSymbol is a ValueError and its message shows the value, shortened."""
    table = SymbolTable(limit=10)
    with pytest.raises(ValueError, match="max_length is 255") as caught:
        table.intern("q" * 10_000)
    message = str(caught.value)
    assert "qqqq" in message
    assert "10000 in all" in message
    assert len(message) < 300
    with pytest.raises(InvalidSymbol, match="UTF-8"):
        table.intern("ok\ud800")


def test_get_of_huge_text_is_flat_cost() -> None:
    """get() of a multi-megabyte string returns None after a length check."""
    table = SymbolTable(limit=10)
    assert table.get("x" * 5_000_000) is None
    with pytest.raises(TypeError, match="must be str"):
        table.get(b"x")  # type: ignore[arg-type]


def test_str_subclass_is_stored_as_str() -> None:
    """A str subclass interns as plain str text."""

    class Tagged(str):
        pass

    table = SymbolTable(limit=10)
    symbol = table.intern(Tagged("name"))
    assert type(symbol.text) is str
    assert table.intern("name") is symbol


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"limit": 0}, ValueError),
        ({"limit": -1}, ValueError),
        ({"limit": "10"}, TypeError),
        ({"limit": 1.5}, ValueError),
        ({"max_length": 0}, ValueError),
        ({"overflow": ""}, InvalidSymbol),
    ],
)
def test_options_checked_at_construction(
    options: dict[str, object], error: type[Exception]
) -> None:
    """Bad options raise at construction, naming the option."""
    with pytest.raises(error):
        SymbolTable(**options)  # type: ignore[arg-type]


def test_option_error_names_option_and_value() -> None:
    """The error for a bad limit names the option and the value received."""
    with pytest.raises(ValueError, match=r"limit must be a positive int, got -1"):
        SymbolTable(limit=-1)


def test_intern_is_thread_safe() -> None:
    """Threads interning overlapping text get one symbol per text, within limit."""
    table = SymbolTable(limit=500)
    results: list[dict[str, Symbol]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def work(offset: int) -> None:
        seen: dict[str, Symbol] = {}
        barrier.wait()
        for number in range(1000):
            text = f"t{(number + offset) % 800}"
            try:
                seen[text] = table.intern(text)
            except SymbolLimitExceeded as error:
                errors.append(error)
        results.append(seen)

    threads = [threading.Thread(target=work, args=(i * 37,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(table) == 500
    assert errors, "800 distinct texts should exceed a limit of 500"
    for seen in results:
        for text, symbol in seen.items():
            assert table.get(text) is symbol
    table.check_invariants()


def test_iteration_and_indexes() -> None:
    """Iteration yields symbols in creation order with increasing indexes."""
    table = SymbolTable(limit=10)
    for text in ("a", "b", "c"):
        table.intern(text)
    assert [symbol.text for symbol in table] == ["a", "b", "c"]
    assert [symbol.index for symbol in table] == [0, 1, 2]
    assert repr(table.intern("a")) == "Symbol('a')"
