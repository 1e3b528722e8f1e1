"""The trace: one record per datagram the simulated network carried.

Every datagram a driver hands to the network gets a :class:`TraceRecord` when
it is sent. Its :class:`Fate` starts as ``IN_FLIGHT`` and is settled either at
once (dropped by the link) or when it reaches the destination address. A
duplicated datagram has a second record (``duplicate=True``, same ``sent``
time and bytes) whose fate is tracked separately. ICMP-like signals caused by
a datagram are noted on its record (``signal``, ``signal_at``).

Records decode their bytes lazily with :func:`sctpx.wire.decode_packet`
(checksum not enforced, so a corrupt-CRC packet still shows its chunks; see
:attr:`TraceRecord.checksum_ok`). Bytes that do not parse keep ``packet`` None
and the error in ``parse_error``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Any

from ..core.types import Addr, UnreachableKind
from ..wire import ChecksumError, Chunk, Packet, ParseError, decode_packet

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class Fate(enum.Enum):
    """What became of one datagram (one copy, for duplicates)."""

    IN_FLIGHT = "in-flight"  # sent, not yet arrived
    DELIVERED = "delivered"  # handed to a driver's receive()
    LOST = "lost"  # random loss on the link
    BLACKHOLED = "blackholed"  # link or address black hole: dropped silently
    UNREACHABLE = "unreachable"  # dropped by a link configured `unreachable`, sender signalled
    TOO_BIG = "too-big"  # larger than the link MTU, sender signalled FRAG_NEEDED
    NO_HOST = "no-host"  # no host owns the destination address: silently lost
    PORT_UNREACHABLE = "port-unreachable"  # host reached, wrong UDP port, sender signalled
    NO_LISTENER = "no-listener"  # host and port right, no driver on the SCTP port


class TraceRecord:
    """One datagram (or one duplicate copy of it) on the simulated network."""

    __slots__ = (
        "_decoded",
        "arrived",
        "data",
        "dst",
        "duplicate",
        "fate",
        "host",
        "sent",
        "seq",
        "signal",
        "signal_at",
        "src",
    )

    def __init__(
        self, seq: int, sent: float, host: str, src: Addr, dst: Addr, data: bytes, duplicate: bool
    ) -> None:
        self.seq = seq  #: index in the trace
        self.sent = sent  #: virtual time the sender handed it over
        self.host = host  #: name of the sending host
        self.src = src
        self.dst = dst
        self.data = data
        self.duplicate = duplicate  #: True for the extra copy of a duplicated datagram
        self.fate = Fate.IN_FLIGHT
        self.arrived: float | None = None  #: when it reached the destination address, if it did
        self.signal: UnreachableKind | None = None  #: ICMP-like signal sent back, if any
        self.signal_at: float | None = None  #: when that signal reaches the sender
        self._decoded: Packet | ParseError | None = None

    def _decode(self) -> Packet | ParseError:
        if self._decoded is None:
            try:
                self._decoded = decode_packet(self.data, verify_checksum=False)
            except ParseError as exc:
                self._decoded = exc
        return self._decoded

    @property
    def packet(self) -> Packet | None:
        """The decoded SCTP packet, or None when the bytes do not parse."""
        d = self._decode()
        return d if isinstance(d, Packet) else None

    @property
    def parse_error(self) -> ParseError | None:
        d = self._decode()
        return d if isinstance(d, ParseError) else None

    @property
    def checksum_ok(self) -> bool:
        """Whether the bytes parse and carry a correct CRC32c."""
        try:
            decode_packet(self.data)
        except ChecksumError:
            return False
        except ParseError:
            return False
        return True

    @property
    def chunks(self) -> list[Chunk]:
        """The chunks of the packet, empty when it does not parse."""
        p = self.packet
        return p.chunks if p is not None else []

    def has_chunk(self, chunk: type[Any] | int) -> bool:
        """Whether the packet bundles a chunk of that class or type number."""
        if isinstance(chunk, int):
            return any(c.type == chunk for c in self.chunks)
        return any(isinstance(c, chunk) for c in self.chunks)

    def summary(self) -> str:
        """One line: times, addresses, chunk names and fate."""
        p = self.packet
        if p is None:
            what = f"<{len(self.data)} bytes: {self.parse_error}>"
        else:
            names = ",".join(_chunk_name(c) for c in p.chunks) or "-"
            what = f"{p.src_port}->{p.dst_port} vtag={p.verification_tag:#x} [{names}]"
        end = f"@{self.arrived:.6f}" if self.arrived is not None else ""
        dup = " (dup)" if self.duplicate else ""
        sig = f" signal={self.signal.value}@{self.signal_at:.6f}" if self.signal else ""
        return (
            f"{self.sent:10.6f} {_addr(self.src)} > {_addr(self.dst)} {what} "
            f"{self.fate.value}{end}{dup}{sig}"
        )

    def __repr__(self) -> str:
        return f"<TraceRecord #{self.seq} {self.summary()}>"


def _addr(a: Addr) -> str:
    return f"[{a[0]}]:{a[1]}" if ":" in a[0] else f"{a[0]}:{a[1]}"


def _chunk_name(c: Chunk) -> str:
    name = type(c).__name__
    if name == "UnknownChunk":
        return f"type{c.type}"
    return _CAMEL.sub("_", name.removesuffix("Chunk")).upper()  # HeartbeatAck -> HEARTBEAT_ACK


AddrFilter = str | Addr | Iterable[str] | None


def _addr_match(flt: AddrFilter, addr: Addr) -> bool:
    if flt is None:
        return True
    if isinstance(flt, str):
        return addr[0] == flt
    if isinstance(flt, tuple) and len(flt) == 2 and isinstance(flt[1], int):
        return addr == flt
    return addr[0] in flt


def select(
    records: Iterable[TraceRecord],
    *,
    src: AddrFilter = None,
    dst: AddrFilter = None,
    chunk: type[Any] | int | None = None,
    fate: Fate | Iterable[Fate] | None = None,
    since: float | None = None,
    until: float | None = None,
    duplicates: bool = True,
) -> list[TraceRecord]:
    """The records matching every given filter (see :meth:`Network.packets`)."""
    fates = None if fate is None else ({fate} if isinstance(fate, Fate) else set(fate))
    out = []
    for r in records:
        if since is not None and r.sent < since:
            continue
        if until is not None and r.sent > until:
            continue
        if not duplicates and r.duplicate:
            continue
        if fates is not None and r.fate not in fates:
            continue
        if not (_addr_match(src, r.src) and _addr_match(dst, r.dst)):
            continue
        if chunk is not None and not r.has_chunk(chunk):
            continue
        out.append(r)
    return out
