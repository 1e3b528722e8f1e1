"""Argument and state rules of the sockets API written once for both backends (RFC 6458 §9.9).

The userspace backend (``api/socket.py``) and the kernel backend
(``api/kernel/``) check a call's arguments here before they do anything, so a
bad argument gets the same errno from both and sends no packet (ERR-06,
ERR-07: the descriptor first, then the arguments, then the state).
"""

from __future__ import annotations

import errno
import os
from typing import Any

from . import constants as C
from .addresses import check_addr, err


def choose_backend(backend: str | None, stack: object) -> str:
    """``backend``, else $SCTPX_BACKEND, else "user"; a given ``stack`` means the user's."""
    if backend is None:
        backend = "user" if stack is not None else os.environ.get("SCTPX_BACKEND") or "user"
    if backend not in ("user", "kernel"):
        raise ValueError(f"backend must be 'user' or 'kernel', not {backend!r}")
    return backend


def check_socket_args(family: int, type: int, proto: int) -> None:
    """socket(): AF_INET[6], SOCK_STREAM or SOCK_SEQPACKET, SCTP (RFC 6458 §3.1.1, §4.1.1)."""
    if family not in (C.AF_INET, C.AF_INET6):
        raise err(errno.EAFNOSUPPORT, f"family {family}")
    if type not in (C.SOCK_STREAM, C.SOCK_SEQPACKET):
        raise err(errno.ESOCKTNOSUPPORT, f"type {type}")
    if proto not in (0, C.IPPROTO_SCTP):
        raise err(errno.EPROTONOSUPPORT, f"protocol {proto}")


def check_peers(addrs: Any, family: int) -> list[tuple[str, int]]:
    """connectx's peer list: EINVAL for none (ERR-01), a bad address, or not one same port."""
    if not addrs:
        raise err(errno.EINVAL, "no addresses given")  # ERR-01
    peers = [check_addr(a, family, local=False) for a in addrs]
    if len({p for _ip, p in peers}) != 1 or peers[0][1] == 0:
        raise err(errno.EINVAL, "all addresses need one same, non-zero port")  # API-07
    return peers


def check_message(data: Any, ppid: int) -> bytes:
    """One message to send: not empty, the PPID a host-order 32-bit integer."""
    if not data or not isinstance(ppid, int) or not 0 <= ppid <= 0xFFFFFFFF:
        raise err(errno.EINVAL, "empty message or ppid beyond 32 bits")
    return bytes(data)


def one_to_one_connect_state(*, listening: bool, in_progress: bool, established: bool) -> None:
    """A one-to-one socket's connectx state errors (ERR-09)."""
    if listening:
        raise err(errno.EISCONN, "the socket is listening")
    if established:
        raise err(errno.EISCONN, "the socket is connected")
    if in_progress:
        raise err(errno.EALREADY, "a connect is in progress")
