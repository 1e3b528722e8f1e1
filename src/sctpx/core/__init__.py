"""Sans-IO SCTP protocol engine: no sockets, threads, clocks or global randomness."""

from .config import Config
from .endpoint import Endpoint
from .errors import PeerViolation, UsageError
from .events import (
    AssocChange,
    AssocChangeState,
    AssocResetEvent,
    DataReceived,
    Event,
    PartialDeliveryAborted,
    PeerAddrChange,
    PeerAddrState,
    RemoteError,
    SenderDry,
    SendFailed,
    ShutdownEvent,
    StreamChangeEvent,
    StreamResetEvent,
)
from .ootb import OotbResponder
from .path import Reachability
from .states import State
from .types import Addr, Datagram, UnreachableKind

__all__ = [
    "Addr",
    "AssocChange",
    "AssocChangeState",
    "AssocResetEvent",
    "Config",
    "DataReceived",
    "Datagram",
    "Endpoint",
    "Event",
    "OotbResponder",
    "PartialDeliveryAborted",
    "PeerAddrChange",
    "PeerAddrState",
    "PeerViolation",
    "Reachability",
    "RemoteError",
    "SendFailed",
    "SenderDry",
    "ShutdownEvent",
    "State",
    "StreamChangeEvent",
    "StreamResetEvent",
    "UnreachableKind",
    "UsageError",
]
