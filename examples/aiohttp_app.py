"""The chat-room service of ``starlette_app.py``, on aiohttp.

Run it with ``python examples/aiohttp_app.py --port 8000``. Same API:
``POST /rooms/{room}/messages`` and ``GET /stats``; limits become 429 and 503
responses with ``Retry-After``.
"""

from __future__ import annotations

import argparse

from aiohttp import web

from boundedactors import Actor, Router, Supervisor
from boundedactors.integrations.aiohttp import (
    SUPERVISOR,
    ClientAdmission,
    admission_middleware,
    limit_middleware,
    setup,
)

MAX_ROOM_NAME = 64
ROOMS = web.AppKey("rooms", Router[str, int])


class Room(Actor[str, int]):
    """One chat room: counts the messages posted to it."""

    def __init__(self, name: object) -> None:
        self.messages = 0

    async def receive(self, message: str) -> int:
        if message == "post":
            self.messages += 1
        return self.messages


async def post_message(request: web.Request) -> web.Response:
    room = request.match_info["room"]
    if len(room) > MAX_ROOM_NAME:
        return web.json_response({"error": "room name too long"}, status=400)
    count = await request.app[ROOMS].ask(room, "post", timeout=5.0)
    return web.json_response({"room": room, "messages": count})


async def stats(request: web.Request) -> web.Response:
    figures = request.app[SUPERVISOR].stats()
    return web.json_response(
        {
            "live_actors": figures.live_actors,
            "rejected": dict(figures.rejected),
            "messages_handled": figures.messages_handled,
        }
    )


def create_app(
    *,
    max_rooms: int = 10_000,
    room_rate: float = 1_000.0,
    room_burst: float = 1_000.0,
    per_client: int = 8,
) -> web.Application:
    """Build the app; the limits are arguments so that tests can make them small."""
    admission = ClientAdmission(per_client=per_client, header="x-client-id")
    app = web.Application(
        middlewares=[admission_middleware(admission), limit_middleware]
    )

    def start_rooms(app: web.Application, supervisor: Supervisor) -> None:
        app[ROOMS] = Router(supervisor, factory=Room, mailbox_size=100)

    setup(
        app,
        start_rooms,
        admission=admission,
        max_children=max_rooms,
        spawn_rate=room_rate,
        spawn_burst=room_burst,
        name="rooms",
    )
    app.router.add_post("/rooms/{room}/messages", post_message)
    app.router.add_get("/stats", stats)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    arguments = parser.parse_args()
    web.run_app(create_app(), host="127.0.0.1", port=arguments.port)


if __name__ == "__main__":
    main()
