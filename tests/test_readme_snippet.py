"""The example from the README, run as a test."""

import asyncio

import boundedactors as ba


class Counter(ba.Actor):
    def __init__(self, key):
        self.count = 0

    async def receive(self, message):
        if message == "inc":
            self.count += 1
        return self.count


async def main() -> None:
    async with ba.Supervisor(max_children=2, spawn_rate=100.0, spawn_burst=10) as sup:
        router = ba.Router(sup, factory=Counter)
        router.tell("a", "inc")
        assert await router.ask("a", "get") == 1
        await router.ask("b", "get")
        try:
            await router.ask("c", "get")
        except ba.SpawnLimitExceeded as error:
            assert error.reason == "max_children" and error.limit == 2
        else:
            raise AssertionError("third key was activated past max_children")
    table = ba.SymbolTable(limit=2)
    table.intern("x")
    table.intern("y")
    assert table.get("z") is None


def test_readme_snippet_runs() -> None:
    """The README's first example runs unchanged."""
    asyncio.run(main())
