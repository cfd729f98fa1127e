"""PNG plots of one run's results, drawn with matplotlib (the ``bench`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _bars(
    axis: Any, labels: list[str], values: list[float], unit: str, title: str
) -> None:
    positions = range(len(values))
    axis.barh(list(positions), values, color="#4c72b0")
    axis.set_yticks(list(positions), labels)
    axis.invert_yaxis()
    axis.set_xlabel(unit)
    axis.set_title(title)
    for position, value in zip(positions, values, strict=True):
        axis.text(value, position, f" {value:,.0f}", va="center", fontsize=8)


def render(results: dict[str, Any], directory: Path) -> list[Path]:
    """Draw a plot for each scenario that ran; return the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(figure: Any, name: str) -> None:
        path = directory / name
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)

    routing = results.get("routing")
    if routing and "scales" in routing:
        figure, axis = plt.subplots(figsize=(7, 4.5))
        actors = [scale["actors"] for scale in routing["scales"]]
        for field, label, style in (
            ("router_tell_ns", "Router.tell", "o-"),
            ("floor_ns", "dict lookup + deque.append (floor)", "s--"),
            ("linear_scan_ns", "linear-scan router", "^:"),
        ):
            values = [scale[field] for scale in routing["scales"]]
            axis.plot(actors, values, style, label=label)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("live actors")
        axis.set_ylabel("ns per message")
        axis.set_title("Routing a message to a live actor")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
        save(figure, "benchmarks-routing.png")

    memory = results.get("memory")
    if memory and "bytes_per_actor" in memory:
        labels, values = [], []
        for mode, title in (
            ("actors", "boundedactors"),
            ("tasks", "task + asyncio.Queue"),
            ("pykka", "pykka (thread)"),
        ):
            for count, value in memory["bytes_per_actor"][mode].items():
                labels.append(f"{title}, {int(count):,}")
                values.append(value)
        figure, axis = plt.subplots(figsize=(7, 3.5))
        _bars(axis, labels, values, "bytes per idle actor", "Memory per idle actor")
        axis.set_xscale("log")
        save(figure, "benchmarks-memory.png")

    throughput = results.get("throughput")
    if throughput and "messages_per_second" in throughput:
        figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
        _bars(
            left,
            ["boundedactors", "task + Queue", "pykka"],
            [
                throughput["messages_per_second"],
                throughput["task_queue_messages_per_second"],
                throughput["pykka_messages_per_second"],
            ],
            "messages per second",
            "Tell to handled",
        )
        _bars(
            right,
            ["boundedactors", "task + Queue", "pykka"],
            [
                throughput["asks_per_second"],
                throughput["task_queue_asks_per_second"],
                throughput["pykka_asks_per_second"],
            ],
            "round trips per second",
            "Ask",
        )
        save(figure, "benchmarks-throughput.png")

    costs: list[tuple[str, float]] = []
    spawn = results.get("spawn")
    if spawn and "spawn_us" in spawn:
        rejection = spawn["rejection"]
        costs += [
            ("spawn", spawn["spawn_us"] * 1000),
            ("Router activation", spawn["router_activation_us"] * 1000),
            ("dict insert (floor)", spawn["dict_insert_us"] * 1000),
            ("task + Queue start", spawn["task_queue_spawn_us"] * 1000),
            ("spawn rejected", rejection["spawn_reject_ns"]),
            ("raise + catch (floor)", rejection["raise_floor_ns"]),
        ]
    symbols = results.get("symbols")
    if symbols and "intern_existing_ns" in symbols:
        costs += [
            ("SymbolTable.intern, existing", symbols["intern_existing_ns"]),
            ("sys.intern", symbols["sys_intern_ns"]),
            ("SymbolTable.get, missing", symbols["get_missing_ns"]),
            ("dict lookup", symbols["dict_lookup_ns"]),
        ]
    hostile = results.get("hostile_keys")
    if hostile and "router" in hostile:
        for name, figures in hostile["router"].items():
            costs.append((f"Router.tell, {name} keys", figures["tell_ns"]))
    if costs:
        figure, axis = plt.subplots(figsize=(7, 0.35 * len(costs) + 1.2))
        _bars(
            axis,
            [label for label, _ in costs],
            [value for _, value in costs],
            "ns per operation (log scale)",
            "Operation costs beside their baselines",
        )
        axis.set_xscale("log")
        save(figure, "benchmarks-costs.png")
    return written
