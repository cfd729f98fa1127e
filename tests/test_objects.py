"""Wrapping plain objects in actors with Supervisor.spawn_object."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

import boundedactors as ba
from boundedactors.objects import Proxy
from boundedactors.testing import FakeClock


async def until(predicate: Callable[[], bool]) -> None:
    """Yield to the loop until ``predicate()`` is true (at most 1,000 rounds)."""
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached within 1,000 loop rounds")


class Cart:
    def __init__(self) -> None:
        self.items: dict[str, int] = {}
        self.log: list[str] = []

    def add(self, item: str, count: int = 1) -> int:
        self.items[item] = self.items.get(item, 0) + count
        return self.items[item]

    async def slow_add(self, item: str, gate: asyncio.Event) -> int:
        self.log.append(f"start {item}")
        await gate.wait()
        self.log.append(f"end {item}")
        return self.add(item)

    def fail(self, message: str) -> None:
        raise ValueError(message)

    def call(self) -> str:
        return "the cart's own call"


async def test_sync_and_async_methods() -> None:
    """Sync methods return their value; async methods are awaited."""
    async with ba.Supervisor() as sup:
        cart = sup.spawn_object(Cart())
        assert isinstance(cart, Proxy)
        assert await cart.add("apple", 2) == 2
        assert await cart.add("apple") == 3
        gate = asyncio.Event()
        gate.set()
        assert await cart.slow_add("pear", gate) == 1
        assert await cart.call(Cart.add, "apple", count=4) == 7
        assert await cart.call(lambda c: dict(c.items)) == {"apple": 7, "pear": 1}


async def test_calls_run_one_at_a_time_in_order() -> None:
    """A second call waits until the first, suspended in an await, returns."""
    async with ba.Supervisor() as sup:
        obj = Cart()
        cart = sup.spawn_object(obj)
        gate = asyncio.Event()
        first = asyncio.create_task(cart.slow_add("a", gate))
        second = asyncio.create_task(cart.slow_add("b", gate))
        third = asyncio.create_task(cart.add("c"))
        await until(lambda: cart.ref.mailbox_len == 2)
        assert obj.log == ["start a"]
        gate.set()
        assert await first == 1
        assert await second == 1
        assert await third == 1
        assert obj.log == ["start a", "end a", "start b", "end b"]


async def test_unknown_and_private_names_rejected() -> None:
    """Names the class lacks, or private ones, raise AttributeError at once."""
    async with ba.Supervisor() as sup:
        cart = sup.spawn_object(Cart())
        with pytest.raises(AttributeError, match="no public method 'missing'"):
            cart.missing  # noqa: B018
        with pytest.raises(AttributeError, match="'_secret'"):
            cart._secret  # noqa: B018
        assert await cart.call(Cart.call) == "the cart's own call"


async def test_error_crashes_and_keeps_object() -> None:
    """An exception reaches the caller; the restarted actor keeps the object."""
    clock = FakeClock()
    async with ba.Supervisor(clock=clock) as sup:
        obj = Cart()
        cart = sup.spawn_object(obj)
        await cart.add("apple")
        with pytest.raises(ValueError, match="bad"):
            await cart.fail("bad")
        await clock.advance(1.0)
        assert sup.stats().crashes == 1
        assert sup.stats().restarts == 1
        assert await cart.add("apple") == 2
        assert cart.ref.is_alive


async def test_rebuild_makes_fresh_object() -> None:
    """With rebuild, a restart replaces the object."""
    clock = FakeClock()
    built: list[Cart] = []

    def rebuild() -> Cart:
        built.append(Cart())
        return built[-1]

    async with ba.Supervisor(clock=clock) as sup:
        cart = sup.spawn_object(Cart(), rebuild=rebuild)
        await cart.add("apple", 5)
        with pytest.raises(ValueError):
            await cart.fail("bad")
        await clock.advance(1.0)
        assert await cart.add("apple") == 1
        assert len(built) == 1


async def test_reply_errors_do_not_crash() -> None:
    """Exceptions listed in reply_errors reach the caller without a restart."""
    async with ba.Supervisor() as sup:
        cart = sup.spawn_object(Cart(), reply_errors=(ValueError,))
        for _ in range(10):
            with pytest.raises(ValueError, match="bad"):
                await cart.fail("bad")
        assert sup.stats().crashes == 0
        assert await cart.add("apple") == 1


async def test_quotas_and_mailbox_apply() -> None:
    """spawn_object counts against max_children and the mailbox bound."""
    async with ba.Supervisor(max_children=1) as sup:
        obj = Cart()
        cart = sup.spawn_object(obj, mailbox_size=1, name="cart")
        assert sup.registry.lookup("cart") is cart.ref
        with pytest.raises(ba.SpawnLimitExceeded) as caught:
            sup.spawn_object(Cart())
        assert caught.value.reason == "max_children"
        gate = asyncio.Event()
        first = asyncio.create_task(cart.slow_add("a", gate))
        await until(lambda: obj.log == ["start a"])
        second = asyncio.create_task(cart.add("b"))
        await until(lambda: cart.ref.mailbox_len == 1)
        with pytest.raises(ba.MailboxFull):
            await cart.add("c")
        gate.set()
        assert await first == 1
        assert await second == 1
        assert obj.items == {"a": 1, "b": 1}


async def test_timeout_and_stop() -> None:
    """with_timeout bounds a call; calls after stop raise ActorStopped."""
    clock = FakeClock()
    async with ba.Supervisor(clock=clock) as sup:
        cart = sup.spawn_object(Cart())
        gate = asyncio.Event()
        call = asyncio.create_task(cart.with_timeout(2.0).slow_add("a", gate))
        await clock.advance(2.0)
        with pytest.raises(ba.AskTimeout):
            await call
        gate.set()
        await sup.settle()
        await cart.ref.stop()
        with pytest.raises(ba.ActorStopped):
            await cart.add("b")


async def test_bad_options() -> None:
    """Invalid options raise TypeError or ValueError naming the option."""
    async with ba.Supervisor() as sup:
        with pytest.raises(ValueError, match="timeout"):
            sup.spawn_object(Cart(), timeout=0)
        with pytest.raises(TypeError, match="reply_errors"):
            sup.spawn_object(Cart(), reply_errors=ValueError)  # type: ignore[typeddict-item]
        with pytest.raises(TypeError, match="rebuild"):
            sup.spawn_object(Cart(), rebuild=3)  # type: ignore[typeddict-item]
        proxy = sup.spawn_object(Cart())
        with pytest.raises(TypeError, match="plain object"):
            sup.spawn_object(proxy)
        with pytest.raises(ValueError, match="timeout"):
            proxy.with_timeout(-1)
        assert len(sup) == 1
