"""Tests of Router (activation, routing by hash) and publish."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock

MODULUS = 2**61 - 1


class Keyed(ba.Actor):
    """Counts "inc" messages and returns (key, count)."""

    built: ClassVar[list[object]] = []

    def __init__(self, key: object) -> None:
        self.key = key
        self.count = 0
        Keyed.built.append(key)

    async def receive(self, message: Any) -> Any:
        if message == "inc":
            self.count += 1
        return (self.key, self.count)


@pytest.fixture(autouse=True)
def _reset_built() -> None:
    Keyed.built = []


async def test_activation_through_factory() -> None:
    """A new key builds its actor as factory(key), registered under the key."""
    async with ba.Supervisor(clock=FakeClock()) as sup:
        router = ba.Router(sup, factory=Keyed)
        assert router.lookup("room-1") is None
        router.tell("room-1", "inc")
        assert await router.ask("room-1", "get") == ("room-1", 1)
        ref = router.lookup("room-1")
        assert ref is not None
        assert ref.name == "room-1"
        assert "room-1" in router
        assert len(router) == 1
        assert Keyed.built == ["room-1"]
        assert await router.ask(("tenant", 5), "get") == (("tenant", 5), 0)


async def test_concurrent_first_messages_start_one_actor() -> None:
    """Many tasks asking a new key at once start exactly one actor."""
    async with ba.Supervisor(clock=FakeClock()) as sup:
        router = ba.Router(sup, factory=Keyed)
        replies = await asyncio.gather(*(router.ask("hot", "inc") for _ in range(200)))
        assert Keyed.built == ["hot"]
        assert sorted(count for _, count in replies) == list(range(1, 201))
        assert len(sup) == 1


async def test_no_factory_dead_letters_and_not_found() -> None:
    """Without a factory, tell to an unknown key is a dead letter; ask raises."""
    letters: list[ba.DeadLetter] = []
    async with ba.Supervisor(dead_letters=letters.append, clock=FakeClock()) as sup:
        router = ba.Router(sup)
        router.tell("nobody", "hello")
        assert letters == [ba.DeadLetter("hello", "nobody", "not_found")]
        with pytest.raises(ba.ActorNotFound, match="'nobody'") as caught:
            await router.ask("nobody", "hello")
        assert isinstance(caught.value, LookupError)
        assert caught.value.key == "nobody"
        assert sup.stats().dead_letters_by_reason == {"not_found": 1}


async def test_router_reaches_actor_spawned_elsewhere() -> None:
    """A router without a factory reaches actors registered in its registry."""
    async with ba.Supervisor(clock=FakeClock()) as sup:
        registry = ba.Registry()
        sup.spawn(Keyed, "device-9", name="device-9", registry=registry)
        router = ba.Router(sup, registry=registry)
        assert await router.ask("device-9", "inc") == ("device-9", 1)


async def test_activation_rejected_by_quota() -> None:
    """tell raises SpawnLimitExceeded when the key cannot be activated."""
    async with ba.Supervisor(max_children=1, clock=FakeClock()) as sup:
        router = ba.Router(sup, factory=Keyed)
        router.tell("a", "inc")
        with pytest.raises(ba.SpawnLimitExceeded) as caught:
            router.tell("b", "inc")
        assert caught.value.reason == "max_children"
        assert "b" not in router
        assert await router.ask("a", "get") == ("a", 1)


async def test_per_key_quota_through_router() -> None:
    """quota_key passed to the router is counted against per_key_limit."""
    async with ba.Supervisor(per_key_limit=1, clock=FakeClock()) as sup:
        router = ba.Router(sup, factory=Keyed)
        router.tell("cart-1", "inc", quota_key="client")
        with pytest.raises(ba.SpawnLimitExceeded, match="per_key"):
            router.tell("cart-2", "inc", quota_key="client")
        router.tell("cart-1", "inc", quota_key="client")
        assert await router.ask("cart-1", "get") == ("cart-1", 2)


async def test_stopped_key_is_activated_again() -> None:
    """After its actor stops, a key starts a fresh actor on the next message."""
    async with ba.Supervisor(clock=FakeClock()) as sup:
        router = ba.Router(sup, factory=Keyed)
        router.tell("k", "inc")
        assert await router.stop("k")
        assert not await router.stop("k")
        assert "k" not in router
        assert await router.ask("k", "get") == ("k", 0)
        assert Keyed.built == ["k", "k"]


async def test_equal_numeric_keys_share_actor() -> None:
    """Keys 1, 1.0 and True reach one actor, as in a dict."""
    async with ba.Supervisor(clock=FakeClock()) as sup:
        router = ba.Router(sup, factory=Keyed)
        router.tell(1, "inc")
        router.tell(1.0, "inc")
        router.tell(True, "inc")
        assert await router.ask(1, "get") == (1, 3)
        assert len(router) == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda n: n * MODULUS,
        lambda n: float(n * MODULUS),
        lambda n: (n * MODULUS, -1),
    ],
    ids=["int", "float", "tuple"],
)
async def test_colliding_keys_route_in_constant_time(make: Any) -> None:
    """Routing to keys that share one CPython hash stays O(1) per message."""
    async with ba.Supervisor(clock=FakeClock(), max_children=None) as sup:
        router = ba.Router(sup, factory=Keyed)

        async def cost(count: int) -> float:
            for n in range(1, count + 1):
                router.tell(make(n), "inc")
            await sup.settle()
            probes = [make(n) for n in range(1, 101)]
            start = time.perf_counter()
            for _ in range(10):
                for probe in probes:
                    router.tell(probe, "inc")
                await sup.settle()
            return time.perf_counter() - start

        small = await cost(100)
        large = await cost(3000)
        # With a linear probe chain, 3,000 colliding keys would cost about 30
        # times more per message than 100; the bound catches that, not noise.
        assert large < small * 6 + 0.05
        assert len(router) == 3000
        assert await router.ask(make(1), "get") == (make(1), 22)


async def test_publish_to_group() -> None:
    """publish tells every member of one group; full mailboxes lose the message."""
    letters: list[ba.DeadLetter] = []
    async with ba.Supervisor(
        dead_letters=letters.append, mailbox_size=1, clock=FakeClock()
    ) as sup:
        registry = ba.Registry()
        members = [sup.spawn(Keyed, n) for n in range(3)]
        for member in members:
            assert member.join(registry, "room")
        outsider = sup.spawn(Keyed, "outsider")
        outsider.join(registry, "other")
        members[2].tell("inc")
        assert ba.publish(registry, "room", "inc") == 2
        assert [d.reason for d in letters] == ["mailbox_full"]
        await sup.settle()
        assert [m.actor.count for m in members] == [1, 1, 1]  # type: ignore[union-attr]
        assert outsider.actor.count == 0  # type: ignore[union-attr]


async def test_member_leaves_group_when_stopped() -> None:
    """An actor that stops leaves its groups before stop() returns."""
    async with ba.Supervisor(clock=FakeClock()) as sup:
        registry = ba.Registry()
        ref = sup.spawn(Keyed, 1)
        ref.join(registry, "g")
        assert ref.leave(registry, "g")
        ref.join(registry, "g")
        await ref.stop()
        assert registry.members("g") == []
        registry.check_invariants()


def test_router_options_checked() -> None:
    """Router rejects a non-supervisor and a non-callable factory."""
    with pytest.raises(TypeError, match="supervisor"):
        ba.Router(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="factory"):
        ba.Router(ba.Supervisor(), factory=5)  # type: ignore[arg-type]
