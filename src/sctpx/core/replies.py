"""Replies made while one packet is handled, bundled up to the path MTU (RFC 9260 §6.10).

One incoming packet can call for many answers: an ERROR per unknown chunk whose
action bits say "report" (§3.2), a HEARTBEAT ACK per HEARTBEAT (§8.3), the
COOKIE ACK, a SACK. :class:`Replies` collects them while the association reads
the packet and sends them, when it is done, in as few packets as the MTU allows.

Decisions (issue 12):

* Each reply keeps its own chunks: several ERROR chunks share a packet rather
  than several causes one ERROR chunk (what the peer reads is then the same
  whether they arrive bundled or not; a report costs 4 bytes more).
* Replies stay whole and in their order (next fit): a COOKIE ACK and the nonce
  HEARTBEAT that must travel with it (§5.4) never part.
* §6.10: INIT, INIT ACK and SHUTDOWN COMPLETE go alone; an ABORT ends its
  packet (what followed it would not be read).
* §9.1: nothing answers a packet that contains an ABORT: the replies already
  made for its earlier chunks are dropped.
* A SACK the association owes (due now or delayed, §6.2) leaves with replies
  that go where it goes, first in the packet (§6.10: control chunks first);
  so does an ERROR the data path has for that destination (§6.5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import wire as w
from .context import EndpointContext
from .pathmgr import PathManager
from .types import Addr

if TYPE_CHECKING:
    from .datapath import DataPath

_ALONE = (w.InitChunk, w.InitAckChunk, w.ShutdownCompleteChunk)  # §6.10
_Key = tuple[int, str, Addr]  # verification tag, our source IP, destination


def chunk_size(c: w.Chunk) -> int:
    """Bytes the chunk takes in a packet, padding included (§3.2)."""
    return (4 + len(c.value()) + 3) & ~3


def chunk_room(mtu: int, dst: Addr) -> int:
    """Bytes for chunks in one packet to ``dst``: the MTU less the IP, UDP and common headers."""
    return mtu - (40 if ":" in dst[0] else 20) - (8 if dst[1] else 0) - 12


def pack(units: list[list[w.Chunk]], room: int) -> list[list[w.Chunk]]:
    """Packets of whole units, in order, each within ``room`` bytes of chunks if it can be.

    A unit larger than ``room`` goes alone (nothing smaller can be made of it).
    """
    packets: list[list[w.Chunk]] = []
    cur: list[w.Chunk] = []
    used = 0
    closed = False  # the current packet takes nothing more
    for unit in units:
        size = sum(chunk_size(c) for c in unit)
        alone = any(isinstance(c, _ALONE) for c in unit)
        if cur and (closed or alone or used + size > room):
            packets.append(cur)
            cur, used = [], 0
        cur += unit
        used += size
        closed = alone or any(isinstance(c, w.AbortChunk) for c in unit)
    if cur:
        packets.append(cur)
    return packets


class Replies:
    """The replies of one association: sent at once, or collected for one packet."""

    __slots__ = ("_batch", "_void", "ctx", "pm")

    def __init__(self, ctx: EndpointContext, pm: PathManager) -> None:
        self.ctx = ctx
        self.pm = pm
        self._batch: dict[_Key, list[list[w.Chunk]]] | None = None
        self._void = False

    def open(self) -> bool:
        """Start collecting (a packet is being read); False if already collecting."""
        if self._batch is not None:
            return False
        self._batch = {}
        self._void = False
        return True

    def void(self) -> None:
        """§9.1: the packet holds an ABORT; none of its replies may go."""
        if self._batch is not None:
            self._void = True

    def send(self, chunks: list[w.Chunk], vtag: int, src: Addr, dst: Addr) -> None:
        """Answer to where a packet came from, from the address it arrived at (MH-02).

        §5.4 (PV-05): to an UNCONFIRMED peer address only a HEARTBEAT ACK, or a
        packet bundling a nonce HEARTBEAT (the COOKIE ACK case), may go; anything
        else goes to a confirmed path instead.
        """
        src_ip, to = dst[0], src
        p = self.pm.paths.get(src[0])
        allowed = all(isinstance(c, w.HeartbeatAckChunk) for c in chunks) or any(
            isinstance(c, w.HeartbeatChunk) for c in chunks
        )
        if p is not None and not p.confirmed and not allowed:
            alt = self.pm.current()
            if alt is None or not alt.confirmed:
                return
            src_ip, to = self.pm.source(alt.ip), (alt.ip, alt.udp_port)
        if self._batch is None:
            self.ctx.send(chunks, vtag, self.pm.peer_port, src_ip, to)
        elif not self._void:
            self._batch.setdefault((vtag, src_ip, to), []).append(chunks)

    def close(self, data: DataPath | None, mtu: int) -> None:
        """The packet is read: send what it called for, bundled (with the SACK if owed)."""
        batch, self._batch = self._batch, None
        if not batch or self._void:
            return
        if data is not None:
            for (vtag, src_ip, to), units in batch.items():
                if vtag == self.pm.peer_tag:
                    lead = data.take_control(to[0], src_ip)
                    if lead:
                        units[:0] = [[c] for c in lead]
                        break
        peer_port = self.pm.peer_port
        for (vtag, src_ip, to), units in batch.items():
            for chunks in pack(units, chunk_room(mtu, to)):
                self.ctx.send(chunks, vtag, peer_port, src_ip, to)
