"""What an association shares with its endpoint: identity, randomness, output and events."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

from .. import wire as w
from ..wire.ipaddr import pack_ip
from .config import Config
from .cookie import CookieJar
from .events import Event
from .handshake import family
from .types import Datagram


@dataclass(slots=True)
class EndpointContext:
    """The endpoint's side of the contract with its associations.

    Associations append the datagrams they send to ``out`` and their events to
    ``events``; the endpoint hands both to its user.
    """

    port: int
    addresses: list[str]
    udp_port: int
    cfg: Config
    rng: random.Random
    jar: CookieJar
    out: list[Datagram] = field(default_factory=list)
    events: deque[Event] = field(default_factory=deque)
    tags_in_use: set[int] = field(default_factory=set)
    _families: frozenset[int] | None = None  # of ``addresses`` (set_addresses resets it)

    def set_addresses(self, addresses: list[str]) -> None:
        self.addresses = list(addresses)
        self._families = None

    def new_tag(self) -> int:
        """A random Verification Tag, never 0 (RFC 9260 §5.3.1) and not in use here."""
        while True:
            tag = self.rng.getrandbits(32)
            if tag and tag not in self.tags_in_use:
                return tag

    def families(self) -> frozenset[int]:
        if self._families is None:
            self._families = frozenset(family(a) for a in self.addresses)
        return self._families

    def source_for(self, peer_ip: str) -> str:
        """Our address for a peer address we have not heard from yet.

        Decision: of our addresses of the peer's family, the one sharing the
        longest prefix with it (on a multi-homed host with one subnet per link,
        the address on the link that reaches the peer); ties go to the first
        bound. Once the peer has reached us from ``peer_ip`` the path uses the
        address it reached (PathManager.source).
        """
        peer = pack_ip(peer_ip)
        bits = len(peer) * 8
        best, best_len = self.addresses[0], -1
        for a in self.addresses:
            mine = pack_ip(a)
            if len(mine) != len(peer):
                continue
            diff = int.from_bytes(mine, "big") ^ int.from_bytes(peer, "big")
            common = bits - diff.bit_length()
            if common > best_len:
                best, best_len = a, common
        return best

    def send(
        self,
        chunks: list[w.Chunk],
        vtag: int,
        peer_port: int,
        src_ip: str,
        dst: tuple[str, int],
    ) -> None:
        """Encode one packet and queue it as a datagram from ``src_ip`` to ``dst``."""
        data = w.encode_packet(w.Packet(self.port, peer_port, vtag, chunks))
        self.out.append((data, (src_ip, self.udp_port), dst))
