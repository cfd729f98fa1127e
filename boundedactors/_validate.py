"""Option checks shared by the constructors; each names the option and the value."""

from __future__ import annotations

import math
from collections.abc import Collection

from .errors import shorten


def positive_int(name: str, value: object, *, allow_none: bool = False) -> int | None:
    """Return ``value`` if it is an int >= 1 (or ``None`` when allowed)."""
    if value is None and allow_none:
        return None
    if type(value) is not int or value < 1:
        accepted = "a positive int or None" if allow_none else "a positive int"
        raise _error(name, value, accepted)
    return value


def non_negative_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int >= 0."""
    if type(value) is not int or value < 0:
        raise _error(name, value, "an int >= 0")
    return value


def positive_float(
    name: str, value: object, *, allow_none: bool = False, allow_zero: bool = False
) -> float | None:
    """Return ``value`` as a float if it is a finite number > 0 (or >= 0 when
    ``allow_zero``), or ``None`` when allowed. NaN and infinity are rejected."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _error(name, value, _number_phrase(allow_none, allow_zero))
    try:
        number = float(value)
    except OverflowError:  # an int past the float range, such as 10**400
        raise _error(name, value, _number_phrase(allow_none, allow_zero)) from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise _error(name, value, _number_phrase(allow_none, allow_zero))
    return number


def choice(name: str, value: object, accepted: Collection[str]) -> str:
    """Return ``value`` if it is one of the ``accepted`` strings."""
    if not isinstance(value, str) or value not in accepted:
        options = ", ".join(repr(option) for option in sorted(accepted))
        raise ValueError(f"{name} must be one of {options}, got {shorten(value)}")
    return value


def _number_phrase(allow_none: bool, allow_zero: bool) -> str:
    phrase = "a finite number >= 0" if allow_zero else "a finite number > 0"
    return phrase + " or None" if allow_none else phrase


def _error(name: str, value: object, accepted: str) -> Exception:
    message = (
        f"{name} must be {accepted}, got {shorten(value)} ({type(value).__name__})"
    )
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ValueError(message)
    return TypeError(message)
