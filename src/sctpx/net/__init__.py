"""Real sockets under the sans-IO core: the Stack (SCTP over UDP, RFC 6951) and its loop.

``Stack`` owns one asyncio loop (its own, on a daemon thread, or the caller's),
one non-blocking UDP socket per local address on one encapsulation port, the
stack-wide timer, and the registry of ``sctpx.core.Endpoint`` objects it
drives. ``default_stack()`` is the process-wide one the socket API uses.
"""

from .stack import DEFAULT_UDP_PORT, UDP_PORT_ENV, Stack, StackStats, default_stack

__all__ = ["DEFAULT_UDP_PORT", "UDP_PORT_ENV", "Stack", "StackStats", "default_stack"]
