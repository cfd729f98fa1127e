"""Tests of the exception tree and its messages."""

from __future__ import annotations

import inspect

import pytest

import boundedactors as ba
from boundedactors import errors

LIMIT_ERRORS = [
    ba.SpawnLimitExceeded,
    ba.MailboxFull,
    ba.RegistryFull,
    ba.SymbolLimitExceeded,
    ba.RestartIntensityExceeded,
]


def test_every_error_in_one_tree() -> None:
    """Every exception class the package exports derives from BoundedActorsError."""
    for name in errors.__all__:
        value = getattr(ba, name)
        assert issubclass(value, ba.BoundedActorsError), name


@pytest.mark.parametrize("error_type", LIMIT_ERRORS)
def test_limit_errors_subclass_limit_exceeded(error_type: type) -> None:
    """Each limit error is a LimitExceeded."""
    assert issubclass(error_type, ba.LimitExceeded)


def test_builtin_bases() -> None:
    """Errors that match a built-in meaning also derive from that built-in."""
    assert issubclass(ba.AskTimeout, TimeoutError)
    assert issubclass(ba.ActorNotFound, LookupError)
    assert issubclass(ba.InvalidSymbol, ValueError)


def test_docstring_draws_the_tree() -> None:
    """The errors module's docstring names every exception class."""
    doc = inspect.getdoc(errors) or ""
    for name in errors.__all__:
        assert name in doc, name


def test_spawn_limit_fields_and_message() -> None:
    """SpawnLimitExceeded carries reason, limit, current and retry_after."""
    error = ba.SpawnLimitExceeded(
        "per_key",
        limit=2,
        current=2,
        retry_after=0.25,
        supervisor="web",
        quota_key="10.0.0.1",
    )
    assert error.reason == "per_key"
    assert error.limit == 2
    assert error.current == 2
    assert error.retry_after == 0.25
    assert error.quota_key == "10.0.0.1"
    message = str(error)
    assert "per_key is 2" in message
    assert "'10.0.0.1'" in message
    assert "'web'" in message
    assert "retry after 0.250 s" in message


def test_messages_name_the_value() -> None:
    """Errors about a key or actor show that value in their message."""
    assert "'room-7'" in str(ba.ActorNotFound("room-7"))
    assert "'room-7'" in str(ba.AlreadyRegistered("room-7"))
    assert "'cart'" in str(ba.ActorStopped("cart"))
    assert "2.5 s" in str(ba.AskTimeout("cart", 2.5))
    full = ba.MailboxFull(limit=10, current=10, actor="cart")
    assert "10 of 10" in str(full)
    assert full.retry_after is None
    intensity = ba.RestartIntensityExceeded(
        limit=3, current=4, max_seconds=5.0, supervisor="root"
    )
    assert "4 restarts within 5.0 s" in str(intensity)
    assert intensity.max_seconds == 5.0


def test_long_values_are_shortened() -> None:
    """A huge key is cut in messages, and the message states its full length."""
    message = str(ba.ActorNotFound("k" * 1_000_000))
    assert len(message) < 200
    assert "1000000 in all" in message
    assert len(errors.shorten(list(range(1000)))) < 70


def test_public_names_importable() -> None:
    """The core classes and every error are importable from the package."""
    for name in (
        "Actor",
        "ActorRef",
        "Supervisor",
        "Registry",
        "SymbolTable",
        "Symbol",
        "Router",
        *errors.__all__,
    ):
        assert name in ba.__all__, name
        assert getattr(ba, name) is not None
