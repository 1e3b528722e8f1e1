"""Sans-IO SCTP protocol engine: no sockets, threads, clocks or global randomness."""

from .config import Config
from .endpoint import Endpoint
from .errors import PeerViolation, UsageError
from .events import (
    AssocChange,
    AssocChangeState,
    Event,
    PeerAddrChange,
    PeerAddrState,
    RemoteError,
    ShutdownEvent,
)
from .path import Reachability
from .states import State
from .types import Addr, Datagram, UnreachableKind

__all__ = [
    "Addr",
    "AssocChange",
    "AssocChangeState",
    "Config",
    "Datagram",
    "Endpoint",
    "Event",
    "PeerAddrChange",
    "PeerAddrState",
    "PeerViolation",
    "Reachability",
    "RemoteError",
    "ShutdownEvent",
    "State",
    "UnreachableKind",
    "UsageError",
]
