"""A supervisor keeps the registry and symbol table it is given, even empty ones."""

import boundedactors as ba


async def test_empty_symbol_table_is_kept() -> None:
    """An empty table is falsy, yet it is the one the supervisor reports."""
    table = ba.SymbolTable(limit=10)
    async with ba.Supervisor(symbols=table) as sup:
        assert sup.symbols is table
        assert sup.stats().symbols_limit == 10


async def test_empty_registry_is_kept() -> None:
    """An empty registry given to the supervisor receives the named actors."""
    registry = ba.Registry()
    async with ba.Supervisor(registry=registry) as sup:
        assert sup.registry is registry
        ref = sup.spawn(ba.Actor, name="cart-1")
        assert registry.lookup("cart-1") is ref


async def test_nested_supervisor_keeps_given_tables() -> None:
    """A nested supervisor keeps its own empty tables instead of its parent's."""
    table = ba.SymbolTable(limit=5)
    registry = ba.Registry()
    async with ba.Supervisor() as sup:
        nested = sup.supervisor(symbols=table, registry=registry)
        assert nested.symbols is table
        assert nested.registry is registry
