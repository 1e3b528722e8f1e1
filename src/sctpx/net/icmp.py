"""ICMP errors from the kernel's socket error queue, mapped to the core's UnreachableKind.

With ``IP_RECVERR`` / ``IPV6_RECVERR`` set on a UDP socket, Linux queues every
ICMP error about a datagram that socket sent on the socket's *error queue*.
``recvmsg(..., MSG_ERRQUEUE)`` then returns:

* the payload of the quoted datagram (the UDP header stripped: for SCTP over
  UDP that is the SCTP packet we sent, as far as the ICMP message quoted it),
* ``msg_name``: the original destination ``(ip, udp_port)``,
* one control message (``SOL_IP``/``IP_RECVERR`` or ``SOL_IPV6``/``IPV6_RECVERR``)
  holding ``struct sock_extended_err``::

      struct sock_extended_err {
          __u32 ee_errno;   /* ECONNREFUSED, EHOSTUNREACH, EMSGSIZE, ... */
          __u8  ee_origin;  /* SO_EE_ORIGIN_LOCAL 1, _ICMP 2, _ICMP6 3 */
          __u8  ee_type;    /* ICMP type */
          __u8  ee_code;    /* ICMP code */
          __u8  ee_pad;
          __u32 ee_info;    /* MTU for "fragmentation needed" */
          __u32 ee_data;
      };                    /* followed by the offender's sockaddr */

This module is pure: it parses that structure and maps it; the stack reads
the queue. Python's ``socket`` module has no names for these constants, so
they are spelled out here (Linux values).
"""

from __future__ import annotations

import errno
import socket
import struct
from dataclasses import dataclass

from ..core.types import UnreachableKind

# <linux/in.h>, <linux/in6.h>, <linux/errqueue.h>
IP_RECVERR = 11
IPV6_RECVERR = 25
SOL_IP = 0
SOL_IPV6 = 41
SO_EE_ORIGIN_NONE = 0
SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
MSG_ERRQUEUE: int = getattr(socket, "MSG_ERRQUEUE", 0x2000)

_EXTENDED_ERR = struct.Struct("=IBBBBII")

# ICMPv4 type 3 "Destination Unreachable" (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1).
ICMP_DEST_UNREACH = 3
_ICMP4_UNREACH: dict[int, UnreachableKind] = {
    0: UnreachableKind.NET,  # net unreachable
    1: UnreachableKind.HOST,  # host unreachable
    2: UnreachableKind.PROTOCOL,  # protocol unreachable
    3: UnreachableKind.PORT,  # port unreachable: nobody on the UDP encapsulation port
    4: UnreachableKind.FRAG_NEEDED,  # fragmentation needed and DF set
    6: UnreachableKind.NET,  # destination network unknown
    7: UnreachableKind.HOST,  # destination host unknown
    9: UnreachableKind.NET,  # network administratively prohibited
    10: UnreachableKind.HOST,  # host administratively prohibited
    11: UnreachableKind.NET,  # network unreachable for TOS
    12: UnreachableKind.HOST,  # host unreachable for TOS
    13: UnreachableKind.HOST,  # communication administratively prohibited
}

# ICMPv6 (RFC 4443): type 1 Destination Unreachable, 2 Packet Too Big, 4 Parameter Problem.
ICMP6_DST_UNREACH = 1
ICMP6_PACKET_TOO_BIG = 2
ICMP6_PARAM_PROB = 4
ICMP6_PARAMPROB_NEXTHEADER = 1
_ICMP6_UNREACH: dict[int, UnreachableKind] = {
    0: UnreachableKind.NET,  # no route to destination
    1: UnreachableKind.HOST,  # communication administratively prohibited
    3: UnreachableKind.HOST,  # address unreachable
    4: UnreachableKind.PORT,  # port unreachable
    5: UnreachableKind.HOST,  # source address failed ingress/egress policy
    6: UnreachableKind.HOST,  # reject route to destination
}


@dataclass(frozen=True, slots=True)
class ExtendedError:
    """The fields of ``struct sock_extended_err`` that matter here."""

    errno: int
    origin: int
    type: int
    code: int
    info: int


def parse_ancillary(ancdata: list[tuple[int, int, bytes]]) -> ExtendedError | None:
    """The ``sock_extended_err`` in the control messages of an error-queue read, if any."""
    for level, kind, data in ancdata:
        if (level, kind) in ((SOL_IP, IP_RECVERR), (SOL_IPV6, IPV6_RECVERR)):
            if len(data) < _EXTENDED_ERR.size:
                return None
            ee_errno, origin, typ, code, _pad, info, _data = _EXTENDED_ERR.unpack_from(data)
            return ExtendedError(ee_errno, origin, typ, code, info)
    return None


def unreachable_kind(err: ExtendedError) -> UnreachableKind | None:
    """What the error says about the destination, or None when it says nothing we use.

    ICMPv4 type 3 codes 0/1/2/3/4 are NET/HOST/PROTOCOL/PORT/FRAG_NEEDED; ICMPv6
    type 1 codes 0/3/4 are NET/HOST/PORT and type 2 (Packet Too Big) is
    FRAG_NEEDED. Administrative prohibitions and "unknown" codes count as the
    net or host they name. RFC 6951 §5.5 asks that a port unreachable be taken
    as a protocol unreachable (ICMPv6: as a Parameter Problem "unrecognized
    Next Header"); the core keeps PORT apart and treats it that way, so an
    ICMPv6 Parameter Problem with code 1 maps to PROTOCOL. A local EMSGSIZE
    (the kernel's own path MTU for the destination) is FRAG_NEEDED.
    """
    if err.origin == SO_EE_ORIGIN_ICMP:
        if err.type == ICMP_DEST_UNREACH:
            return _ICMP4_UNREACH.get(err.code)
        return None
    if err.origin == SO_EE_ORIGIN_ICMP6:
        if err.type == ICMP6_DST_UNREACH:
            return _ICMP6_UNREACH.get(err.code)
        if err.type == ICMP6_PACKET_TOO_BIG:
            return UnreachableKind.FRAG_NEEDED
        if err.type == ICMP6_PARAM_PROB and err.code == ICMP6_PARAMPROB_NEXTHEADER:
            return UnreachableKind.PROTOCOL  # RFC 6951 §5.5 rule 2
        return None
    if err.origin == SO_EE_ORIGIN_LOCAL and err.errno == errno.EMSGSIZE:
        return UnreachableKind.FRAG_NEEDED
    return None


def pack_extended_error(err: ExtendedError) -> bytes:
    """``struct sock_extended_err`` bytes for ``err`` (for tests of the parser)."""
    return _EXTENDED_ERR.pack(err.errno, err.origin, err.type, err.code, 0, err.info, 0)
