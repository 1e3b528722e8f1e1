"""Endpoint-level fuzzing of the sans-IO core (issue 16, item 2).

A corpus of real packets (the usrsctp vectors, plus every datagram of in-memory
runs: handshake, transfer with loss, heartbeats and a black-holed path, PR-SCTP,
shutdown, abort, a stale cookie, out-of-the-blue packets) is mutated and fed, with
the right ports and verification tags and a recomputed CRC32c so the packets get
past the checksum to the parsers and the association logic, into three targets:

- ``listener``: a listening :class:`~sctpx.core.Endpoint`. Besides corpus mutants it
  gets live handshakes (a corpus INIT, then a COOKIE ECHO carrying the cookie it
  answered with, sometimes bundled with corpus chunks) so valid cookies open
  associations, which the following mutants then address by their tags.
- ``established``: two endpoints with an established association that carries
  messages both ways all along (lossless, in memory). Mutants go to either side,
  as from the other side (its addresses, ports and the receiver's tag; TSN, SSN
  and cumulative-ack fields moved near the receiver's current values). A mutant
  that a correct peer could use to change what the association delivers (ABORT,
  SHUTDOWN*, FORWARD TSN, a DATA chunk with a new TSN or no data, an INIT with the
  peer's own tag) is kept from this *main* pair and goes instead to a *fork*, a
  copy of the pair made every :data:`FORK_EVERY` packets (a child process, so that it
  copies the compiled build's core too), which takes a burst of every kind of mutant
  and then runs its timers until it settles, while the main pair goes on. The main pair
  must deliver every message byte-identical and in order per stream throughout and,
  after the fuzzing, a last batch each way; no association may end or fail a send.
- ``client``: an endpoint in set-up (COOKIE-WAIT, or COOKIE-ECHOED after a real
  INIT ACK from a live listener), fed mutants of that live INIT ACK and of corpus
  packets as from the server, ICMP errors quoting what it sent, and T1 timer
  expiries; half of the clients really talk to the live listener meanwhile.

Every call into an endpoint (``receive``, ``receive_unreachable``, ``handle_timer``,
``get_timer``, ``datagrams_to_send``, ``next_event``) is checked: an exception is a
failure, recorded with the target, seed, packet number, the input's hex and the
traceback. Memory is checked as bounds on what an endpoint holds (associations,
paths, timers, receive buffer and its indexes, queued events and datagrams) every
:data:`CHECK_EVERY` packets and at the end; :func:`memory_growth` measures it with
tracemalloc as well.

Run ``python tests/fuzz/fuzz_harness.py --packets N --jobs J`` (``make fuzz``), or
use :func:`run` from a test.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import gc
import multiprocessing
import os
import pickle
import platform
import random
import struct
import sys
import time
import traceback
import tracemalloc
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sctpx import wire as w
from sctpx.core import Config, Endpoint, State
from sctpx.core.association import Association
from sctpx.core.events import AssocChange, DataReceived, Event, SendFailed
from sctpx.core.tsnmap import MASK32, tsn_lt
from sctpx.core.types import Addr, UnreachableKind

VECTORS = Path(__file__).resolve().parents[1] / "vectors"

C1, C2 = "198.18.1.1", "198.18.2.1"  # the client side
S1, S2, S3 = "198.18.1.2", "198.18.2.2", "198.18.3.2"  # the server side (S3: never listed)
STRANGER = "203.0.113.9"  # an address nobody has
HANDSHAKE_IPS = (C1, C2, "198.18.1.3", "198.18.1.4", "198.18.3.1")
CPORT, SPORT, UDP = 40000, 5000, 9899
TARGETS = ("listener", "established", "client")

CHECK_EVERY = 256  # packets between two memory-bound checks
FORK_EVERY = 48  # main-pair packets between two forks (established target)
FORK_BURST = 32  # fresh mutants a fork takes, besides the ones diverted to it
MAX_ASSOCS = 64  # per endpoint
MAX_PATHS = 400  # per association: an INIT (ACK) of 1500 bytes names at most ~180
MAX_EVENTS = 10_000  # queued between two drains
MAX_SETTLE = 400.0  # virtual seconds a fork or a last check may take to settle

I16 = (0, 1, 2, 3, 4, 5, 7, 8, 12, 15, 16, 20, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF)
I32 = (0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)
KNOWN_TYPES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 64, 128, 130, 132, 192, 194)
TLV_AT = {1: 20, 2: 20, 4: 4, 5: 4, 6: 4, 9: 4}  # chunk type -> where its parameters/causes start


class FuzzFailure(AssertionError):
    """A property the fuzzer checks does not hold (other than an exception from the core)."""


# ----------------------------------------------------------------------------- packets


def reseal(data: bytes | bytearray) -> bytes:
    """``data`` with its CRC32c recomputed (RFC 9260 §6.8), as bytes."""
    b = bytes(data)
    if len(b) < 12:
        return b
    crc = w.crc32c(b[:8] + bytes(4) + b[12:])
    return b[:8] + crc.to_bytes(4, "little") + b[12:]


def retag(data: bytes | bytearray, sport: int, dport: int, vtag: int) -> bytearray:
    """``data`` with this common header (checksum left as it was)."""
    b = bytearray(data)
    if len(b) >= 12:
        struct.pack_into("!HHI", b, 0, sport, dport, vtag)
    return b


def chunk_spans(data: bytes | bytearray) -> list[tuple[int, int]]:
    """(offset, length with padding, cut at the end) of each chunk, up to the first bad one."""
    out: list[tuple[int, int]] = []
    off, n = 12, len(data)
    while off + 4 <= n:
        length = (data[off + 2] << 8) | data[off + 3]
        if length < 4:
            break
        span = (length + 3) & ~3
        out.append((off, min(span, n - off)))
        off += span
    return out


def tlv_spans(data: bytes | bytearray, off: int, size: int) -> list[int]:
    """Offsets of the parameters (or causes) inside the chunk at ``off``."""
    start = TLV_AT.get(data[off])
    if start is None:
        return []
    out: list[int] = []
    sub, end = off + start, off + size
    while sub + 4 <= end:
        out.append(sub)
        length = (data[sub + 2] << 8) | data[sub + 3]
        sub += max(4, (length + 3) & ~3)
    return out


# ----------------------------------------------------------------------------- mutators


def _pick_chunk(rng: random.Random, data: bytearray) -> tuple[int, int] | None:
    spans = chunk_spans(data)
    return rng.choice(spans) if spans else None


def m_bitflip(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    for _ in range(rng.randint(1, 4)):
        if d:
            d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)


def m_bytes(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    for _ in range(rng.randint(1, 4)):
        if d:
            d[rng.randrange(len(d))] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))


def m_truncate(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    spans = chunk_spans(d)
    if spans and rng.random() < 0.5:  # near a chunk boundary
        off, size = rng.choice(spans)
        cut = off + rng.choice((0, 1, 2, 3, 4, 5, 8, size - 1, size - 4, size // 2))
    else:
        cut = rng.randrange(len(d) + 1)
    del d[max(0, cut) :]


def m_append(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    d += rng.randbytes(rng.randint(1, 64))


def m_chunk_length(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    c = _pick_chunk(rng, d)
    if c is None:
        return
    off, size = c
    old = (d[off + 2] << 8) | d[off + 3]
    new = rng.choice((*I16, old - 1, old + 1, old + 4, old - 4, size + 8, rng.randrange(65536)))
    struct.pack_into("!H", d, off + 2, new & 0xFFFF)


def m_param(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    spans = [(o, s) for o, s in chunk_spans(d) if d[o] in TLV_AT]
    if not spans:
        return
    off, size = rng.choice(spans)
    subs = tlv_spans(d, off, size)
    if not subs:
        return
    sub = rng.choice(subs)
    if sub + 4 > len(d):
        return
    if rng.random() < 0.6:  # its length
        old = (d[sub + 2] << 8) | d[sub + 3]
        new = rng.choice((*I16, old - 1, old + 1, old + 4, old - 4, rng.randrange(65536)))
        struct.pack_into("!H", d, sub + 2, new & 0xFFFF)
    else:  # its type
        types = (1, 2, 3, 5, 6, 7, 8, 9, 11, 12, 13, 0x8000, 0x8002, 0x8008, 0xC000, 0xC006)
        struct.pack_into("!H", d, sub, rng.choice((*types, rng.randrange(65536))))


def m_dup_chunk(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    c = _pick_chunk(rng, d)
    if c is None:
        return
    off, size = c
    piece = bytes(d[off : off + size])
    at = rng.choice((off + size, len(d), 12))
    d[at:at] = piece * rng.randint(1, 3)


def m_drop_chunk(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    c = _pick_chunk(rng, d)
    if c is not None:
        del d[c[0] : c[0] + c[1]]


def m_swap_chunks(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    spans = chunk_spans(d)
    if len(spans) < 2:
        return
    chunks = [bytes(d[o : o + s]) for o, s in spans]
    tail = bytes(d[spans[-1][0] + spans[-1][1] :])
    rng.shuffle(chunks)
    d[12:] = b"".join(chunks) + tail


def m_chunk_type(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    c = _pick_chunk(rng, d)
    if c is not None:
        d[c[0]] = rng.choice((*KNOWN_TYPES, rng.randrange(256)))


def m_chunk_flags(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    c = _pick_chunk(rng, d)
    if c is not None:
        d[c[0] + 1] = rng.choice((0, 1, 2, 3, 4, 7, 8, 0xFF, rng.randrange(256)))


def m_splice(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    other = rng.choice(pool)
    spans = chunk_spans(other)
    if not spans:
        return
    off, size = rng.choice(spans)
    mine = chunk_spans(d)
    at = rng.choice([12, len(d)] + [o for o, _ in mine])
    d[at:at] = other[off : off + size]


def m_int_field(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    c = _pick_chunk(rng, d)
    if c is None:
        return
    off, size = c
    if size < 8:
        return
    if rng.random() < 0.5:
        at = off + 4 + 4 * rng.randrange((size - 4) // 4)
        if at + 4 > len(d):
            return
        old = struct.unpack_from("!I", d, at)[0]
        new = rng.choice((*I32, old + 1, old - 1, old + 2**31, old + rng.randint(-64, 64)))
        struct.pack_into("!I", d, at, new & MASK32)
    else:
        at = off + 4 + 2 * rng.randrange((size - 4) // 2)
        if at + 2 > len(d):
            return
        old = struct.unpack_from("!H", d, at)[0]
        new = rng.choice((*I16, old + 1, old - 1, old + rng.randint(-16, 16)))
        struct.pack_into("!H", d, at, new & 0xFFFF)


def m_new_chunk(rng: random.Random, d: bytearray, pool: list[bytes]) -> None:
    body = rng.randbytes(rng.choice((0, 0, 1, 3, 4, 8, 12, 16, 20, 40)))
    ctype = rng.choice((*KNOWN_TYPES, rng.randrange(256)))
    chunk = struct.pack("!BBH", ctype, rng.randrange(256), 4 + len(body)) + body
    chunk += bytes(-len(chunk) % 4)
    spans = chunk_spans(d)
    at = rng.choice([12, len(d)] + [o for o, _ in spans])
    d[at:at] = chunk


Mutator = Callable[[random.Random, bytearray, list[bytes]], None]
MUTATORS: dict[str, Mutator] = {
    "bitflip": m_bitflip,
    "bytes": m_bytes,
    "truncate": m_truncate,
    "append": m_append,
    "chunk_length": m_chunk_length,
    "param": m_param,
    "dup_chunk": m_dup_chunk,
    "drop_chunk": m_drop_chunk,
    "swap_chunks": m_swap_chunks,
    "chunk_type": m_chunk_type,
    "chunk_flags": m_chunk_flags,
    "splice": m_splice,
    "int_field": m_int_field,
    "new_chunk": m_new_chunk,
}
_MUTATOR_LIST = list(MUTATORS.values())


def mutate(
    rng: random.Random, data: bytes | bytearray, pool: list[bytes], rounds: int = 0
) -> bytearray:
    """``data`` with 1-3 (or ``rounds``) random mutations; the header is mutated rarely."""
    d = bytearray(data)
    for _ in range(rounds or rng.choice((1, 1, 1, 2, 2, 3))):
        rng.choice(_MUTATOR_LIST)(rng, d, pool)
        if len(d) > 4096:
            del d[4096:]
    return d


def finish(rng: random.Random, d: bytearray) -> bytes:
    """Reseal the checksum (nearly always: the point is to reach the parsers)."""
    return reseal(d) if rng.random() < 0.98 else bytes(d)


def cookie_echoes(
    rng: random.Random, sent: list[tuple[bytes, Addr, Addr]], pool: list[bytes]
) -> list[bytes]:
    """For each INIT ACK in ``sent``: the COOKIE ECHO its receiver would answer with.

    Sometimes bundled with corpus chunks after it, sometimes mutated (the ports kept).
    """
    out: list[bytes] = []
    for data, _s, _d in sent:
        try:
            pkt = w.decode_packet(data)
        except w.ParseError as e:
            raise FuzzFailure(f"an endpoint sent an undecodable packet: {data.hex()}") from e
        ack = pkt.chunks[0]
        if not isinstance(ack, w.InitAckChunk):
            continue
        cookie = next((p.cookie for p in ack.params if isinstance(p, w.StateCookieParam)), None)
        if cookie is None:
            raise FuzzFailure(f"INIT ACK without a cookie: {data.hex()}")
        chunks = w.encode_chunk(w.CookieEchoChunk(cookie))
        for _ in range(rng.choice((0, 0, 1, 2, 3))):  # bundle corpus chunks after it
            other = rng.choice(pool)
            spans = chunk_spans(other)
            if spans:
                off, size = rng.choice(spans)
                chunks += other[off : off + size]
        head = struct.pack("!HHII", pkt.dst_port, pkt.src_port, ack.initiate_tag, 0)
        echo = bytearray(head) + chunks
        if rng.random() < 0.4:
            echo = mutate(rng, echo, pool)
            if len(echo) >= 4:
                struct.pack_into("!HH", echo, 0, pkt.dst_port, pkt.src_port)
        out.append(finish(rng, echo))
    return out


# ----------------------------------------------------------------------------- in-memory wire


class Wire:
    """Endpoints joined by address, delivering in memory; optional loss; records every datagram."""

    def __init__(
        self,
        eps: list[Endpoint],
        *,
        drop: Callable[[Addr, Addr], bool] | None = None,
        record: list[tuple[bytes, bool]] | None = None,
        to_server: frozenset[str] = frozenset(),
    ) -> None:
        self.eps = eps
        self.route = {ip: ep for ep in eps for ip in ep.addresses}
        self.drop = drop
        self.record = record
        self.to_server = to_server
        self.now = 0.0
        self.sent: list[list[bytes]] = [[] for _ in eps]  # the last few each one sent
        self.count = [0 for _ in eps]  # how many each one sent

    def pump(self, now: float | None = None, limit: int = 20_000) -> int:
        """Deliver until nobody has anything to send; a ping-pong past ``limit`` is a failure."""
        if now is not None:
            self.now = max(self.now, now)
        moved = 0
        busy = True
        while busy:
            busy = False
            for i, (ep, keep) in enumerate(zip(self.eps, self.sent, strict=True)):
                out = ep.datagrams_to_send(self.now)
                if not out:
                    continue
                busy = True
                self.count[i] += len(out)
                for data, src, dst in out:
                    moved += 1
                    keep.append(data)
                    if self.record is not None:
                        self.record.append((data, dst[0] in self.to_server))
                    if self.drop is not None and self.drop(src, dst):
                        continue
                    peer = self.route.get(dst[0])
                    if peer is not None and peer is not ep:
                        peer.receive(data, src, dst, self.now)
                del keep[:-8]
            if moved > limit:
                raise FuzzFailure(f"more than {limit} datagrams without rest: a packet storm")
        return moved

    def next_timer(self) -> float | None:
        ts = [t for ep in self.eps if (t := ep.get_timer()) is not None]
        return min(ts) if ts else None

    def advance(self, to: float) -> None:
        """Run every timer due up to ``to``, delivering what they send, then set the clock there."""
        self.pump()
        guard = 0
        while (t := self.next_timer()) is not None and t <= to:
            self.now = max(self.now, t)
            for ep in self.eps:
                ep.handle_timer(self.now)
            self.pump()
            guard += 1
            if guard > 100_000:
                raise FuzzFailure("timers keep firing without time passing")
        self.now = max(self.now, to)

    def drain(self) -> list[Event]:
        out: list[Event] = []
        for ep in self.eps:
            while (ev := ep.next_event()) is not None:
                out.append(ev)
        return out


# ----------------------------------------------------------------------------- the corpus


def load_vectors() -> list[bytes]:
    return [bytes.fromhex(f.read_text().strip()) for f in sorted(VECTORS.glob("*.hex"))]


def _pair(
    seed: int, cport: int = CPORT, cfg: Config | None = None, scfg: Config | None = None
) -> tuple[Endpoint, Endpoint]:
    client = Endpoint(cport, [C1, C2], rng=random.Random(seed), config=cfg)
    server = Endpoint(SPORT, [S1, S2], rng=random.Random(seed + 1), config=scfg or cfg)
    server.listen()
    return client, server


def _transfer(
    wire: Wire, ep: Endpoint, aid: int, rng: random.Random, n: int, until: float, **kw: object
) -> None:
    for i in range(n):
        size = rng.choice((1, 7, 100, 600, 1400, 1500, 3000, 5000))
        try:
            ep.send(aid, rng.randbytes(size), wire.now, stream=i % 4, unordered=i % 7 == 0,
                    **kw)  # fmt: skip
        except OSError:
            break
        if i % 10 == 0:
            wire.pump()
            wire.drain()
    end = wire.now + until
    while wire.now < end:
        wire.advance(wire.now + 0.05)
        wire.drain()


def build_corpus(seed: int = 1) -> list[tuple[bytes, bool]]:
    """Every datagram of several in-memory runs, with whether it went to the server side."""
    rng = random.Random(seed)
    out: list[tuple[bytes, bool]] = []
    servers = frozenset((S1, S2, S3))

    def wire_for(c: Endpoint, s: Endpoint, loss: float = 0.0, hole: str = "") -> Wire:
        lrng = random.Random(rng.getrandbits(32))
        return Wire(
            [c, s],
            drop=lambda src, dst: dst[0] == hole or src[0] == hole or lrng.random() < loss,
            record=out,
            to_server=servers,
        )

    # 1. handshake and transfer with 10% loss (gap blocks, duplicates, fast and T3
    # retransmissions, fragments, unordered messages), then a graceful shutdown.
    c, s = _pair(rng.getrandbits(30))
    wi = wire_for(c, s, loss=0.1)
    aid = c.connectx([(S1, SPORT), (S2, SPORT)], 0.0)
    wi.advance(5.0)
    _transfer(wi, c, aid, rng, 120, 20.0)
    sid = next(iter(s.associations))
    _transfer(wi, s, sid, rng, 40, 10.0)
    c.shutdown(aid, wi.now)
    wi.advance(wi.now + 30.0)
    wi.drain()

    # 2. heartbeats on an idle association, then one path black-holed (timeouts, PF).
    c, s = _pair(rng.getrandbits(30))
    hole = ""
    wi = wire_for(c, s)
    aid = c.connectx([(S1, SPORT), (S2, SPORT)], 0.0)
    wi.advance(100.0)
    wi.drop = lambda src, dst: dst[0] == S2 or src[0] == S2
    _transfer(wi, c, aid, rng, 10, 5.0)
    wi.advance(wi.now + 150.0)
    wi.drain()
    del hole

    # 3. PR-SCTP: messages with a lifetime or no retransmission over 30% loss: FORWARD TSN.
    c, s = _pair(rng.getrandbits(30))
    wi = wire_for(c, s, loss=0.3)
    aid = c.connectx([(S1, SPORT)], 0.0)
    wi.advance(10.0)
    _transfer(wi, c, aid, rng, 60, 20.0, ttl=0.05)
    _transfer(wi, c, aid, rng, 60, 20.0, max_retransmissions=0)
    wi.drain()

    # 4. the server shuts down; 5. the client aborts with a reason.
    c, s = _pair(rng.getrandbits(30))
    wi = wire_for(c, s)
    aid = c.connectx([(S1, SPORT), (S2, SPORT)], 0.0)
    wi.advance(1.0)
    _transfer(wi, c, aid, rng, 5, 1.0)
    s.shutdown(next(iter(s.associations)), wi.now)
    wi.advance(wi.now + 5.0)
    c, s = _pair(rng.getrandbits(30))
    wi = wire_for(c, s)
    aid = c.connectx([(S1, SPORT)], 0.0)
    wi.advance(1.0)
    _transfer(wi, s, next(iter(s.associations)), rng, 5, 1.0)
    c.abort(aid, wi.now, b"fuzz corpus: goodbye")
    wi.advance(wi.now + 5.0)

    # 6. a stale cookie: the COOKIE ECHO held back past the cookie's life.
    c, s = _pair(rng.getrandbits(30))
    held: list[tuple[bytes, Addr, Addr]] = []
    wi = wire_for(c, s)
    wi.drop = lambda src, dst: dst[0] == S1 and c.association(aid).state is State.COOKIE_ECHOED
    aid = c.connectx([(S1, SPORT)], 0.0, init_stagger=0)
    wi.pump(0.0)
    held = [(d, (C1, UDP), (S1, UDP)) for d in wi.sent[0][-1:]]
    for data, src, dst in held:
        s.receive(data, src, dst, 70.0)
    wi.pump(70.0)
    wi.advance(75.0)

    # 7. out of the blue: DATA to a listener without an association; INIT to a closed port.
    c, s = _pair(rng.getrandbits(30))
    wi = wire_for(c, s)
    ootb = w.encode_packet(w.Packet(CPORT, SPORT, 0x1234, [w.DataChunk(7, 0, 0, 0, b"blue")]))
    s.receive(ootb, (C1, UDP), (S1, UDP), 0.0)
    quiet = Endpoint(SPORT, [S3], rng=random.Random(rng.getrandbits(30)))
    init = w.encode_packet(w.Packet(CPORT, SPORT, 0, [w.InitChunk(99, 65536, 5, 5, 1, ())]))
    quiet.receive(init, (C1, UDP), (S3, UDP), 0.0)
    for data, _s, dst in [*s.datagrams_to_send(0.0), *quiet.datagrams_to_send(0.0)]:
        out.append((data, dst[0] in servers))
    return out


# ----------------------------------------------------------------------------- bounds


def check_bounds(ep: Endpoint, where: str) -> None:
    """What one endpoint holds stays bounded whatever it was fed."""
    if len(ep.associations) > MAX_ASSOCS:
        raise FuzzFailure(f"{where}: {len(ep.associations)} associations")
    if len(ep.ctx.events) > MAX_EVENTS:
        raise FuzzFailure(f"{where}: {len(ep.ctx.events)} events queued")
    if len(ep.ctx.out) > 1000:
        raise FuzzFailure(f"{where}: {len(ep.ctx.out)} datagrams queued")
    for a in ep.associations.values():
        check_association(a, where)


def check_association(a: Association, where: str) -> None:
    if len(a.paths) > MAX_PATHS:
        raise FuzzFailure(f"{where}: association {a.id} has {len(a.paths)} paths")
    if len(a.timers._at) > 8 * len(a.paths) + 16:
        raise FuzzFailure(f"{where}: association {a.id} runs {len(a.timers._at)} timers")
    d = a.data
    if d is None:
        return
    r = d.receiver
    r.check_invariants()
    if r.buffered > r.buffer_limit + 65536:
        raise FuzzFailure(f"{where}: receiver holds {r.buffered} bytes")
    if r.tsn_map.held_count() > r.max_tsn_span + 1:
        raise FuzzFailure(f"{where}: TSN map holds {r.tsn_map.held_count()} TSNs")
    if len(d.sender.outstanding) > 100_000:
        raise FuzzFailure(f"{where}: {len(d.sender.outstanding)} chunks outstanding")


# ----------------------------------------------------------------------------- the runner


@dataclass
class Found:
    """One exception out of the core: everything needed to look at it again."""

    target: str
    seed: int
    index: int
    call: str
    input_hex: str
    error: str
    trace: str

    def __str__(self) -> str:
        return (
            f"[{self.target} seed={self.seed} packet={self.index}] {self.call}: {self.error}\n"
            f"input: {self.input_hex}\n{self.trace}"
        )


@dataclass
class Report:
    packets: Counter[str] = field(default_factory=Counter)
    found: list[Found] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def merge(self, other: Report) -> None:
        self.packets.update(other.packets)
        self.found.extend(other.found)
        for k, v in other.stats.items():  # counts add up; maxima stay maxima
            self.stats[k] = max(self.stats[k], v) if " max " in k else self.stats[k] + v
        self.seconds = max(self.seconds, other.seconds)

    @property
    def total(self) -> int:
        return sum(self.packets.values())


def _by_kind(packets: list[bytes]) -> list[list[bytes]]:
    groups: dict[int, list[bytes]] = {}
    for d in packets:
        groups.setdefault(d[12] if len(d) > 12 else -1, []).append(d)
    return list(groups.values())


class _Crash(Exception):
    """Wraps an exception out of the core so the target can be rebuilt."""

    def __init__(self, found: Found) -> None:
        super().__init__(found.error)
        self.found = found


# A fork of the established target's main pair is a child process (os.fork) where there is
# one: an exact copy of the state, whichever build of the core runs (mypyc's compiled
# classes cannot be deep-copied), which also survives a crash of the interpreter in the
# fork. Elsewhere it is a deep copy (pure-Python core only).
FORK_IN_PROCESS = hasattr(os, "fork")


@dataclass
class Forked:
    """A fork running in a child process: its pid and the pipe its report comes on."""

    pid: int
    fd: int


def start_fork(body: Callable[[], Report]) -> Forked:
    """Run ``body`` in a child process; :func:`join_fork` gives its report."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid:
        os.close(wfd)
        return Forked(pid, rfd)
    try:  # the child: never returns to the caller
        os.close(rfd)
        gc.freeze()  # its collections then leave the parent's pages alone (copy-on-write)
        try:
            outcome: tuple[str, object] = ("report", body())
        except FuzzFailure as e:
            outcome = ("failure", str(e))
        except BaseException:
            outcome = ("error", traceback.format_exc())
        with os.fdopen(wfd, "wb") as f:
            f.write(pickle.dumps(outcome))
    finally:
        os._exit(0)


def join_fork(child: Forked, target: str, seed: int, index: int) -> Report:
    """The fork's report; a FuzzFailure in it is raised; a child that died is a finding."""
    with os.fdopen(child.fd, "rb") as f:
        data = f.read()
    _pid, status = os.waitpid(child.pid, 0)
    if not data:
        report = Report()
        how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit status {os.waitstatus_to_exitcode(status)}")  # fmt: skip
        report.found.append(Found(target, seed, index, "fork (child process)", "",
                                  f"the fork's process died: {how}", ""))  # fmt: skip
        return report
    kind, value = pickle.loads(data)
    if kind == "failure":
        raise FuzzFailure(f"in a fork: {value}")
    if kind == "error":
        raise RuntimeError(f"the fork's harness failed:\n{value}")
    assert isinstance(value, Report)
    return value


class Target:
    """Shared plumbing: guarded calls, time, corpus picks."""

    name = ""

    def __init__(self, seed: int, corpus: list[tuple[bytes, bool]], report: Report) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.corpus = corpus
        self.pool = [d for d, _ in corpus]
        self.to_server = _by_kind([d for d, s in corpus if s])
        self.to_client = _by_kind([d for d, s in corpus if not s])
        self.everything = _by_kind(self.pool)
        self.report = report
        self.index = 0

    def guard(self, call: str, data: bytes, fn: Callable[[], object]) -> None:
        try:
            fn()
        except FuzzFailure:
            raise
        except Exception as e:
            found = Found(self.name, self.seed, self.index, call, data.hex(), repr(e),
                          traceback.format_exc())  # fmt: skip
            raise _Crash(found) from e

    def pick(self, side: list[list[bytes]]) -> bytes:
        """A corpus packet: its first chunk's type first (uniformly), so rare kinds (a
        Stale Cookie ERROR, SHUTDOWN COMPLETE) come as often as DATA; mostly to this side."""
        groups = side if self.rng.random() < 0.85 else self.everything
        return self.rng.choice(self.rng.choice(groups))

    def step(self) -> None:
        raise NotImplementedError

    def check(self) -> None:
        raise NotImplementedError

    def rebuild(self) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """The last checks after the run."""
        self.check()

    def run(self, packets: int) -> None:
        """Until ``packets`` inputs were delivered (a mutant the established target keeps
        from its main pair counts when a fork takes it)."""
        done = steps = 0
        while done < packets and steps < 4 * packets + 100:
            before = self.report.packets[self.name]
            try:
                self.step()
                if self.index // CHECK_EVERY != (self.index + 1) // CHECK_EVERY:
                    self.check()
            except _Crash as c:
                self.report.found.append(c.found)
                self.rebuild()
            self.index += 1
            steps += 1
            done += self.report.packets[self.name] - before
        try:
            self.finish()
        except _Crash as c:
            self.report.found.append(c.found)


# ----- (a) a listening endpoint


class ListenerTarget(Target):
    name = "listener"
    LIFE = 3000  # packets before a new listener (its clock restarts; cookies stay fresh)

    def __init__(self, seed: int, corpus: list[tuple[bytes, bool]], report: Report) -> None:
        super().__init__(seed, corpus, report)
        self.inits = [d for d in self.pool if len(d) > 32 and d[12] == 1]
        self.rebuild()

    def rebuild(self) -> None:
        self.ep = Endpoint(SPORT, [S1, S2], rng=random.Random(self.rng.getrandbits(32)))
        self.ep.listen()
        self.now = 0.0
        self.born = self.index
        self.sent: list[bytes] = []

    def _src(self) -> Addr:
        r = self.rng.random()
        if r < 0.8:
            ip = C1 if r < 0.5 else C2
        else:
            ip = f"198.18.{self.rng.randrange(1, 4)}.{self.rng.randrange(1, 9)}"
        return ip, UDP if self.rng.random() < 0.9 else self.rng.randrange(65536)

    def feed(self, data: bytes, src: Addr) -> None:
        self.report.packets[self.name] += 1
        dst = (self.rng.choice((S1, S2)), UDP)
        self.guard("receive", data, lambda: self.ep.receive(data, src, dst, self.now))

    def outputs(self) -> list[tuple[bytes, Addr, Addr]]:
        out: list[tuple[bytes, Addr, Addr]] = []
        self.guard(
            "datagrams_to_send", b"", lambda: out.extend(self.ep.datagrams_to_send(self.now))
        )
        self.guard("next_event", b"", lambda: self._drain())
        self.sent = ([d for d, _s, _d in out] + self.sent)[:8]
        return out

    def _drain(self) -> None:
        while self.ep.next_event() is not None:
            pass

    def handshake(self) -> None:
        """A live INIT, then a COOKIE ECHO with the cookie we are answered, maybe mutated."""
        rng = self.rng
        # From a few addresses and ports only: each pair of them may hold one association.
        src = (rng.choice(HANDSHAKE_IPS), UDP)
        cport = rng.choice((CPORT, CPORT, CPORT + 1, CPORT + 2))
        init = retag(rng.choice(self.inits), cport, SPORT, 0)
        if rng.random() < 0.5:  # a new Initiate Tag: a restart if it meets an association
            struct.pack_into("!I", init, 16, rng.getrandbits(32))
        if rng.random() < 0.3:
            init = mutate(rng, init, self.pool)
            if len(init) >= 2:
                struct.pack_into("!H", init, 0, cport)
        self.feed(finish(rng, init), src)
        for echo in cookie_echoes(rng, self.outputs(), self.pool):
            self.report.stats["listener live handshakes"] += 1
            self.feed(echo, src)

    def step(self) -> None:
        rng = self.rng
        if self.index - self.born > self.LIFE:
            self.check()
            self.rebuild()
        self.now += rng.choice((0.0, 0.001, 0.01, 0.1, 0.5))
        r = rng.random()
        if r < 0.15:
            self.handshake()
        elif r < 0.2 and self.sent:  # an ICMP error quoting what we sent
            quoted = bytes(mutate(rng, rng.choice(self.sent), self.pool))[: rng.randrange(0, 80)]
            kind = rng.choice(list(UnreachableKind))
            dst = (rng.choice((C1, C2, STRANGER)), UDP)
            self.report.packets[self.name] += 1
            ep = self.ep
            self.guard("receive_unreachable", quoted,
                       lambda: ep.receive_unreachable(dst, kind, quoted, self.now))  # fmt: skip
        else:
            data = bytearray(self.pick(self.to_server))
            assocs = list(self.ep.associations.values())
            src = self._src()
            if assocs and rng.random() < 0.7:  # as from the peer of an association
                a = rng.choice(assocs)
                ips = list(a.paths) or [src[0]]
                src = (rng.choice(ips), src[1])
                vtag = a.local_tag if rng.random() < 0.9 else a.peer_tag
                data = retag(data, a.peer_port, SPORT, vtag)
                self.report.stats["listener to an association"] += 1
            elif len(data) >= 12 and rng.random() < 0.9:
                struct.pack_into("!H", data, 2, SPORT)
            self.feed(finish(rng, mutate(rng, data, self.pool)), src)
        self.outputs()
        self.guard("handle_timer", b"", lambda: self.ep.handle_timer(self.now))
        self.guard("get_timer", b"", lambda: self.ep.get_timer())
        self.outputs()
        self.report.stats["listener max associations"] = max(
            self.report.stats["listener max associations"], len(self.ep.associations)
        )

    def check(self) -> None:
        check_bounds(self.ep, "listener")
        # Each (address, port) of HANDSHAKE_IPS x 3 ports holds at most one association.
        if len(self.ep.associations) > len(HANDSHAKE_IPS) * 3:
            raise FuzzFailure(f"listener: {len(self.ep.associations)} associations")


# ----- (b) an established association carrying data


class Traffic:
    """Messages one way: what was sent, what must come next per stream, what arrived."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.ordered: dict[int, deque[tuple[int, bytes]]] = {}
        self.unordered: dict[bytes, int] = {}
        self.sent = 0
        self.delivered = 0

    def expect(self, stream: int, ppid: int, data: bytes, unordered: bool) -> None:
        self.sent += 1
        if unordered:
            self.unordered[data] = self.unordered.get(data, 0) + 1
        else:
            self.ordered.setdefault(stream, deque()).append((ppid, data))

    def arrived(self, ev: DataReceived) -> None:
        if not ev.complete:
            raise FuzzFailure(f"{self.label}: a partial delivery of {len(ev.data)} bytes")
        if ev.unordered:
            n = self.unordered.get(ev.data, 0)
            if n == 0:
                raise FuzzFailure(f"{self.label}: unordered, never sent: {ev.data[:32]!r}")
            if n == 1:
                del self.unordered[ev.data]
            else:
                self.unordered[ev.data] = n - 1
        else:
            q = self.ordered.get(ev.stream_id)
            if not q:
                raise FuzzFailure(f"{self.label}: stream {ev.stream_id}: a message never sent")
            ppid, data = q.popleft()
            if ev.data != data or ev.ppid != ppid:
                raise FuzzFailure(
                    f"{self.label}: stream {ev.stream_id}: got {ev.data[:24]!r} "
                    f"({len(ev.data)} bytes, ppid {ev.ppid}), expected {data[:24]!r} "
                    f"({len(data)} bytes, ppid {ppid})"
                )
        self.delivered += 1

    def missing(self) -> int:
        return sum(len(q) for q in self.ordered.values()) + sum(self.unordered.values())


class Pair:
    """An established association between two endpoints, carrying messages both ways."""

    def __init__(self, seed: int) -> None:
        cfg = Config(hb_interval=5.0)
        self.a, self.b = _pair(seed, cfg=cfg)
        self.wire = Wire([self.a, self.b])
        self.aid = self.a.connectx([(S1, SPORT), (S2, SPORT)], 0.0)
        self.wire.advance(1.0)
        if len(self.b.associations) != 1:
            raise FuzzFailure("the pair did not come up")
        self.bid = next(iter(self.b.associations))
        self.wire.drain()
        self.to_b, self.to_a = Traffic("A->B"), Traffic("B->A")
        self.msg = 0
        self.strict = True  # the main pair: any loss or end of the association is a failure

    def side(self, ep: Endpoint) -> tuple[Endpoint, int, Endpoint]:
        """(the victim, its association id, the other endpoint)"""
        return (self.a, self.aid, self.b) if ep is self.a else (self.b, self.bid, self.a)

    def assoc(self, ep: Endpoint) -> Association | None:
        return ep.associations.get(self.aid if ep is self.a else self.bid)

    def send_one(self, rng: random.Random) -> None:
        frm = rng.choice((self.a, self.b))
        _v, aid, to = self.side(frm)
        a = self.assoc(frm)
        if a is None or a.state is not State.ESTABLISHED:
            return
        s = a.data.sender if a.data is not None else None
        if s is None or s.queued_bytes + s.flight() > 50_000:
            # Never more than the peer's window can hold (131072) even if it reads nothing
            # for a while: a forged SACK's a_rwnd cannot then make it drop real data.
            return
        self.msg += 1
        stream = rng.randrange(4)
        unordered = rng.random() < 0.15
        size = rng.choice((1, 10, 100, 500, 1200, 1452, 2000, 3000))
        head = struct.pack("!cII", b"A" if frm is self.a else b"B", self.msg, size)
        data = (head + rng.randbytes(size))[: max(size, len(head))]
        ppid = self.msg & 0xFFFF
        frm.send(aid, data, self.wire.now, stream=stream, ppid=ppid, unordered=unordered)
        self.flow(to).expect(stream, ppid, data, unordered)

    def flow(self, receiver: Endpoint) -> Traffic:
        return self.to_b if receiver is self.b else self.to_a

    @property
    def flows(self) -> tuple[Traffic, Traffic]:
        return self.to_b, self.to_a

    def events(self) -> None:
        for ep in (self.a, self.b):
            while (ev := ep.next_event()) is not None:
                if isinstance(ev, DataReceived):
                    if self.strict:
                        self.flow(ep).arrived(ev)
                elif self.strict and isinstance(ev, (AssocChange, SendFailed)):
                    raise FuzzFailure(f"main pair: {ev}")

    def verify_complete(self) -> None:
        for flow in self.flows:
            if flow.missing():
                raise FuzzFailure(f"{flow.label}: {flow.missing()} of {flow.sent} messages missing")

    def settle(self, until: float) -> None:
        step = 0.05
        end = self.wire.now + until
        while self.wire.now < end:
            self.wire.advance(self.wire.now + step)
            self.events()
            if all(f.missing() == 0 for f in self.flows) and self.strict:
                break
            step = min(step * 1.5, 2.0)


def destructive(pkt: w.Packet, victim: Association, other: Association | None) -> bool:
    """Could a correct peer change what the association delivers with this packet?"""
    d = victim.data
    for c in pkt.chunks:
        if isinstance(
            c,
            (w.AbortChunk, w.ShutdownChunk, w.ShutdownAckChunk, w.ShutdownCompleteChunk,
             w.ForwardTsnChunk, w.IForwardTsnChunk),
        ):  # fmt: skip
            return True
        if isinstance(c, w.IDataChunk) is not victim.interleaving and isinstance(
            c, (w.DataChunk, w.IDataChunk)
        ):  # the kind not negotiated: a Protocol Violation ABORT (RFC 8260 §2.2.3)
            return True
        if isinstance(c, (w.DataChunk, w.IDataChunk)):
            if not c.user_data or d is None:
                return True
            if tsn_lt(d.receiver.cum_tsn, c.tsn):
                return True  # a new TSN: the real one would be taken for a duplicate
        if isinstance(c, w.InitChunk) and other is not None and c.initiate_tag == other.local_tag:
            return True
    return False


class EstablishedTarget(Target):
    name = "established"

    def __init__(self, seed: int, corpus: list[tuple[bytes, bool]], report: Report) -> None:
        super().__init__(seed, corpus, report)
        self.diverted: deque[tuple[bytes, bool, Addr, Addr]] = deque(maxlen=64)
        self.inits = [d for d in self.pool if len(d) > 32 and d[12] == 1]
        self.main = Pair(self.rng.getrandbits(30))
        self.since_fork = 0
        self.child: Forked | None = None

    def rebuild(self) -> None:
        # A crash leaves the pair in an unknown state: start again (the crash is recorded).
        self.main = Pair(self.rng.getrandbits(30))
        self.diverted.clear()

    def make(self, pair: Pair, to_b: bool) -> tuple[bytes, Addr, Addr]:
        """A mutant for one side of ``pair``, as from the other side."""
        rng = self.rng
        victim, _vid, other = (pair.b, pair.bid, pair.a) if to_b else (pair.a, pair.aid, pair.b)
        va, oa = pair.assoc(victim), pair.assoc(other)
        data = bytearray(self.pick(self.to_server if to_b else self.to_client))
        vtag = va.local_tag if va is not None else 0
        if va is not None and rng.random() < 0.08:
            vtag = rng.choice((va.peer_tag, 0, va.local_tag ^ 1))
        data = retag(data, other.port, victim.port, vtag)
        if va is not None and va.data is not None and rng.random() < 0.85:
            rebase(rng, data, va)
        data = mutate(rng, data, self.pool)
        src = (rng.choice(other.addresses) if rng.random() < 0.95 else STRANGER,
               UDP if rng.random() < 0.95 else rng.randrange(1, 65536))  # fmt: skip
        dst = (rng.choice(victim.addresses), UDP)
        del oa
        return finish(rng, data), src, dst

    def deliver(self, pair: Pair, data: bytes, to_b: bool, src: Addr, dst: Addr) -> None:
        victim = pair.b if to_b else pair.a
        self.report.packets[self.name] += 1
        now = pair.wire.now
        self.guard("receive", data, lambda: victim.receive(data, src, dst, now))
        self.guard("datagrams_to_send/receive (peer)", data, lambda: pair.wire.pump())
        self.guard("next_event", data, lambda: pair.events())

    def icmp(self, pair: Pair) -> None:
        rng = self.rng
        victim = rng.choice((pair.a, pair.b))
        sent = pair.wire.sent[0 if victim is pair.a else 1]
        if not sent:
            return
        quoted = bytes(mutate(rng, rng.choice(sent), self.pool))[: rng.randrange(0, 80)]
        _v, _id, other = pair.side(victim)
        dst = (rng.choice(other.addresses), UDP)
        kind = rng.choice(list(UnreachableKind))
        self.report.packets[self.name] += 1
        now = pair.wire.now
        self.guard("receive_unreachable", quoted,
                   lambda: victim.receive_unreachable(dst, kind, quoted, now))  # fmt: skip
        self.guard("datagrams_to_send/receive (peer)", quoted, lambda: pair.wire.pump())

    def tick(self, pair: Pair) -> None:
        rng = self.rng
        for _ in range(rng.choice((0, 1, 1, 2))):
            self.guard("send (real traffic)", b"", lambda: pair.send_one(rng))
        self.guard("handle_timer", b"", lambda: pair.wire.advance(
            pair.wire.now + rng.choice((0.0, 0.001, 0.01, 0.05, 0.3))))  # fmt: skip
        self.guard("next_event", b"", lambda: pair.events())

    def step(self) -> None:
        rng, pair = self.rng, self.main
        self.tick(pair)
        if rng.random() < 0.05:
            self.icmp(pair)
            return
        to_b = rng.random() < 0.6
        data, src, dst = self.make(pair, to_b)
        victim, _vid, other = (pair.b, pair.bid, pair.a) if to_b else (pair.a, pair.aid, pair.b)
        va, oa = pair.assoc(victim), pair.assoc(other)
        try:
            pkt = w.decode_packet(data)
            self.report.stats["established mutants that decode"] += 1
        except w.ParseError:
            pkt = None
        if pkt is not None and va is not None and pkt.chunks and destructive(pkt, va, oa):
            self.diverted.append((data, to_b, src, dst))
            self.report.stats["established diverted to forks"] += 1
        else:
            self.deliver(pair, data, to_b, src, dst)
            self.report.stats["established to the main pair"] += 1
        self.since_fork += 1
        if self.since_fork >= FORK_EVERY:
            self.since_fork = 0
            self.fork()

    def fork(self) -> None:
        """A copy of the main pair takes the diverted mutants and a burst of any kind; settles.

        The copy is a child process (:func:`start_fork`): the whole state of the pair, of
        whichever build of the core (compiled classes cannot be deep-copied), and the child
        runs while the main pair goes on; its report is merged at the next fork or the end.
        """
        queue = list(self.diverted)
        self.diverted.clear()
        self.report.stats["established forks"] += 1
        seed = self.rng.getrandbits(64)
        self.join_fork()  # one fork at a time
        if FORK_IN_PROCESS:
            self.child = start_fork(lambda: self._in_fork(self.main, queue, seed))
        else:
            self.report.merge(self._in_fork(copy.deepcopy(self.main), queue, seed))

    def join_fork(self) -> None:
        """Merge the running fork's report (a FuzzFailure in it is raised here)."""
        if self.child is not None:
            child, self.child = self.child, None
            self.report.merge(join_fork(child, self.name, self.seed, self.index))

    def _in_fork(self, f: Pair, queue: list[tuple[bytes, bool, Addr, Addr]], seed: int) -> Report:
        """The fork's run (on a copy of the main pair); what it found, as a report of its own."""
        own = self.rng, self.report
        self.rng, self.report = random.Random(seed), Report()
        try:
            self._fork_run(f, queue)
            return self.report
        finally:
            self.rng, self.report = own

    def _fork_run(self, f: Pair, queue: list[tuple[bytes, bool, Addr, Addr]]) -> None:
        rng = self.rng
        f.strict = False
        try:
            for i in range(len(queue) + FORK_BURST):
                self.tick(f)
                if rng.random() < 0.1:
                    self.collide(f)
                    continue
                if i < len(queue):
                    data, to_b, src, dst = queue[i]
                else:
                    to_b = rng.random() < 0.6
                    data, src, dst = self.make(f, to_b)
                self.deliver(f, data, to_b, src, dst)
            self.guard("handle_timer (fork settling)", b"", lambda: f.settle(MAX_SETTLE))
            for ep in (f.a, f.b):
                check_bounds(ep, "established fork")
                for a in ep.associations.values():
                    if a.state is State.CLOSED:
                        raise FuzzFailure("a closed association left in the table")
            ended = sum(1 for ep in (f.a, f.b) if not ep.associations)
            self.report.stats["established forks ended"] += ended > 0
            for ep, other in ((f.a, f.b), (f.b, f.a)):
                if not ep.associations:  # the tables are clean: the peer is unknown again
                    for ip in other.addresses:
                        if ep.find((ip, other.port)) is not None:
                            raise FuzzFailure("a closed association still found by address")
        except _Crash as c:
            self.report.found.append(c.found)

    def collide(self, pair: Pair) -> None:
        """An INIT from the peer's address (a restart or a collision, §5.2), then the COOKIE
        ECHO of the INIT ACK it drew: the cases of §5.2.4 on a live association."""
        rng = self.rng
        to_b = rng.random() < 0.6
        victim, _vid, other = (pair.b, pair.bid, pair.a) if to_b else (pair.a, pair.aid, pair.b)
        oa = pair.assoc(other)
        init = retag(rng.choice(self.inits), other.port, victim.port, 0)
        tag = oa.local_tag if oa is not None and rng.random() < 0.4 else rng.getrandbits(32)
        struct.pack_into("!I", init, 16, tag)
        if rng.random() < 0.2:
            init = mutate(rng, init, self.pool)
        src, dst = (rng.choice(other.addresses), UDP), (rng.choice(victim.addresses), UDP)
        data = finish(rng, init)
        k = 1 if to_b else 0
        mark = pair.wire.count[k]
        self.deliver(pair, data, to_b, src, dst)
        new = min(pair.wire.count[k] - mark, len(pair.wire.sent[k]))
        replies = [(d, dst, src) for d in pair.wire.sent[k][-new:]] if new else []
        self.report.stats["established collisions"] += 1
        for echo in cookie_echoes(rng, replies, self.pool):
            self.report.stats["established collision cookies"] += 1
            self.deliver(pair, echo, to_b, src, dst)

    def check(self) -> None:
        for ep in (self.main.a, self.main.b):
            check_bounds(ep, "established")
            a = self.main.assoc(ep)
            if a is None or a.state is not State.ESTABLISHED:
                raise FuzzFailure(f"the main pair's association is gone: {a and a.state}")

    def finish(self) -> None:
        """After the fuzzing: a last batch each way, and everything delivered intact."""
        self.join_fork()
        pair = self.main
        rng = random.Random(self.seed ^ 0x5EED)
        for _ in range(200):
            self.guard("send (last batch)", b"", lambda: pair.send_one(rng))
            self.guard("handle_timer (last batch)", b"",
                       lambda: pair.wire.advance(pair.wire.now + 0.01))  # fmt: skip
            self.guard("next_event", b"", lambda: pair.events())
        self.guard("handle_timer (last batch)", b"", lambda: pair.settle(MAX_SETTLE))
        self.check()
        pair.verify_complete()
        for flow in pair.flows:
            self.report.stats[f"established messages {flow.label}"] += flow.delivered


def rebase(rng: random.Random, d: bytearray, a: Association) -> None:
    """Move TSN, SSN and cumulative-ack fields near the victim's current values."""
    dp = a.data
    if dp is None:
        return
    cum = dp.receiver.cum_tsn
    snd = dp.sender
    low, high = snd.tsn(snd.cum_seq), snd.tsn(snd.next_seq - 1)
    span = (high - low) & MASK32
    k, tsn = 0, cum
    for off, size in chunk_spans(d):
        ctype = d[off]
        if ctype == 0 and size >= 16:  # DATA: TSN near the receiver's cumulative TSN ack,
            # the chunks of one packet consecutive
            tsn = (tsn + (rng.choice((-1, 0, 0, 1, 1, 2, 3, 4)) if k == 0 else 1)) & MASK32
            struct.pack_into("!I", d, off + 4, tsn)
            if rng.random() < 0.7:
                sid = d[off + 8] << 8 | d[off + 9]
                ssn = dp.receiver.next_ssn(sid) + rng.choice((-1, 0, 0, 1, 2))
                struct.pack_into("!H", d, off + 10, ssn & 0xFFFF)
            k += 1
        elif ctype in (3, 7) and size >= 8:  # SACK, SHUTDOWN: a cumulative TSN ack we sent
            ack = (low + rng.randint(-2, span + 2)) & MASK32
            struct.pack_into("!I", d, off + 4, ack)
        elif ctype == 192 and size >= 8:  # FORWARD TSN: near the cumulative TSN ack
            struct.pack_into("!I", d, off + 4, (cum + rng.randint(-2, 8)) & MASK32)


# ----- (c) a client in set-up


class ClientTarget(Target):
    name = "client"

    def __init__(self, seed: int, corpus: list[tuple[bytes, bool]], report: Report) -> None:
        super().__init__(seed, corpus, report)
        self.rebuild()

    def rebuild(self) -> None:
        rng = self.rng
        self.born = self.index
        self.life = rng.choice((2, 5, 10, 20, 40))  # packets for this client
        self.now = 0.0
        stagger = rng.choice((0.0, 0.25))
        self.ep = Endpoint(CPORT, [C1, C2], rng=random.Random(rng.getrandbits(32)))
        # The live server's addresses are those its INIT ACK lists (IACK-03..06).
        addrs = rng.choice(([S1, S2, S3], [S1], [S2], [S2, S3], [S3]))
        self.server = Endpoint(SPORT, addrs, rng=random.Random(rng.getrandbits(32)))
        self.server.listen()
        listed = rng.choice(([S1, S2], [S1], [S2, S1, "198.18.9.9"]))
        self.aid = self.ep.connectx([(ip, SPORT) for ip in listed], 0.0, init_stagger=stagger)
        self.connected = rng.random() < 0.3  # really talking to the server meanwhile
        self.sent: list[bytes] = []
        self.live: list[bytes] = []
        first = self.outputs(route=False)
        a = self.ep.associations[self.aid]
        self.tag = a.local_tag
        for data, src, _dst in first:  # the live server answers the INIT: a real INIT ACK
            self.server.receive(data, src, (addrs[0], UDP), 0.0)
        self.live = [d for d, _s, _d in self.server.datagrams_to_send(0.0)]
        if self.live and rng.random() < 0.35:  # COOKIE-ECHOED
            self.report.packets[self.name] += 1
            live, frm = self.live[0], (rng.choice(addrs), UDP)
            self.guard("receive", live, lambda: self.ep.receive(live, frm, (C1, UDP), 0.0))
            self.outputs()

    def outputs(self, route: bool = True) -> list[tuple[bytes, Addr, Addr]]:
        out: list[tuple[bytes, Addr, Addr]] = []
        self.guard(
            "datagrams_to_send", b"", lambda: out.extend(self.ep.datagrams_to_send(self.now))
        )
        self.guard("next_event", b"", lambda: self._drain(self.ep))
        self.sent = ([d for d, _s, _d in out] + self.sent)[:8]
        if route and self.connected:
            for data, src, dst in out:
                if dst[0] in (S1, S2, S3):
                    self._to_server(data, src, dst)
            for data, src, dst in self.server.datagrams_to_send(self.now):
                if dst[0] in (C1, C2):
                    self.report.stats["client real packets from the server"] += 1
                    self._from_server(data, src, dst)
            self._drain(self.server)
            self.server.handle_timer(self.now)
        return out

    def _to_server(self, data: bytes, src: Addr, dst: Addr) -> None:
        self.guard("receive (the real server)", data,
                   lambda: self.server.receive(data, src, dst, self.now))  # fmt: skip

    def _from_server(self, data: bytes, src: Addr, dst: Addr) -> None:
        self.guard("receive (real server)", data,
                   lambda: self.ep.receive(data, src, dst, self.now))  # fmt: skip

    @staticmethod
    def _drain(ep: Endpoint) -> None:
        while ep.next_event() is not None:
            pass

    def step(self) -> None:
        rng = self.rng
        if self.index - self.born >= self.life or not self.ep.associations:
            self.check()
            self.rebuild()
        a = self.ep.associations.get(self.aid)
        if a is not None:
            self.report.stats[f"client packets in {a.state.value}"] += 1
        self.now += rng.choice((0.0, 0.01, 0.1, 0.3, 1.0))
        r = rng.random()
        if r < 0.12 and self.sent:  # ICMP about something it sent
            quoted = bytes(self.sent[0] if rng.random() < 0.5 else rng.choice(self.sent))
            if rng.random() < 0.6:
                quoted = bytes(mutate(rng, quoted, self.pool))
            quoted = quoted[: rng.choice((0, 4, 7, 8, 12, 16, 20, 64, len(quoted)))]
            kind = rng.choice(list(UnreachableKind))
            dst = (rng.choice((S1, S2, S3, "198.18.9.9", STRANGER)), UDP)
            self.report.packets[self.name] += 1
            ep = self.ep
            self.guard("receive_unreachable", quoted,
                       lambda: ep.receive_unreachable(dst, kind, quoted, self.now))  # fmt: skip
        elif r < 0.17:
            self.collide()
        else:
            waiting = a is not None and a.state is State.COOKIE_WAIT
            if self.live and rng.random() < (0.7 if waiting else 0.2):
                data = bytearray(rng.choice(self.live))
            else:
                data = bytearray(self.pick(self.to_client))
            tag = a.local_tag if a is not None else self.tag
            vtag = tag if rng.random() < 0.9 else rng.choice((0, tag ^ 0x100))
            data = retag(data, SPORT if rng.random() < 0.97 else CPORT, CPORT, vtag)
            data = mutate(rng, data, self.pool)
            r2 = rng.random()
            ip = S1 if r2 < 0.45 else S2 if r2 < 0.8 else S3 if r2 < 0.9 else STRANGER
            src = (ip, UDP if rng.random() < 0.9 else rng.randrange(65536))
            pkt = finish(rng, data)
            self.report.packets[self.name] += 1
            to = (rng.choice((C1, C2)), UDP)
            self.guard("receive", pkt, lambda: self.ep.receive(pkt, src, to, self.now))
        self.outputs()
        self.guard("handle_timer", b"", lambda: self.ep.handle_timer(self.now))
        self.guard("get_timer", b"", lambda: self.ep.get_timer())
        self.outputs()

    def collide(self) -> None:
        """An INIT from the server's side (§5.2.1 collision), then the COOKIE ECHO of the
        INIT ACK the client answers with."""
        rng = self.rng
        inits = [d for d in self.pool if len(d) > 32 and d[12] == 1]
        init = retag(rng.choice(inits), SPORT, CPORT, 0)
        if rng.random() < 0.3:
            init = mutate(rng, init, self.pool)
        data = finish(rng, init)
        src, dst = (rng.choice((S1, S2, S3)), UDP), (rng.choice((C1, C2)), UDP)
        self.report.packets[self.name] += 1
        self.report.stats["client collisions"] += 1
        self.guard("receive", data, lambda: self.ep.receive(data, src, dst, self.now))
        for echo in cookie_echoes(rng, self.outputs(route=False), self.pool):
            self.report.packets[self.name] += 1
            self.report.stats["client collision cookies"] += 1
            self.guard("receive", echo, lambda e=echo: self.ep.receive(e, src, dst, self.now))

    def check(self) -> None:
        check_bounds(self.ep, "client")
        if len(self.ep.associations) > 1:
            raise FuzzFailure(f"a client that connected once has {len(self.ep.associations)}")


TARGET_CLASSES: dict[str, type[Target]] = {
    "listener": ListenerTarget,
    "established": EstablishedTarget,
    "client": ClientTarget,
}

_CORPUS: list[tuple[bytes, bool]] | None = None


def corpus() -> list[tuple[bytes, bool]]:
    """The vectors (usrsctp's, as to either side) and every datagram of :func:`build_corpus`."""
    global _CORPUS
    if _CORPUS is None:
        vec = load_vectors()
        _CORPUS = [(d, True) for d in vec] + [(d, False) for d in vec] + build_corpus()
    return _CORPUS


def run(seed: int, packets: dict[str, int]) -> Report:
    """Fuzz each target with its number of packets; the report lists every exception."""
    report = Report()
    t0 = time.perf_counter()
    cp = corpus()
    for name, n in packets.items():
        if n:
            TARGET_CLASSES[name](seed, cp, report).run(n)
    report.seconds = time.perf_counter() - t0
    return report


def memory_growth(seed: int, name: str, packets: int) -> tuple[int, int]:
    """Traced bytes held over the first ``packets`` and over as many more (one target, one
    object): the median of a sample every 50 packets in each half. One sample swings by
    about 1 MB with the target's state at that moment (how many associations it holds
    just then; more so on the compiled core), so single end points do not tell growth
    from noise; a leak moves the second half's median by what it kept."""
    cp = corpus()
    report = Report()
    step = 50
    tracemalloc.start()
    try:
        t = TARGET_CLASSES[name](seed, cp, report)
        halves: list[list[int]] = [[], []]
        for half in halves:
            for _ in range(max(1, packets // step)):
                t.run(step)
                half.append(tracemalloc.get_traced_memory()[0])
        first, second = (sorted(h)[len(h) // 2] for h in halves)
    finally:
        tracemalloc.stop()
    if report.found:
        raise FuzzFailure("\n".join(str(f) for f in report.found))
    return first, second


def _worker(args: tuple[int, dict[str, int]]) -> Report:
    seed, packets = args
    return run(seed, packets)


def iter_shares(total: int, jobs: int) -> Iterator[dict[str, int]]:
    per = total // len(TARGETS)
    for j in range(jobs):
        share = {}
        for i, name in enumerate(TARGETS):
            n = per + (total - per * len(TARGETS) if i == 0 else 0)
            share[name] = n // jobs + (n % jobs if j == 0 else 0)
        yield share


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000, help="in all, over the 3 targets")
    ap.add_argument("--jobs", type=int, default=2, help="processes")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    corpus()
    shares = iter_shares(args.packets, args.jobs)
    work = [(args.seed + 1000 * j, share) for j, share in enumerate(shares)]
    if args.jobs > 1:
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            reports = pool.map(_worker, work)
    else:
        reports = [_worker(x) for x in work]
    total = Report()
    for r in reports:
        total.merge(r)
    wall = time.perf_counter() - t0
    print(f"sctpx endpoint fuzzer: seed {args.seed}, {args.jobs} processes, "
          f"corpus {len(corpus())} packets, {datetime.date.today()}, "
          f"{platform.python_implementation()} {platform.python_version()}")  # fmt: skip
    for name in TARGETS:
        print(f"  {name:12} {total.packets[name]:>9} packets")
    print(f"  {'total':12} {total.total:>9} packets in {wall:.1f} s ({total.total / wall:.0f}/s)")
    for k in sorted(total.stats):
        print(f"    {k}: {total.stats[k]}")
    print(f"  exceptions: {len(total.found)}")
    for f in total.found[:20]:
        print(f)
    return 1 if total.found else 0


if __name__ == "__main__":
    sys.exit(main())
