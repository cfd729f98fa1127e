"""boundedactors: one long-lived actor per object, within limits outsiders cannot break.

See the README and docs/ for a guide. The public names are re-exported here.
"""

from .actor import Actor, StopActor
from .clock import Clock, LoopClock
from .errors import (
    ActorNotFound,
    ActorStopped,
    AlreadyRegistered,
    AskTimeout,
    BoundedActorsError,
    InvalidSymbol,
    LimitExceeded,
    MailboxFull,
    RegistryFull,
    RestartIntensityExceeded,
    SpawnLimitExceeded,
    StoreFull,
    SupervisorClosed,
    SymbolLimitExceeded,
)
from .objects import Proxy
from .registry import Registry
from .router import Router, RouterStats, publish
from .runtime import ActorRef
from .stats import DeadLetter, Stats
from .stores import MemoryStore, SQLiteStore, StateStore
from .supervisor import Supervisor
from .symbols import Symbol, SymbolTable
from .threaded import BlockingProxy, ThreadedRuntime

__all__ = [
    "Actor",
    "ActorNotFound",
    "ActorRef",
    "ActorStopped",
    "AlreadyRegistered",
    "AskTimeout",
    "BlockingProxy",
    "BoundedActorsError",
    "Clock",
    "DeadLetter",
    "InvalidSymbol",
    "LimitExceeded",
    "LoopClock",
    "MailboxFull",
    "MemoryStore",
    "Proxy",
    "Registry",
    "RegistryFull",
    "RestartIntensityExceeded",
    "Router",
    "RouterStats",
    "SQLiteStore",
    "SpawnLimitExceeded",
    "StateStore",
    "Stats",
    "StopActor",
    "StoreFull",
    "Supervisor",
    "SupervisorClosed",
    "Symbol",
    "SymbolLimitExceeded",
    "SymbolTable",
    "ThreadedRuntime",
    "publish",
]

__version__ = "0.1.0"
