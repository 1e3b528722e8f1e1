"""Our Heartbeat Info (RFC 9260 §3.3.5, §5.4, §8.3): path, send time and a 64-bit nonce.

The peer echoes it unchanged; we read it back to find the path probed, take
an RTT sample and check the nonce. Its layout is ours alone.
"""

from __future__ import annotations

import struct

from ..wire.ipaddr import pack_ip, unpack_ip

_HB = struct.Struct("!BdQ")  # version, send time, nonce; then the path's address
_VERSION = 1


def encode_info(ip: str, sent_at: float, nonce: int) -> bytes:
    return _HB.pack(_VERSION, sent_at, nonce) + pack_ip(ip)


def decode_info(info: bytes) -> tuple[str, float, int] | None:
    """(path IP, send time, nonce), or None if the info is not one of ours."""
    n = len(info) - _HB.size
    if n not in (4, 16):
        return None
    version, sent_at, nonce = _HB.unpack_from(info)
    if version != _VERSION:
        return None
    return unpack_ip(info[_HB.size :]), sent_at, nonce
