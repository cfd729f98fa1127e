"""mypy sees the types of actor references and object proxies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SNIPPET = """
import boundedactors as ba


class Counter(ba.Actor[str, int]):
    async def receive(self, message: str) -> int:
        return 1


class Cart:
    def add(self, item: str, count: int) -> int:
        return count

    async def total(self) -> float:
        return 1.0


async def main(sup: ba.Supervisor, runtime: ba.ThreadedRuntime) -> None:
    ref = sup.spawn(Counter)
    reveal_type(ref)
    reveal_type(await ref.ask("x"))
    ref.tell(3)  # error: not a str
    cart = sup.spawn_object(Cart())
    reveal_type(cart)
    reveal_type(await cart.call(Cart.add, "apple", 2))
    reveal_type(await cart.call(Cart.total))
    await cart.call(Cart.add, 1, 2)  # error: 1 is not a str
    reveal_type(await cart.add("apple", 2))
    sup.spawn_object(Cart(), mailbox_sise=3)  # error: unknown option
    reveal_type(runtime.ask(ref, "x"))
    reveal_type(runtime.blocking(cart).call(Cart.total))
"""


def test_mypy_infers_reference_types(tmp_path: Path) -> None:
    """Message, reply and wrapped method types reach mypy; misuse is reported."""
    pytest.importorskip("mypy")
    source = tmp_path / "snippet.py"
    source.write_text(SNIPPET)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(source)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = result.stdout.splitlines()
    revealed = [
        line.split("Revealed type is ")[1] for line in lines if "Revealed" in line
    ]
    assert revealed == [
        '"boundedactors.runtime.ActorRef[str, int]"',
        '"int"',
        '"boundedactors.objects.Proxy[snippet.Cart]"',
        '"int"',
        '"float"',
        '"Any"',
        '"int"',
        '"float"',
    ], result.stdout
    errors = [line for line in lines if ": error:" in line]
    assert len(errors) == 3, result.stdout
    assert 'incompatible type "int"; expected "str"' in errors[0]
    assert "call" in errors[1]
    assert "mailbox_sise" in errors[2]
