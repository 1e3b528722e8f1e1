"""A small pcap writer for SCTP datagrams, independent of the simulator.

It writes the classic libpcap format (microsecond timestamps, linktype 101
``LINKTYPE_RAW``: every record is a bare IPv4 or IPv6 packet), which
Wireshark, tshark and tcpdump all read. :class:`PcapWriter` builds the IP
packet around an SCTP packet from the datagram addresses the core uses,
``(ip, udp_port)``:

* a non-zero UDP port means SCTP over UDP (RFC 6951): IP + UDP + SCTP, with the
  UDP checksum computed (mandatory for IPv6, filled in for IPv4 too);
* port 0 on both sides means raw SCTP over IP: IP protocol 132 directly.

IPv4 headers carry a correct header checksum, DF set and TTL 64; IPv6 headers
hop limit 64. Nothing here knows about the simulator, so the same writer can
record traffic of real sockets.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import BinaryIO

from .core.types import Addr

LINKTYPE_RAW = 101
IPPROTO_UDP = 17
IPPROTO_SCTP = 132
PCAP_MAGIC_USEC = 0xA1B2C3D4

_GLOBAL_HDR = struct.Struct("<IHHiIII")  # magic, v2, v4, thiszone, sigfigs, snaplen, linktype
_RECORD_HDR = struct.Struct("<IIII")  # ts_sec, ts_usec, incl_len, orig_len
_IPV4_HDR = struct.Struct("!BBHHHBBH4s4s")
_IPV6_HDR = struct.Struct("!IHBB16s16s")
_UDP_HDR = struct.Struct("!HHHH")
_IPV4_MAX = 0xFFFF


def internet_checksum(data: bytes) -> int:
    """The 16-bit one's-complement checksum of RFC 1071 over ``data``."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    """A UDP header and payload with its checksum over the IPv4 or IPv6 pseudo-header."""
    length = 8 + len(payload)
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, IPPROTO_UDP, length)
    else:
        pseudo = src + dst + struct.pack("!IxxxB", length, IPPROTO_UDP)
    header = _UDP_HDR.pack(sport, dport, length, 0)
    csum = internet_checksum(pseudo + header + payload) or 0xFFFF  # RFC 768: 0 is sent as all ones
    return _UDP_HDR.pack(sport, dport, length, csum) + payload


def ip_packet(src: Addr, dst: Addr, sctp: bytes, ident: int = 0) -> bytes:
    """The IPv4 or IPv6 packet carrying ``sctp`` from ``src`` to ``dst``.

    UDP encapsulation when the ports are non-zero, raw SCTP (protocol 132) when
    both are 0. ``ident`` is the IPv4 identification field. Raises ValueError for
    mixed address families, mixed raw/UDP ports or a payload too large for IP.
    """
    sip = ipaddress.ip_address(src[0])
    dip = ipaddress.ip_address(dst[0])
    if sip.version != dip.version:
        raise ValueError(f"address families differ: {src[0]} -> {dst[0]}")
    if (src[1] == 0) != (dst[1] == 0):
        raise ValueError(f"raw IP needs port 0 on both sides: {src} -> {dst}")
    s, d = sip.packed, dip.packed
    if src[1]:
        proto, payload = IPPROTO_UDP, _udp(s, d, src[1], dst[1], sctp)
    else:
        proto, payload = IPPROTO_SCTP, sctp
    if sip.version == 4:
        total = 20 + len(payload)
        if total > _IPV4_MAX:
            raise ValueError(f"IPv4 packet of {total} bytes exceeds 65535")
        fields = (0x45, 0, total, ident & 0xFFFF, 0x4000, 64, proto)  # DF set, TTL 64
        csum = internet_checksum(_IPV4_HDR.pack(*fields, 0, s, d))
        return _IPV4_HDR.pack(*fields, csum, s, d) + payload
    if len(payload) > 0xFFFF:
        raise ValueError(f"IPv6 payload of {len(payload)} bytes exceeds 65535")
    return _IPV6_HDR.pack(6 << 28, len(payload), proto, 64, s, d) + payload


class PcapWriter:
    """Write SCTP datagrams to ``file`` (opened in binary mode) as a pcap capture.

    The global header is written at construction. The writer neither opens nor
    closes the file; wrap it in ``with open(path, "wb") as f:`` yourself.
    """

    def __init__(self, file: BinaryIO, snaplen: int = 65535) -> None:
        self._file = file
        self._snaplen = snaplen
        self._ident = 0
        file.write(_GLOBAL_HDR.pack(PCAP_MAGIC_USEC, 2, 4, 0, 0, snaplen, LINKTYPE_RAW))

    def write_ip(self, timestamp: float, packet: bytes) -> None:
        """Write one raw IP packet captured at ``timestamp`` (seconds, >= 0)."""
        usec_total = round(timestamp * 1_000_000)
        if usec_total < 0:
            raise ValueError(f"negative timestamp {timestamp}")
        sec, usec = divmod(usec_total, 1_000_000)
        incl = packet[: self._snaplen]
        self._file.write(_RECORD_HDR.pack(sec, usec, len(incl), len(packet)))
        self._file.write(incl)

    def write_datagram(self, timestamp: float, src: Addr, dst: Addr, sctp: bytes) -> None:
        """Write the SCTP packet ``sctp`` sent from ``src`` to ``dst`` (datagram addresses)."""
        self._ident = (self._ident + 1) & 0xFFFF
        self.write_ip(timestamp, ip_packet(src, dst, sctp, self._ident))
