"""sctpx: a userspace SCTP stack for Python (RFC 9260), built around sctp_connectx().

The sockets API of RFC 6458 in Python form::

    import sctpx
    s = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_STREAM)
    assoc_id = s.connectx([("127.0.0.2", 5000), ("127.0.0.3", 5000)])
"""

from __future__ import annotations

import logging
from typing import Any

from .api.constants import *  # noqa: F403 - the RFC 6458 names, as the C header has them
from .api.functions import (
    sctp_bindx,
    sctp_connectx,
    sctp_getladdrs,
    sctp_getpaddrs,
    sctp_peeloff,
    sctp_recvmsg,
    sctp_sendmsg,
)
from .api.kernel import kernel_available
from .api.options import (
    AddStreams,
    AssocParams,
    AssocValue,
    EventSubscription,
    InitMsg,
    NxtInfo,
    PeerAddrInfo,
    PeerAddrParams,
    PrimaryAddr,
    PrInfo,
    RcvInfo,
    ResetStreams,
    RtoInfo,
    SndInfo,
    Status,
    StreamValue,
    UdpEncaps,
)
from .api.sockaddr import pack_sockaddrs, unpack_sockaddrs
from .api.socket import InProgress, socket
from .core.events import (
    AdaptationIndication,
    AssocChange,
    AssocChangeState,
    AssocResetEvent,
    DataReceived,
    PeerAddrChange,
    PeerAddrState,
    RemoteError,
    SenderDry,
    SendFailed,
    ShutdownEvent,
    StreamChangeEvent,
    StreamResetEvent,
)

__version__ = "0.1.0"

# Silent unless the program configures logging: state changes at INFO ("sctpx.core"),
# packets at DEBUG ("sctpx.net"), problems at WARNING.
logging.getLogger("sctpx").addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    if name in ("Stack", "default_stack"):
        from . import net

        return getattr(net, name)
    raise AttributeError(name)


__all__ = [
    "AdaptationIndication",
    "AddStreams",
    "AssocChange",
    "AssocChangeState",
    "AssocParams",
    "AssocResetEvent",
    "AssocValue",
    "DataReceived",
    "EventSubscription",
    "InProgress",
    "InitMsg",
    "NxtInfo",
    "PeerAddrChange",
    "PeerAddrInfo",
    "PeerAddrParams",
    "PeerAddrState",
    "PrInfo",
    "PrimaryAddr",
    "RcvInfo",
    "RemoteError",
    "ResetStreams",
    "RtoInfo",
    "SendFailed",
    "SenderDry",
    "ShutdownEvent",
    "SndInfo",
    "Status",
    "StreamChangeEvent",
    "StreamResetEvent",
    "StreamValue",
    "UdpEncaps",
    "kernel_available",
    "pack_sockaddrs",
    "sctp_bindx",
    "sctp_connectx",
    "sctp_getladdrs",
    "sctp_getpaddrs",
    "sctp_peeloff",
    "sctp_recvmsg",
    "sctp_sendmsg",
    "socket",
    "unpack_sockaddrs",
]
