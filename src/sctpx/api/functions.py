"""The C-shaped calls (RFC 6458 §9) for code ported from C: ``sd`` is a socket or a descriptor.

Descriptor rules (ERR-04, ERR-05, ERR-07): -1 or a closed descriptor is EBADF;
an open descriptor that is not a socket (a file, a pipe) is ENOTSOCK; a socket
that is not an sctpx socket (a plain UDP or TCP socket) is EOPNOTSUPP, our
decision: it is a socket, it just does not do SCTP. The descriptor is checked
before the arguments, and the arguments before the socket's state.
"""

from __future__ import annotations

import errno
import os
import socket as _socket
import stat
from collections.abc import Sequence
from typing import Any

from .sockaddr import unpack_sockaddrs
from .socket import _err, lookup, socket


def resolve(sd: Any) -> socket:
    """The sctpx socket behind ``sd`` (a socket object or an integer descriptor)."""
    if isinstance(sd, socket):
        if sd.fileno() < 0:
            raise _err(errno.EBADF, "the socket is closed")
        return sd
    if isinstance(sd, _socket.socket):
        raise _err(errno.EOPNOTSUPP, "not an SCTP socket")
    if not isinstance(sd, int) or isinstance(sd, bool):
        raise _err(errno.EBADF, f"not a descriptor: {sd!r}")
    if sd < 0:
        raise _err(errno.EBADF, f"bad descriptor {sd}")
    s = lookup(sd)
    if s is not None:
        return s
    try:
        mode = os.fstat(sd).st_mode
    except OSError:
        raise _err(errno.EBADF, f"descriptor {sd} is not open") from None
    if not stat.S_ISSOCK(mode):
        raise _err(errno.ENOTSOCK, f"descriptor {sd} is not a socket")
    raise _err(errno.EOPNOTSUPP, f"descriptor {sd} is not an SCTP socket")


def _addresses(addrs: Any, addrcnt: int | None) -> list[tuple[Any, ...]]:
    """A packed sockaddr buffer (with addrcnt) or a sequence of (ip, port) tuples."""
    if isinstance(addrs, (bytes, bytearray, memoryview)):
        if addrcnt is None:
            raise _err(errno.EINVAL, "a packed address list needs addrcnt")
        return list(unpack_sockaddrs(addrs, addrcnt))
    if not isinstance(addrs, Sequence) or isinstance(addrs, str):
        raise _err(errno.EINVAL, "addrs must be (ip, port) tuples or packed sockaddrs")
    items = list(addrs)
    if addrcnt is not None:
        if not isinstance(addrcnt, int) or addrcnt <= 0:
            raise _err(errno.EINVAL, f"addrcnt must be positive, not {addrcnt!r}")
        if addrcnt > len(items):
            raise _err(errno.E2BIG, f"addrcnt {addrcnt} but only {len(items)} addresses")
        items = items[:addrcnt]
    if not items:
        raise _err(errno.EINVAL, "no addresses given")
    return items


def sctp_connectx(sd: Any, addrs: Any, addrcnt: int | None = None, **options: Any) -> int:
    """RFC 6458 §9.9: set up one association through ``addrs``; returns its id."""
    s = resolve(sd)
    return s.connectx(_addresses(addrs, addrcnt), **options)


def sctp_bindx(sd: Any, addrs: Any, addrcnt: int | None = None, flags: int = 1) -> None:
    """RFC 6458 §9.1."""
    s = resolve(sd)
    s.bindx(_addresses(addrs, addrcnt), flags)


def sctp_getpaddrs(sd: Any, assoc_id: int = 0) -> list[tuple[str, int]]:
    """RFC 6458 §9.3 (sctp_freepaddrs is not needed in Python)."""
    return resolve(sd).getpaddrs(assoc_id)


def sctp_getladdrs(sd: Any, assoc_id: int = 0) -> list[tuple[str, int]]:
    """RFC 6458 §9.5."""
    return resolve(sd).getladdrs(assoc_id)


def sctp_sendmsg(sd: Any, msg: bytes, ppid: int = 0, flags: int = 0, stream_no: int = 0,
                 timetolive: int = 0, context: int = 0, assoc_id: int = 0,
                 to: tuple[str, int] | None = None) -> int:  # fmt: skip
    """RFC 6458 §9.7; ``to`` on a one-to-many socket sets an association up if needed."""
    return resolve(sd).sctp_send(msg, stream=stream_no, ppid=ppid, flags=flags,
                                 ttl=timetolive, context=context, assoc_id=assoc_id,
                                 to=to)  # fmt: skip


def sctp_recvmsg(sd: Any, bufsize: int = 65536) -> tuple[Any, Any, Any, int]:
    """RFC 6458 §9.8: ``(data, from, rcvinfo, msg_flags)``; see socket.sctp_recvmsg."""
    return resolve(sd).sctp_recvmsg(bufsize)


def sctp_peeloff(sd: Any, assoc_id: int) -> socket:
    """RFC 6458 §9.2: returns the new socket (its descriptor is ``.fileno()``)."""
    return resolve(sd).peeloff(assoc_id)
