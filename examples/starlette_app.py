"""A chat-room service on Starlette whose limits become 429 and 503 responses.

Run it with ``python examples/starlette_app.py --port 8000``.

- ``POST /rooms/{room}/messages`` counts one message in the room's actor and
  returns ``{"room": room, "messages": count}``. The actor starts on first use,
  under the supervisor's ``max_children`` and spawn rate.
- ``GET /stats`` returns the supervisor's counters.

Every request is admitted per client first (the ``X-Client-Id`` header, or the
peer address), with at most ``per_client`` requests in flight per client.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from boundedactors import Actor, Router, Supervisor
from boundedactors.integrations.asgi import (
    AdmissionMiddleware,
    ClientAdmission,
    LimitExceededMiddleware,
    supervisor_lifespan,
)

MAX_ROOM_NAME = 64


class Room(Actor[str, int]):
    """One chat room: counts the messages posted to it."""

    def __init__(self, name: object) -> None:
        self.messages = 0

    async def receive(self, message: str) -> int:
        if message == "post":
            self.messages += 1
        return self.messages


def create_app(
    *,
    max_rooms: int = 10_000,
    room_rate: float = 1_000.0,
    room_burst: float = 1_000.0,
    per_client: int = 8,
) -> Starlette:
    """Build the app; the limits are arguments so that tests can make them small."""
    admission = ClientAdmission(per_client=per_client, header="x-client-id")

    def setup(supervisor: Supervisor) -> dict[str, object]:
        return {"rooms": Router(supervisor, factory=Room, mailbox_size=100)}

    async def post_message(request: Request) -> JSONResponse:
        room = request.path_params["room"]
        if len(room) > MAX_ROOM_NAME:
            return JSONResponse({"error": "room name too long"}, status_code=400)
        rooms: Router[str, int] = request.state.rooms
        count = await rooms.ask(room, "post", timeout=5.0)
        return JSONResponse({"room": room, "messages": count})

    async def stats(request: Request) -> JSONResponse:
        supervisor: Supervisor = request.state.supervisor
        figures = supervisor.stats()
        return JSONResponse(
            {
                "live_actors": figures.live_actors,
                "rejected": dict(figures.rejected),
                "messages_handled": figures.messages_handled,
            }
        )

    return Starlette(
        routes=[
            Route("/rooms/{room}/messages", post_message, methods=["POST"]),
            Route("/stats", stats),
        ],
        middleware=[
            Middleware(AdmissionMiddleware, admission=admission),
            Middleware(LimitExceededMiddleware),
        ],
        lifespan=supervisor_lifespan(
            setup,
            admission=admission,
            max_children=max_rooms,
            spawn_rate=room_rate,
            spawn_burst=room_burst,
            name="rooms",
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    arguments = parser.parse_args()
    uvicorn.run(create_app(), host="127.0.0.1", port=arguments.port)


if __name__ == "__main__":
    main()
