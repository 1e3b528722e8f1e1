"""A burst of datagrams is read in full: every ready datagram per wake-up, none dropped by us.

asyncio's own datagram transports read one datagram per turn of the loop; under a
burst the kernel's receive queue overflows and most of it is lost. The stack reads
until the socket is empty (bounded per wake-up) and asks for a 4 MB receive buffer
(SO_RCVBUF, or SO_RCVBUFFORCE where allowed: Linux caps SO_RCVBUF at
net.core.rmem_max, 212992 bytes by default, 4 MB on this test machine).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

from sctpx.net import Stack

from .conftest import Events, wait_until

N = 5000


def kernel_drops(sock: socket.socket) -> int:
    """The ``drops`` column of /proc/net/udp for ``sock`` (matched by its inode)."""
    inode = str(os.fstat(sock.fileno()).st_ino)
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        with open(name) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[9] == inode:
                    return int(cols[-1])
    raise AssertionError("socket not found in /proc/net/udp")


def test_burst_of_5000_datagrams_is_read_completely(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    ep = stack.open_endpoint(5000, ["127.0.0.2"], None, Events())
    rx = stack.udp_sockets["127.0.0.2"]
    # An SCTP common header for port 5000 and junk: read, demultiplexed, dropped by the core.
    packet = (40000).to_bytes(2, "big") + (5000).to_bytes(2, "big") + bytes(8) + b"j" * 88
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tx.bind(("127.0.0.3", 0))
        t0 = time.monotonic()
        for _ in range(N):
            tx.sendto(packet, ("127.0.0.2", stack.udp_port))
        sent_in = time.monotonic() - t0
        wait_until(lambda: stack.stats.received >= N, timeout=5)
        read_in = time.monotonic() - t0
    finally:
        tx.close()
    assert stack.stats.received == N
    assert kernel_drops(rx) == 0
    assert stack.call(lambda now: ep.dropped) == N  # every one reached the core
    # More than one datagram per wake-up while the burst lasted.
    assert stack.stats.max_batch > 1
    assert stack.stats.wakeups < N
    print(
        f"\n{N} datagrams sent in {sent_in * 1000:.1f} ms, all read after {read_in * 1000:.1f} ms"
        f" in {stack.stats.wakeups} wake-ups (largest batch {stack.stats.max_batch});"
        f" SO_RCVBUF {rx.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)}"
    )


def test_garbage_never_raises(make_stack: Callable[..., Stack]) -> None:
    """Short, empty, unclaimed and malformed datagrams are counted, never raised."""
    stack = make_stack()
    events = Events()
    stack.open_endpoint(5000, ["127.0.0.2"], None, events)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tx.bind(("127.0.0.3", 0))
        dst = ("127.0.0.2", stack.udp_port)
        for d in (b"", b"\x01", bytes(11)):
            tx.sendto(d, dst)  # too short for an SCTP common header
        tx.sendto((1).to_bytes(2, "big") + (4999).to_bytes(2, "big") + bytes(20), dst)
        tx.sendto((1).to_bytes(2, "big") + (5000).to_bytes(2, "big") + os.urandom(200), dst)
        wait_until(lambda: stack.stats.received == 5)
    finally:
        tx.close()
    st = stack.stats
    assert (st.malformed, st.unclaimed, st.core_errors, st.callback_errors) == (3, 1, 0, 0)
