"""Real sockets under the sans-IO core: the Stack (SCTP over UDP, RFC 6951, or over IP).

``Stack`` owns one asyncio loop (its own, on a daemon thread, or the caller's),
one non-blocking UDP socket per local address on one encapsulation port, the
stack-wide timer, and the registry of ``sctpx.core.Endpoint`` objects it
drives. ``default_stack()`` is the process-wide one the socket API uses.

Design notes
------------
* **Sockets** (:mod:`.udp`): one per local IP, bound to ``(ip, udp_port)``,
  never the wildcard; each datagram is sent on the socket of its source IP, so
  it leaves from the address its path demands (a missing one falls back to a
  socket of the same family and is counted in ``stats.wrong_source``). Receive
  buffers of 4 MB are asked for (SO_RCVBUF, then SO_RCVBUFFORCE).
* **Reading** (:mod:`.stack`): ``loop.add_reader`` on raw sockets, and every
  wake-up reads until ``BlockingIOError`` (at most 1024 datagrams), then
  settles once. Datagrams go to the endpoint whose port is bytes 2-3 of the
  SCTP common header; unclaimed and short ones are counted and dropped.
* **ICMP** (:mod:`.icmp`): ``IP_RECVERR``/``IPV6_RECVERR`` queue ICMP errors on
  the socket; the error queue is read when a read or send reported a pending
  error or a wake-up found no datagram. Each error becomes
  ``Endpoint.receive_unreachable(dst, kind, quoted, now)`` for the endpoint
  whose port is bytes 0-1 of the quoted packet. ``sendto`` failing with
  ENETUNREACH/EHOSTUNREACH is treated the same way.
* **Threading** (:mod:`.runner`): all Endpoint access on the loop thread;
  ``call``/``call_soon`` from anywhere; inline on the loop thread, so
  ``on_events`` may call back into the stack; no lock is held while user code
  runs; ``close`` is idempotent and safe from any thread.
"""

from .hooks import StackStats
from .rawip import kernel_sctp_present, transport_env
from .stack import DEFAULT_UDP_PORT, TRANSPORT_ENV, TRANSPORTS, UDP_PORT_ENV, Stack, default_stack

__all__ = [
    "DEFAULT_UDP_PORT",
    "TRANSPORTS",
    "TRANSPORT_ENV",
    "UDP_PORT_ENV",
    "Stack",
    "StackStats",
    "default_stack",
    "kernel_sctp_present",
    "transport_env",
]
