"""Snapshots of a supervisor's counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import attrs

__all__ = ["DeadLetter", "Stats"]


@attrs.frozen
class DeadLetter:
    """A message that was accepted but could not be delivered.

    ``reason`` is ``"mailbox_full"`` (dropped by a ``drop_oldest`` or ``drop_newest``
    mailbox), ``"stopped"`` (sent to or queued in an actor that stopped),
    ``"shutdown"`` (queued when its supervisor shut down), ``"not_found"`` (sent
    through a router to a key with no actor and no factory), ``"load_failed"`` (held
    by a router for a key whose state could not be loaded) or ``"rejected"`` (held
    for a key whose actor a spawn quota then rejected).
    """

    message: object
    recipient: object
    reason: str


@attrs.frozen
class Stats:
    """Counters of a supervisor and its nested supervisors, taken at one moment.

    Every message accepted by ``tell`` or ``send`` ends up either handled
    (``messages_handled``) or in ``dead_letters``; a message that ``tell`` rejected
    with ``MailboxFull`` was never accepted and is counted in ``mailbox_rejected``.
    """

    live_actors: int
    spawned: int
    stopped: int
    rejected: Mapping[str, int]
    crashes: int
    restarts: int
    messages_handled: int
    mailbox_rejected: int
    mailbox_dropped: int
    dead_letters: int
    dead_letters_by_reason: Mapping[str, int]
    symbols_used: int
    symbols_limit: int
    #: Actors stopped instead of restarted because they crashed more than
    #: ``max_restarts`` times within ``max_seconds`` under
    #: ``restart_limit_scope="child"``.
    restarts_refused: int = 0

    @property
    def rejected_total(self) -> int:
        """Spawns rejected for any reason."""
        return sum(self.rejected.values())


class Counters:
    """Mutable counters that one supervisor updates; ``Stats`` is their snapshot."""

    __slots__ = (
        "crashes",
        "dead_letters",
        "handled",
        "mailbox_dropped",
        "mailbox_rejected",
        "rejected",
        "restarts",
        "restarts_refused",
        "spawned",
        "stopped",
    )

    def __init__(self) -> None:
        self.spawned = 0
        self.stopped = 0
        self.crashes = 0
        self.restarts = 0
        self.restarts_refused = 0
        self.handled = 0
        self.mailbox_rejected = 0
        self.mailbox_dropped = 0
        self.rejected: Counter[str] = Counter()
        self.dead_letters: Counter[str] = Counter()

    def add_to(self, total: Counters) -> None:
        """Add these counts into ``total``."""
        total.spawned += self.spawned
        total.stopped += self.stopped
        total.crashes += self.crashes
        total.restarts += self.restarts
        total.restarts_refused += self.restarts_refused
        total.handled += self.handled
        total.mailbox_rejected += self.mailbox_rejected
        total.mailbox_dropped += self.mailbox_dropped
        total.rejected.update(self.rejected)
        total.dead_letters.update(self.dead_letters)
