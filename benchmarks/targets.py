"""The performance targets, checked against one run's results."""

from __future__ import annotations

from typing import Any

Target = dict[str, Any]


def _target(name: str, goal: str, measured: float | None, met: bool | None) -> Target:
    return {"name": name, "target": goal, "measured": measured, "met": met}


def evaluate(results: dict[str, Any]) -> list[Target]:
    """Return each target with its measured figure and whether the run met it.

    A target whose scenario did not run is left out. Figures from ``--quick`` runs
    come from smaller scales and are only a smoke check.
    """
    targets: list[Target] = []

    memory = results.get("memory")
    if memory and "bytes_per_actor" in memory:
        ours = memory["bytes_per_actor"]["actors"]
        largest = max(ours, key=int)
        value = ours[largest]
        targets.append(
            _target(
                f"idle actor overhead at {int(largest):,}",
                "<= 512 B",
                value,
                value <= 512,
            )
        )

    spawn = results.get("spawn")
    if spawn and "spawn_us" in spawn:
        value = spawn["spawn_us"]
        targets.append(_target("spawn", "<= 5 us", value, value <= 5.0))
        rejection = spawn["rejection"]
        worst = max(rejection["spawn_reject_ns"], rejection["router_reject_ns"]) / 1000
        targets.append(_target("rejection under flood", "<= 2 us", worst, worst <= 2.0))
        retained = rejection["retained_bytes_per_rejection"]
        targets.append(
            _target(
                "bytes retained per rejection",
                "0 (< 0.01 B)",
                retained,
                retained < 0.01,
            )
        )

    routing = results.get("routing")
    if routing and "scales" in routing:
        last = routing["scales"][-1]
        value = last["router_tell_ns"] / last["floor_ns"]
        targets.append(
            _target(
                f"Router.tell / raw floor at {last['actors']:,}",
                "<= 6x",
                value,
                value <= 6.0,
            )
        )
        growth = routing["router_growth"]
        allowed = min(1.3 * max(1.0, routing["floor_growth"]), 2.5)
        targets.append(
            _target(
                "Router.tell growth across scales",
                f"<= {allowed:.2f}x (1.3 x floor growth, at most 2.5x)",
                growth,
                growth <= allowed,
            )
        )
        allocated = routing["allocated_bytes_per_tell"]
        targets.append(
            _target(
                "bytes allocated per Router.tell, str key",
                "0 B",
                allocated,
                allocated == 0,
            )
        )
        idle = routing.get("idle_actors_with_mailbox")
        if idle is not None:
            targets.append(
                _target("idle actors holding a mailbox", "0", idle, idle == 0)
            )

    throughput = results.get("throughput")
    if throughput and "messages_per_second" in throughput:
        ours = throughput["messages_per_second"]
        value = ours / throughput["task_queue_messages_per_second"]
        targets.append(
            _target("tell to handled vs task + Queue", ">= 4x", value, value >= 4.0)
        )
        targets.append(
            _target("tell to handled", ">= 1,000,000 msg/s", ours, ours >= 1e6)
        )

    hostile = results.get("hostile_keys")
    if hostile and "router" in hostile:
        router = hostile["router"]
        for bad, good in (("hostile int", "int"), ("hostile tuple", "tuple")):
            value = router[bad]["tell_ns"] / router[good]["tell_ns"]
            targets.append(
                _target(f"{bad} keys vs {good} keys", "<= 2x", value, value <= 2.0)
            )
    return targets
