"""Whether the operating system has SCTP sockets (no ctypes, no libc: safe to import anywhere)."""

from __future__ import annotations

import socket as _socket

IPPROTO_SCTP = 132
MODPROBE = ("the kernel has no SCTP: load it with `modprobe sctp`, or use sctpx's userspace "
            "stack, the default (backend='user', SCTPX_BACKEND=user)")  # fmt: skip


def kernel_available() -> bool:
    """True when the OS has SCTP sockets (Linux with sctp.ko, FreeBSD)."""
    for fam in (_socket.AF_INET, _socket.AF_INET6):
        try:
            _socket.socket(fam, _socket.SOCK_STREAM, IPPROTO_SCTP).close()
            return True
        except OSError:
            continue
    return False
