"""Restart limits counted per child instead of per supervisor."""

from __future__ import annotations

import pytest

import boundedactors as ba
from boundedactors.testing import FakeClock


class Fragile(ba.Actor):
    def __init__(self, key: str) -> None:
        self.key = key

    async def receive(self, message: str) -> str:
        if message == "poison":
            raise ValueError(f"poison for {self.key}")
        return f"{self.key}:{message}"


async def test_poison_stops_only_that_child() -> None:
    """Past max_restarts, only the crashing actor stops; the rest keep replying."""
    clock = FakeClock()
    async with ba.Supervisor(
        clock=clock, restart_limit_scope="child", restart_backoff=0.0
    ) as sup:
        router = ba.Router(sup, factory=Fragile)
        for index in range(5):
            assert await router.ask(f"room{index}", "hi") == f"room{index}:hi"
        for attacker in range(4):
            for _ in range(4):
                with pytest.raises(ValueError):
                    await router.ask(f"attacker{attacker}", "poison")
                await clock.settle()
        assert sup.is_running
        assert sup.failure is None
        assert await router.ask("room1", "still") == "room1:still"
        assert sup.stats().restarts_refused == 4
        assert "attacker0" not in router
        sup.check_invariants()


async def test_child_limit_keeps_window() -> None:
    """Crashes spread wider than max_seconds never stop the child."""
    clock = FakeClock()
    async with ba.Supervisor(
        clock=clock,
        restart_limit_scope="child",
        restart_backoff=0.0,
        max_restarts=1,
        max_seconds=1.0,
    ) as sup:
        router = ba.Router(sup, factory=Fragile)
        for _ in range(5):
            with pytest.raises(ValueError):
                await router.ask("slow", "poison")
            await clock.advance(2.0)
        assert "slow" in router
        assert sup.stats().restarts_refused == 0


async def test_supervisor_scope_fails_whole_tree() -> None:
    """With the default scope, crashes of different children add up."""
    clock = FakeClock()
    supervisor = ba.Supervisor(clock=clock, restart_backoff=0.0)
    with pytest.raises(ba.RestartIntensityExceeded):
        async with supervisor as sup:
            router = ba.Router(sup, factory=Fragile)
            for attacker in range(4):
                with pytest.raises(ValueError):
                    await router.ask(f"attacker{attacker}", "poison")
                await clock.settle()
            assert sup.failure is not None


def test_restart_limit_scope_checked() -> None:
    """An unknown scope is rejected at construction, naming the option."""
    with pytest.raises(ValueError, match="restart_limit_scope"):
        ba.Supervisor(restart_limit_scope="tree")
