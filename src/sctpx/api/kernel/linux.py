"""Linux's SCTP socket interface: option numbers, structure layouts, and the calls Python lacks.

Everything here is from Linux's ``include/uapi/linux/sctp.h`` (the kernel's own
rendering of RFC 6458); the RFC 6458 section of each structure is in its
comment. Layouts are written as :mod:`struct` formats with ``=`` (no implicit
padding), the padding spelled out, so they read the same on every build.
Linux x86-64/arm64: ``sctp_assoc_t`` is a 32-bit int, ``sockaddr_storage`` is
128 bytes aligned to 8 (so it starts at offset 8 in a structure that is not
``packed``).

The standard :mod:`socket` module cannot pass an input buffer to
``getsockopt`` nor return ``setsockopt``'s value, so the options keyed by an
association id (and connectx, peeloff, getpaddrs) go through libc's
``getsockopt``/``setsockopt`` with :mod:`ctypes`. No compiler, no libsctp.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import os
import socket as _socket
import struct

SOL_SCTP = 132

# Socket options, linux/sctp.h (RFC 6458 §8 names, Linux numbers).
SCTP_RTOINFO = 0  # §8.1.1
SCTP_ASSOCINFO = 1  # §8.1.2
SCTP_INITMSG = 2  # §8.1.3
SCTP_NODELAY = 3  # §8.1.5
SCTP_AUTOCLOSE = 4  # §8.1.8
SCTP_PRIMARY_ADDR = 6  # §8.1.9
SCTP_ADAPTATION_LAYER = 7  # §8.1.10
SCTP_DISABLE_FRAGMENTS = 8  # §8.1.11
SCTP_PEER_ADDR_PARAMS = 9  # §8.1.12
SCTP_MAXSEG = 13  # §8.1.16
SCTP_STATUS = 14  # §8.2.1
SCTP_GET_PEER_ADDR_INFO = 15  # §8.2.2
SCTP_FRAGMENT_INTERLEAVE = 18  # §8.1.20
SCTP_PARTIAL_DELIVERY_POINT = 19  # §8.1.21
SCTP_GET_ASSOC_NUMBER = 28  # §8.2.5
SCTP_GET_ASSOC_ID_LIST = 29  # §8.2.6
SCTP_RECVRCVINFO = 32  # §8.1.29
SCTP_RECVNXTINFO = 33  # §8.1.30
SCTP_DEFAULT_SNDINFO = 34  # §8.1.31
# Linux's private options behind the sctp_* calls of RFC 6458 §9.
SCTP_SOCKOPT_BINDX_ADD = 100  # §9.1 sctp_bindx(SCTP_BINDX_ADD_ADDR)
SCTP_SOCKOPT_BINDX_REM = 101  # §9.1 sctp_bindx(SCTP_BINDX_REM_ADDR)
SCTP_SOCKOPT_PEELOFF = 102  # §9.2 sctp_peeloff
SCTP_GET_PEER_ADDRS = 108  # §9.3 sctp_getpaddrs
SCTP_GET_LOCAL_ADDRS = 109  # §9.5 sctp_getladdrs
SCTP_SOCKOPT_CONNECTX3 = 111  # §9.9 sctp_connectx: the id also for EINPROGRESS
SCTP_RECONFIG_SUPPORTED = 117  # Linux's: offer RE-CONFIG (RFC 6525) to new associations
SCTP_ENABLE_STREAM_RESET = 118  # RFC 6525 §6.3.1
SCTP_RESET_STREAMS = 119  # RFC 6525 §6.3.2
SCTP_RESET_ASSOC = 120  # RFC 6525 §6.3.3
SCTP_ADD_STREAMS = 121  # RFC 6525 §6.3.4
SCTP_STREAM_SCHEDULER = 123  # RFC 8260 §4.3.2
SCTP_STREAM_SCHEDULER_VALUE = 124  # RFC 8260 §4.3.3
SCTP_INTERLEAVING_SUPPORTED = 125  # RFC 8260 §4.3.1
SCTP_EVENT = 127  # §6.2.2
SCTP_REMOTE_UDP_ENCAPS_PORT = 132  # RFC 6951 §6.1 (FreeBSD and sctpx number it 36)

# Ancillary data types at level IPPROTO_SCTP (enum sctp_cmsg_type; RFC 6458 §5.3).
SCTP_SNDINFO = 2  # §5.3.4
SCTP_RCVINFO = 3  # §5.3.5
SCTP_NXTINFO = 4  # §5.3.6
SCTP_PRINFO = 5  # §5.3.7

# PR-SCTP policies in Linux's numbering (RFC 6458 §5.3.7 numbers them 1 and 3).
PR_SCTP_TTL = 0x0010
PR_SCTP_RTX = 0x0020

# sstat_state (enum sctp_sstat_state): Linux keeps a dummy SCTP_EMPTY = 0 in front,
# so every state is one more than RFC 6458 §8.2.1's (and sctpx's) numbering.
SSTAT_OFFSET = 1

# Notifications. Linux 6.1 has no SCTP_SEND_FAILED_EVENT (0x800E, RFC 6458 §6.1.11): a
# subscription to it is made to the deprecated SCTP_SEND_FAILED (§6.1.4), whose
# notifications become the same SendFailed objects.
SCTP_SEND_FAILED = 0x8003
SCTP_SEND_FAILED_EVENT = 0x800E


def event_type(kind: int) -> int:
    """The notification type the kernel is asked for, for sctpx's ``kind``."""
    return SCTP_SEND_FAILED if kind == SCTP_SEND_FAILED_EVENT else kind


# Notification flags
SCTP_DATA_SENT = 1  # ssf_flags (§6.1.11)
SCTP_ERROR_USER_ABORT = 12  # sac_error after our own ABORT (RFC 9260 §3.3.10.12)

# --- structures ------------------------------------------------------------------------
SS_SIZE = 128  # struct sockaddr_storage
SNDINFO = struct.Struct("=HH4sIi")  # sid, flags, ppid (wire order), context, assoc_id (§5.3.4)
RCVINFO = struct.Struct("=HHH2x4sIIIi")  # sid, ssn, flags, ppid, tsn, cumtsn, context, id (§5.3.5)
NXTINFO = struct.Struct("=HH4sIi")  # sid, flags, ppid, length, assoc_id (§5.3.6)
PRINFO = struct.Struct("=H2xI")  # policy, value (§5.3.7)
INITMSG = struct.Struct("=HHHH")  # ostreams, instreams, attempts, init timeo (§8.1.3)
RTOINFO = struct.Struct("=iIII")  # assoc_id, initial, max, min (§8.1.1)
ASSOCPARAMS = struct.Struct("=iHHIII")  # id, maxrxt, peer dests, peer rwnd, local rwnd, cookie
# struct sctp_paddrparams, packed, aligned(4) (§8.1.12): id, address, hbinterval, pathmaxrxt,
# pathmtu, sackdelay, flags, ipv6 flowlabel, dscp, 1 byte of tail padding.
PADDRPARAMS = struct.Struct("=i128sIHIIIIBx")
SPP_HB_ENABLE = 1
SETPRIM = struct.Struct("=i128s")  # struct sctp_setprim, packed (§8.1.9)
PADDRINFO = struct.Struct("=i128siIIII")  # struct sctp_paddrinfo, packed (§8.2.2)
STATUS_HEAD = struct.Struct("=iiIHHHHI")  # struct sctp_status before sstat_primary (§8.2.1)
ASSOC_VALUE = struct.Struct("=iI")  # struct sctp_assoc_value (§8.1.16 and others)
EVENT = struct.Struct("=iHBx")  # struct sctp_event (§6.2.2)
UDPENCAPS = struct.Struct("=i4x128sH6x")  # struct sctp_udpencaps, storage at offset 8 (RFC 6951)
GETADDRS_HEAD = struct.Struct("=iI")  # struct sctp_getaddrs: assoc_id, addr_num (then addresses)
GETADDRS_OLD = struct.Struct("@iiP")  # struct sctp_getaddrs_old: id, byte count, pointer
PEELOFF = struct.Struct("=ii")  # sctp_peeloff_arg_t: associd, sd
# struct sctp_reset_streams (RFC 6525 §6.3.2): assoc_id, flags, number_streams, then the
# streams (u16 each); struct sctp_add_streams (§6.3.4): assoc_id, instrms, outstrms;
# struct sctp_stream_value (RFC 8260 §4.3.3): assoc_id, stream_id, stream_value.
RESET_STREAMS_HEAD = struct.Struct("=iHH")
ADD_STREAMS = struct.Struct("=iHH")
STREAM_VALUE = struct.Struct("=iHH")
# SCTP_STREAM_SCHEDULER values: enum sctp_sched_type, FCFS 0, PRIO 1, RR 2 in Linux 6.1
# (its SCTP_SS_MAX; 3 and above are EINVAL there), FC 3 and WFQ 4 since Linux 6.4.
# sctpx's SCTP_SS_* have the same numbers (SCTP_SS_RR_PKT is sctpx's own).

_IN = struct.Struct("=H2s4s8x")  # sockaddr_in: family (host order), port, address
_IN6 = struct.Struct("=H2sI16sI")  # sockaddr_in6: family, port, flowinfo, address, scope


def ppid_out(ppid: int) -> bytes:
    """The PPID as the kernel wants it: the wire's bytes (it does not byte-swap, we do)."""
    return ppid.to_bytes(4, "big")


def ppid_in(raw: bytes) -> int:
    """A PPID from the kernel (wire order) as a host-order integer."""
    return int.from_bytes(raw, "big")


def pack_sockaddr(ip: str, port: int) -> bytes:
    """One sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes) for an (already checked) IP."""
    a = ipaddress.ip_address(ip)
    p = port.to_bytes(2, "big")
    if a.version == 4:
        return _IN.pack(_socket.AF_INET, p, a.packed)
    return _IN6.pack(_socket.AF_INET6, p, 0, a.packed, 0)


def pack_storage(ip: str, port: int) -> bytes:
    return pack_sockaddr(ip, port).ljust(SS_SIZE, b"\0")


def unpack_sockaddr(buf: bytes, off: int = 0) -> tuple[tuple[str, int], int]:
    """The (ip, port) at ``off`` and its length; a v4-mapped IPv6 address comes as IPv4."""
    (fam,) = struct.unpack_from("=H", buf, off)
    if fam == _socket.AF_INET:
        _f, p, raw = _IN.unpack_from(buf, off)
        return (str(ipaddress.IPv4Address(raw)), int.from_bytes(p, "big")), _IN.size
    if fam == _socket.AF_INET6:
        _f, p, _flow, raw6, _scope = _IN6.unpack_from(buf, off)
        a6 = ipaddress.IPv6Address(raw6)
        ip = str(a6.ipv4_mapped) if a6.ipv4_mapped is not None else str(a6)
        return (ip, int.from_bytes(p, "big")), _IN6.size
    raise OSError(errno.EAFNOSUPPORT, f"address family {fam} from the kernel")


def plain_addr(addr: tuple[object, ...]) -> tuple[str, int]:
    """A socket-module address tuple ((ip, port) or the 4-tuple of IPv6) as sctpx's (ip, port)."""
    ip, port = str(addr[0]), int(addr[1])  # type: ignore[call-overload]
    a = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        return (str(a.ipv4_mapped), port)
    return (str(a), port)


# --- libc getsockopt/setsockopt --------------------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)
_getsockopt = _libc.getsockopt
_getsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                        ctypes.POINTER(ctypes.c_uint32)]  # fmt: skip
_getsockopt.restype = ctypes.c_int
_setsockopt = _libc.setsockopt
_setsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32]
_setsockopt.restype = ctypes.c_int


class SockoptError(OSError):
    """getsockopt failed, but wrote its buffer (connectx's EINPROGRESS carries the id)."""

    def __init__(self, code: int, buf: bytes) -> None:
        super().__init__(code, os.strerror(code))
        self.buf = buf


def getsockopt_io(fd: int, name: int, data: bytes, size: int | None = None,
                  whole: bool = False) -> bytes:  # fmt: skip
    """getsockopt(fd, SOL_SCTP, name) with ``data`` as the input; the bytes it wrote back.

    ``whole``: the whole buffer, not the length the kernel returns (SCTP_GET_LOCAL_ADDRS
    returns the length of the addresses without the 8-byte header before them).
    """
    n = max(size or 0, len(data))
    buf = ctypes.create_string_buffer(data.ljust(n, b"\0"), n)
    length = ctypes.c_uint32(n)
    rc = _getsockopt(fd, SOL_SCTP, name, buf, ctypes.byref(length))
    if rc < 0:
        raise SockoptError(ctypes.get_errno(), buf.raw[:n])
    return buf.raw if whole else buf.raw[: length.value]


def setsockopt_rc(fd: int, name: int, data: bytes) -> int:
    """setsockopt(fd, SOL_SCTP, name, data); its return value (the socket module drops it)."""
    buf = ctypes.create_string_buffer(data, len(data))
    rc = _setsockopt(fd, SOL_SCTP, name, buf, len(data))
    if rc < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return int(rc)


def connectx(fd: int, addrs: list[tuple[str, int]]) -> int:
    """sctp_connectx (RFC 6458 §9.9) by SCTP_SOCKOPT_CONNECTX3: the association id.

    For EINPROGRESS (a non-blocking socket, or SO_SNDTIMEO ran out) the kernel has
    written the id too: it comes as ``SockoptError.buf`` and is decoded by the caller.
    """
    packed = b"".join(pack_sockaddr(ip, port) for ip, port in addrs)
    area = ctypes.create_string_buffer(packed, len(packed))
    arg = GETADDRS_OLD.pack(0, len(packed), ctypes.addressof(area))
    try:
        out = getsockopt_io(fd, SCTP_SOCKOPT_CONNECTX3, arg)
    finally:
        del area  # kept alive until the call returned
    (aid,) = struct.unpack_from("=i", out)
    return int(aid)


def assoc_id_of(buf: bytes) -> int:
    (aid,) = struct.unpack_from("=i", buf)
    return int(aid)


def getaddrs(fd: int, name: int, assoc_id: int) -> list[tuple[str, int]]:
    """SCTP_GET_PEER_ADDRS / SCTP_GET_LOCAL_ADDRS (RFC 6458 §9.3, §9.5)."""
    size = 8 + 64 * 28
    while True:
        try:
            out = getsockopt_io(fd, name, GETADDRS_HEAD.pack(assoc_id, 0), size, whole=True)
            break
        except OSError as e:
            if e.errno != errno.ENOMEM or size > 1 << 20:
                raise
            size *= 4
    _aid, count = GETADDRS_HEAD.unpack_from(out)
    addrs, off = [], GETADDRS_HEAD.size
    for _ in range(count):
        addr, n = unpack_sockaddr(out, off)
        addrs.append(addr)
        off += n
    return addrs


def peeloff(fd: int, assoc_id: int) -> int:
    """SCTP_SOCKOPT_PEELOFF (RFC 6458 §9.2): the new descriptor."""
    out = getsockopt_io(fd, SCTP_SOCKOPT_PEELOFF, PEELOFF.pack(assoc_id, 0))
    _aid, sd = PEELOFF.unpack_from(out)
    return int(sd)
