"""A first run of boundedactors: one actor per chat room, within quotas.

Run it with ``python examples/quickstart.py``. It starts a supervisor that allows
three rooms and two rooms per client, sends messages to rooms through a Router,
shows a crash being survived, and prints the supervisor's stats.
"""

from __future__ import annotations

import asyncio
from typing import Any

import boundedactors as ba


class Room(ba.Actor):
    """A chat room: keeps the last messages and returns the history on "history"."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: list[str] = []

    async def on_start(self) -> None:
        print(f"room {self.name!r} started")

    async def receive(self, message: Any) -> Any:
        if message == "history":
            return list(self.messages)
        if message == "crash":
            raise RuntimeError(f"room {self.name!r} failed on request")
        self.messages = [*self.messages[-9:], str(message)]
        return len(self.messages)


async def main() -> None:
    letters: list[ba.DeadLetter] = []
    async with ba.Supervisor(
        max_children=3,
        per_key_limit=2,
        restart_backoff=0.0,
        dead_letters=letters.append,
        name="chat",
    ) as sup:
        rooms = ba.Router(sup, factory=Room)

        rooms.tell("lobby", "hello", quota_key="alice")
        rooms.tell("lobby", "hi alice", quota_key="bob")
        print("lobby history:", await rooms.ask("lobby", "history"))

        await rooms.ask("games", "anyone?", quota_key="alice")
        try:
            await rooms.ask("music", "a third room", quota_key="alice")
        except ba.SpawnLimitExceeded as error:
            print(f"rejected: {error.reason} (limit {error.limit})")

        try:
            await rooms.ask("games", "crash")
        except RuntimeError as error:
            print("the asker got the crash:", error)
        print("games after its restart:", await rooms.ask("games", "history"))

        await rooms.ask("music", "now bob opens it", quota_key="bob")
        try:
            rooms.tell("jazz", "a fourth room")
        except ba.SpawnLimitExceeded as error:
            print(f"rejected: {error.reason} (limit {error.limit})")

        stats = sup.stats()
        print(
            f"live actors {stats.live_actors}, spawned {stats.spawned}, "
            f"rejected {dict(stats.rejected)}, crashes {stats.crashes}"
        )


if __name__ == "__main__":
    asyncio.run(main())
