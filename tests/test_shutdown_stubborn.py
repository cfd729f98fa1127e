"""Shutdown ends even when a handler swallows every cancellation."""

from __future__ import annotations

import asyncio
import logging

import pytest

import boundedactors as ba


class Stubborn(ba.Actor):
    def __init__(self, release: asyncio.Event) -> None:
        self.release = release

    async def receive(self, message: object) -> None:
        while not self.release.is_set():
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                continue  # swallows the cancellation on purpose


async def test_shutdown_leaves_stubborn_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Leaving the block returns after the grace period and logs the straggler."""
    release = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level(logging.ERROR, logger="boundedactors"):
        async with ba.Supervisor(
            workers=1, stop_timeout=0.05, shutdown_timeout=0.1
        ) as sup:
            sup.spawn(Stubborn, release).tell("hold")
            await asyncio.sleep(0)
    elapsed = loop.time() - started
    release.set()
    assert elapsed < 5.0
    assert any("ignored cancellation" in r.getMessage() for r in caplog.records)
    await asyncio.sleep(0)
