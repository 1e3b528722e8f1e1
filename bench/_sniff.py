"""A tiny loopback sniffer for SCTP over UDP: when did each INIT leave, when did its COOKIE ACK.

It reads IPv4 packets on ``lo`` with an ``AF_PACKET`` socket (root only) and
kernel receive timestamps (``SO_TIMESTAMPNS``), keeps the UDP datagrams to or
from the watched ports and notes, per SCTP packet, its first chunk type. That is
enough to time a handshake *on the wire* for any stack, usrsctp included, whose
programs print no set-up time: from the INIT leaving the client to the COOKIE ACK
leaving the server (matched through the INIT's Initiate Tag, which the COOKIE
ACK carries as its verification tag).
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field

ETH_P_IP = 0x0800
PACKET_HOST = 0  # a socket bound to ETH_P_IP sees the receive copy on lo
SO_TIMESTAMPNS = 35  # Linux; also the ancillary message type
INIT, INIT_ACK, COOKIE_ECHO, COOKIE_ACK = 1, 2, 10, 11


@dataclass
class Seen:
    t: float  # kernel timestamp, seconds (wall clock: only differences mean anything)
    sport: int  # UDP ports
    dport: int
    dst: str
    vtag: int
    chunk: int  # type of the first chunk
    initiate_tag: int  # INIT / INIT ACK only


@dataclass
class Sniffer:
    """``with Sniffer({ports}) as s: ...``; then ``s.packets``, ``s.handshakes()``."""

    ports: set[int]
    packets: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def __enter__(self) -> Sniffer:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.bind(("lo", ETH_P_IP))
        s.settimeout(0.05)
        self._sock = s
        self._thread = threading.Thread(target=self._run, name="sniffer", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._sock is not None:
            self._sock.close()

    def _run(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data, anc, _flags, addr = self._sock.recvmsg(2048, 64)
            except TimeoutError:
                continue
            except OSError:
                return
            if addr[2] != PACKET_HOST:
                continue
            self._note(data, anc)

    def _note(self, ip: bytes, anc: list[tuple[int, int, bytes]]) -> None:
        if len(ip) < 20 or ip[9] != socket.IPPROTO_UDP:
            return
        ihl = (ip[0] & 0x0F) * 4
        udp = ip[ihl:]
        if len(udp) < 8 + 12 + 4:
            return
        sport, dport = struct.unpack_from("!HH", udp)
        if sport not in self.ports and dport not in self.ports:
            return
        sctp = udp[8:]
        vtag = struct.unpack_from("!I", sctp, 4)[0]
        chunk = sctp[12]
        itag = struct.unpack_from("!I", sctp, 16)[0] if chunk in (INIT, INIT_ACK) else 0
        t = 0.0
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= 16:
                sec, nsec = struct.unpack_from("qq", raw)
                t = sec + nsec / 1e9
        self.packets.append(Seen(t, sport, dport, socket.inet_ntoa(ip[16:20]), vtag, chunk, itag))

    def handshakes(self) -> list[float]:
        """Seconds from each association's first INIT to its COOKIE ACK, in INIT order."""
        first_init: dict[int, float] = {}
        done: dict[int, float] = {}
        for p in self.packets:
            if p.chunk == INIT and p.initiate_tag not in first_init:
                first_init[p.initiate_tag] = p.t
            elif p.chunk == COOKIE_ACK and p.vtag in first_init and p.vtag not in done:
                done[p.vtag] = p.t - first_init[p.vtag]
        return [done[tag] for tag in first_init if tag in done]

    def init_retransmission_gaps(self) -> list[float]:
        """Per association that never got an INIT ACK: seconds between its first two INITs."""
        times: dict[int, list[float]] = {}
        for p in self.packets:
            if p.chunk == INIT:
                times.setdefault(p.initiate_tag, []).append(p.t)
        return [ts[1] - ts[0] for ts in times.values() if len(ts) >= 2]
