"""A live packet tracer for ``sctpx demo``: a :meth:`sctpx.net.Stack.tap` that tells the story.

Control chunks (INIT, INIT ACK, COOKIE ECHO, HEARTBEAT, SHUTDOWN ...) are decoded
with :mod:`sctpx.wire` and told one line each, with what they mean for
multi-homing; DATA and SACK are only counted per address (a transfer has
thousands), except the first DATA to each address and retransmissions.

The tap runs on the stack's loop thread, so the work per packet is small: a
walk over the chunk headers, and a full decode only for the few control packets.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from ..core.types import Addr
from ..wire import (
    CookieEchoChunk,
    InitAckChunk,
    InitChunk,
    IPv4AddressParam,
    IPv6AddressParam,
    ParseError,
    ShutdownChunk,
    decode_packet,
)

CHUNK_NAMES = {
    0: "DATA",
    1: "INIT",
    2: "INIT ACK",
    3: "SACK",
    4: "HEARTBEAT",
    5: "HEARTBEAT ACK",
    6: "ABORT",
    7: "SHUTDOWN",
    8: "SHUTDOWN ACK",
    9: "ERROR",
    10: "COOKIE ECHO",
    11: "COOKIE ACK",
    14: "SHUTDOWN COMPLETE",
    64: "I-DATA",
    132: "PAD",
    192: "FORWARD TSN",
    194: "I-FORWARD TSN",
}
DATA, SACK = 0, 3
BULK = {DATA, SACK}

Say = Callable[[float, str], None]  # (wall-clock time, text)


def chunk_headers(packet: bytes) -> list[tuple[int, int]]:
    """``(type, offset)`` of every chunk after the 12-byte common header."""
    out: list[tuple[int, int]] = []
    off, end = 12, len(packet)
    while off + 4 <= end:
        length = (packet[off + 2] << 8) | packet[off + 3]
        if length < 4:
            break
        out.append((packet[off], off))
        off += (length + 3) & ~3
    return out


class Tracer:
    """Counts every packet the tapped stack sees and tells the interesting ones."""

    def __init__(self, say: Say, local_ips: list[str], name: str = "client") -> None:
        self._say = say
        self._local = set(local_ips)
        self._name = name
        self._lock = threading.Lock()
        self.seen: Counter[str] = Counter()  # chunk name -> count
        self.data_to: Counter[str] = Counter()  # DATA chunks sent, by destination IP
        self.sack_from: Counter[str] = Counter()  # SACK chunks received, by source IP
        self.retransmitted = 0  # DATA chunks whose TSN had been sent before
        self.first: dict[tuple[str, str], float] = {}  # (chunk name, peer IP) -> first time
        self.init_ack_from: str | None = None
        self.announced: list[str] = []  # addresses the INIT ACK lists
        self.listed: list[str] = []  # set by the user: the addresses given to connectx
        self.suspect: set[str] = set()  # set by the user: addresses known to be cut
        # set by the user: chunk name -> function run once, on the loop thread, when that
        # chunk first arrives and before the stack processes it (a snapshot of the state)
        self.before: dict[str, Callable[[], None]] = {}
        self._confirming: set[str] = set()
        self._tsns: set[int] = set()
        self._data_dsts: set[str] = set()
        self._inits: dict[int, tuple[float, str]] = {}  # initiate tag -> (first time, dst)
        self._last_init: tuple[float, str] | None = None
        self._last_rtx_told = 0.0

    # ----- reading the counters from other threads

    def snapshot(self) -> tuple[Counter[str], Counter[str], int]:
        with self._lock:
            return Counter(self.data_to), Counter(self.sack_from), self.retransmitted

    # ----- the tap

    def __call__(self, t: float, src: Addr, dst: Addr, packet: bytes, outgoing: bool) -> None:
        peer = dst[0] if outgoing else src[0]
        heads = chunk_headers(packet)
        lines: list[str] = []
        hooks: list[Callable[[], None]] = []
        with self._lock:
            control = False
            for ctype, off in heads:
                name = CHUNK_NAMES.get(ctype, f"chunk {ctype}")
                self.seen[name] += 1
                self.first.setdefault((name, peer), t)
                if ctype == DATA and outgoing:
                    self._data(t, peer, int.from_bytes(packet[off + 4 : off + 8], "big"), lines)
                elif ctype == SACK and not outgoing:
                    self.sack_from[peer] += 1
                    if self.sack_from[peer] == 1 and len(self.sack_from) > 1:
                        lines.append(f"SACK  first SACK from {peer}: acks come back this way now")
                elif ctype not in BULK:
                    control = True
                if not outgoing and name in self.before:
                    hooks.append(self.before.pop(name))
            if control:
                lines += self._control(t, packet, peer, outgoing)
        for line in lines:
            self._say(t, self._arrow(src[0], dst[0], outgoing) + line)
        for hook in hooks:
            hook()

    def _arrow(self, src: str, dst: str, outgoing: bool) -> str:
        a = self._name if src in self._local else src
        b = self._name if dst in self._local else dst
        return f"{a:>9} -> {b:<10} "

    def _data(self, t: float, dst: str, tsn: int, lines: list[str]) -> None:
        self.data_to[dst] += 1
        again = tsn in self._tsns
        self._tsns.add(tsn)
        if again:
            self.retransmitted += 1
        if dst not in self._data_dsts:
            self._data_dsts.add(dst)
            what = "a retransmission" if again else "new data"
            lines.append(f"DATA  first DATA to {dst} (TSN {tsn}, {what})")
        elif again and t - self._last_rtx_told > 0.5:
            lines.append(f"DATA  TSN {tsn} retransmitted to {dst}")
        if again:
            self._last_rtx_told = t

    def _control(self, t: float, packet: bytes, peer: str, outgoing: bool) -> list[str]:
        try:
            chunks = decode_packet(packet).chunks
        except ParseError as exc:
            return [f"(undecodable packet: {exc})"]
        lines: list[str] = []
        for ch in chunks:
            name = CHUNK_NAMES.get(ch.type, f"chunk {ch.type}")
            if ch.type in BULK:
                continue
            text = self._explain(t, ch, name, peer, outgoing)
            if text is not None:
                lines.append(f"{name}  {text}".rstrip())
        return lines

    def _explain(self, t: float, ch: object, name: str, peer: str, outgoing: bool) -> str | None:
        """What the chunk means here; None for routine ones (HEARTBEATs of healthy paths)."""
        if isinstance(ch, InitChunk) and outgoing:
            return self._explain_init(t, ch, peer)
        if isinstance(ch, InitAckChunk) and not outgoing:
            self.init_ack_from = peer
            ips = [
                p.address for p in ch.params if isinstance(p, IPv4AddressParam | IPv6AddressParam)
            ]
            self.announced = ips or [peer]
            unlisted = [ip for ip in self.announced if ip not in self.listed]
            self._confirming.update(unlisted)
            text = f"{peer} answered; the server's addresses: {', '.join(self.announced)}"
            if unlisted:
                text += f" ({', '.join(unlisted)} not listed by us: unconfirmed)"
            return text
        if isinstance(ch, CookieEchoChunk):
            return f"the state cookie back ({len(ch.cookie)} bytes)"
        if name == "COOKIE ACK":
            return "the association is up"
        if name == "HEARTBEAT" and outgoing:
            if peer in self._confirming:
                return f"with a random nonce: is {peer} really the peer's? (path verification)"
            if peer in self.suspect:
                return f"probing {peer}, which stopped answering"
            return None
        if name == "HEARTBEAT ACK" and not outgoing:
            if peer in self._confirming:
                self._confirming.discard(peer)
                return f"the nonce came back from {peer}: it is the peer's"
            return None
        if name in ("HEARTBEAT", "HEARTBEAT ACK"):
            return None  # the peer checking its path to us
        if isinstance(ch, ShutdownChunk):
            return f"graceful close, cumulative TSN ack {ch.cum_tsn_ack}"
        return ""

    def _explain_init(self, t: float, ch: InitChunk, dst: str) -> str:
        tag = ch.initiate_tag
        first = self._inits.get(tag)
        last = self._last_init
        self._last_init = (t, dst)
        position = ""
        if dst in self.listed:
            position = f"listed address {self.listed.index(dst) + 1} of {len(self.listed)}"
        if first is None:
            self._inits[tag] = (t, dst)
            return (
                f"initiate tag {tag:#010x}, {ch.outbound_streams} out / "
                f"{ch.inbound_streams} in streams ({position or dst})"
            )
        assert last is not None
        gap = t - last[0]
        if gap >= 0.9:
            why = f"T1-init expired after {gap:.1f} s without an INIT ACK from {last[1]}"
        elif gap >= 0.1:
            why = f"no INIT ACK from {last[1]} after {gap * 1000:.0f} ms: staggered INIT"
        else:
            why = f"{last[1]} refused at once (ICMP port unreachable)"
        return f"the same INIT again, to {position or dst}: {why}"
