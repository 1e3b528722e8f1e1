"""I-DATA fragment numbering in the simulator (Config.idata_fsn; core.ireassembly's module
note): a side numbering as Linux does (B, then FSN 0, 1, ...) against one on "auto" and one
on "rfc" (B = 0, then 1, 2, ...), each the client or the server. Both ways a 300 KB message
(larger than the receive buffer: it arrives in parts) and small messages on another
stream arrive whole (SHA-256) and in order; on the wire the "linux" side and the "rfc" side
keep to their numbering, and "auto" follows the Linux one if the peer has shown it before
a fragmented message of its own went (Sender.follow_linux_fsn)."""

from __future__ import annotations

import hashlib
import random

import pytest

from sctpx import wire as w
from sctpx.core import Config
from sctpx.core.events import DataReceived
from sctpx.core.receiver import Receiver
from sctpx.sim import ANY, Fate, TraceRecord

from .scenario import C1, P1, Pair, established, make_pair

BIG, SMALL, SMALL_COUNT = 300_000, 100, 10


def cfg(fsn: str) -> Config:
    return Config(num_ostreams=4, max_instreams=4, interleaving=True, stream_scheduler="rr",
                  idata_fsn=fsn)  # fmt: skip


def start(client: str, server: str, seed: int) -> tuple[Pair, int]:
    p = make_pair(seed=seed, client_cfg=cfg(client), server_cfg=cfg(server), server_addrs=(P1,),
                  client_addrs=(C1,))  # fmt: skip
    aid = p.connectx([P1])
    assert p.run_until(lambda: established(p, aid) and p.up("s"), 5)
    return p, aid


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Side:
    """One end of the pair: sends a batch, and reads whole messages (parts joined)."""

    def __init__(self, p: Pair, name: str, aid: int) -> None:
        self.p, self.name = p, name
        self.ep = p.client if name == "c" else p.server
        self.aid = aid if name == "c" else p.server_assoc().id
        self.ip = C1 if name == "c" else P1
        self.seen = 0
        self.parts: dict[int, bytes] = {}
        self.whole: list[tuple[int, bytes]] = []

    def send_batch(self, tag: int, rng: random.Random) -> list[tuple[int, bytes]]:
        """A large message on stream 0, then small ones on stream 1, all queued at once."""
        sent = [(0, rng.randbytes(BIG))]
        sent += [(1, bytes([tag, i]) + rng.randbytes(SMALL - 2)) for i in range(SMALL_COUNT)]
        for stream, data in sent:
            self.ep.send(self.aid, data, self.p.net.now, stream=stream)
        self.p.net.poke(self.ep)
        return sent

    def read(self) -> int:
        events = self.p.cevents if self.name == "c" else self.p.sevents
        for e in events[self.seen :]:
            if isinstance(e, DataReceived):
                buf = self.parts.pop(e.stream_id, b"") + e.data
                if e.complete:
                    self.whole.append((e.stream_id, buf))
                else:
                    self.parts[e.stream_id] = buf
        self.seen = len(events)
        return len(self.whole)


def second_fsns(p: Pair, src: str) -> list[int]:
    """Per fragmented message sent from ``src``, in MID order, the FSN of the fragment that
    follows B: 1 in the RFC's numbering, 0 in Linux's."""
    first: dict[int, int] = {}
    for r in p.net.packets(chunk=w.IDataChunk):
        if r.src[0] != src:
            continue
        for c in r.chunks:
            if isinstance(c, w.IDataChunk) and c.stream_id == 0 and not c.flags & w.FLAG_BEGIN:
                first[c.mid] = min(c.ppid_or_fsn, first.get(c.mid, 1 << 32))
    return [first[mid] for mid in sorted(first)]


def batch(sender: Side, receiver: Side, tag: int, rng: random.Random) -> None:
    """``sender`` sends a batch, ``receiver`` gets every message of it whole, in order."""
    before = len(receiver.whole)
    sent = sender.send_batch(tag, rng)
    assert sender.p.run_until(lambda: receiver.read() >= before + len(sent), 120), "stalled"
    got = receiver.whole[before:]
    assert [(s, len(d), sha(d)) for s, d in got if s == 0] == [(0, BIG, sha(sent[0][1]))]
    assert [d for s, d in got if s == 1] == [d for s, d in sent[1:]]  # whole, in order


def receiver(p: Pair, side: Side, aid: int) -> Receiver:
    a = p.assoc(aid) if side.name == "c" else p.server_assoc()
    assert a.data is not None
    return a.data.receiver


def peer_fsn(r: Receiver) -> str:
    assert r._idata is not None
    return r._idata.peer_fsn


@pytest.mark.parametrize("other", ["auto", "rfc"])
@pytest.mark.parametrize("linux_side", ["c", "s"])
@pytest.mark.parametrize("linux_first", [False, True])
@pytest.mark.parametrize("lossy", [False, True])
def test_a_linux_numbering_peer_against_auto_and_rfc(
    other: str, linux_side: str, linux_first: bool, lossy: bool
) -> None:
    p, aid = start(*(("linux", other) if linux_side == "c" else (other, "linux")), seed=7)
    if lossy:
        p.net.link(ANY, ANY, loss=0.02, reorder=0.05, jitter=0.003)
    linux = Side(p, linux_side, aid)
    them = Side(p, "s" if linux_side == "c" else "c", aid)
    rng = random.Random(1)
    order = [linux, them, linux] if linux_first else [them, linux, them]
    for tag, src in enumerate(order):
        batch(src, them if src is linux else linux, tag, rng)
    assert set(second_fsns(p, linux.ip)) == {0}
    # "auto" follows Linux when it is seen before a fragmented message of its own went
    follows = other == "auto" and linux_first
    assert set(second_fsns(p, them.ip)) == {0 if follows else 1}
    for side in (linux, them):
        receiver(p, side, aid).check_invariants()
    assert peer_fsn(receiver(p, them, aid)) == "linux"
    assert peer_fsn(receiver(p, linux, aid)) == ("linux" if follows else "rfc")


def test_two_auto_sides_keep_to_the_rfc_numbering() -> None:
    p, aid = start("auto", "auto", seed=3)
    c, s = Side(p, "c", aid), Side(p, "s", aid)
    rng = random.Random(2)
    batch(c, s, 1, rng)
    batch(s, c, 2, rng)
    assert second_fsns(p, C1) == [1] and second_fsns(p, P1) == [1]


@pytest.mark.parametrize("other", ["auto", "rfc"])
def test_linux_s_fsn_0_fragment_lost_is_waited_for(other: str) -> None:
    """B, 0, 1 (E) with the FSN 0 fragment's packet lost: B and 1 look like a whole message
    the RFC's way; it goes out only once the retransmission is in, whole."""
    p, aid = start("linux", other, seed=5)
    net = p.net
    transmit = net._transmit
    dropped: list[TraceRecord] = []

    def lose_fsn_0(rec: TraceRecord, *rest: object) -> None:
        if (
            not dropped
            and rec.src[0] == C1
            and any(
                isinstance(c, w.IDataChunk) and not c.flags & w.FLAG_BEGIN and c.ppid_or_fsn == 0
                for c in rec.chunks
            )
        ):
            rec.fate = Fate.LOST
            dropped.append(rec)
            return
        transmit(rec, *rest)  # type: ignore[arg-type]

    net._transmit = lose_fsn_0  # type: ignore[method-assign]
    data = random.Random(3).randbytes(4000)  # three fragments
    c, s = Side(p, "c", aid), Side(p, "s", aid)
    c.ep.send(aid, data, net.now, stream=2)
    net.poke(c.ep)
    assert p.run_until(lambda: s.read() >= 1, 10)
    assert dropped and s.whole == [(2, data)]
    mine = [ch for r in net.packets(chunk=w.IDataChunk) if r.src[0] == C1 for ch in r.chunks
            if isinstance(ch, w.IDataChunk)]  # fmt: skip
    assert [ch.ppid_or_fsn for ch in mine if not ch.flags & w.FLAG_BEGIN] == [0, 1, 0]  # rtx
    assert peer_fsn(receiver(p, s, aid)) == "linux"
