"""I-DATA (RFC 8260) with usrsctp: negotiated only when both offer it; then used both ways.

The usrsctp side is our usrsctp_reconf program (see test_reconfig.py), with ``-i`` when
it should offer I-DATA (SCTP_FRAGMENT_INTERLEAVE 2, SCTP_INTERLEAVING_SUPPORTED).
sctpx offers it with SCTP_FRAGMENT_INTERLEAVE 2 and SCTP_INTERLEAVING_SUPPORTED (RFC 8260
§4.3.1) and schedules round robin (SCTP_STREAM_SCHEDULER, §4.3.2).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .lab import A1, B1, SX_UDP, US_UDP, Lab
from .remote import C, Opt
from .test_reconfig import MSG, PORT, UsPeer, World, reconf_exe  # noqa: F401 - the fixture
from .usrsctp import Program

DATA, I_DATA = 0, 64
BIG, SMALL, SMALL_COUNT = 300_000, 100, 20


def fnv1a(data: bytes) -> str:
    """The 32-bit FNV-1a hash usrsctp_reconf prints of each message."""
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return f"{h:08x}"


def payload(tag: str, i: int, size: int) -> bytes:
    """What usrsctp_reconf's ``send`` makes (and we send): "TAG-00000i:" padded with '.'."""
    head = f"{tag}-{i:06d}:".encode()
    return head + b"." * max(0, size - len(head))


def start(lab: Lab, exe: Path, us_idata: bool) -> World:
    args = ["-i"] if us_idata else []
    prog: Program = lab.usrsctp(str(exe), "-E", str(US_UDP), "-U", str(SX_UDP), "-L", B1, "-p",
                                str(PORT), *args, stdin=True,
                                log="usrsctp_reconf.log")  # fmt: skip
    us = UsPeer(prog)
    us.wait("^READY$")
    lab.wait_udp_bound(lab.b, US_UDP, prog)
    s = lab.client(lab.sctpx(), bind=(A1,))
    s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_FRAGMENT_INTERLEAVE"), 2)
    s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_INTERLEAVING_SUPPORTED"),
                 Opt("AssocValue", assoc_id=0, assoc_value=1))  # fmt: skip
    s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_STREAM_SCHEDULER"),
                 Opt("AssocValue", assoc_id=0, assoc_value=C("SCTP_SS_RR")))  # fmt: skip
    aid = s.connectx([(B1, PORT)])
    return World(lab, s, int(aid), us)


def joined(events: list[Any]) -> list[tuple[int, bytes]]:
    """Whole messages (stream, data) in the order each was completed, parts joined."""
    parts: dict[int, bytes] = {}
    out: list[tuple[int, bytes]] = []
    for ev in events:
        if ev.type != "DataReceived":
            continue
        buf = parts.pop(ev.stream_id, b"") + bytes(ev.data)
        if ev.complete:
            out.append((ev.stream_id, buf))
        else:
            parts[ev.stream_id] = buf
    return out


def test_a_usrsctp_without_idata_keeps_us_on_data(lab: Lab, reconf_exe: Path) -> None:  # noqa: F811
    w = start(lab, reconf_exe, us_idata=False)
    up = w.us.wait(r"^UP .* supports=(\S*)$")
    assert "IDATA" not in up.group(1).split(","), up.group(0)
    for i in range(1, 4):
        w.s.sctp_send(payload("fwd", i, 3000), stream=1)  # 3000 bytes: fragmented
    w.us.wait_messages("fwd", 3)
    reader = w.s.job("collect", 3)
    w.us.command("send 1 3 3000 back")
    got = joined(reader.join(10))
    assert got == [(1, payload("back", i, 3000)) for i in (1, 2, 3)]
    rep = lab.finish()
    assert rep.wire.chunk_count(I_DATA) == 0  # RFC 8260 §2.2.1: only if both announced it
    assert rep.wire.chunk_count(DATA, src=A1) >= 6 and rep.wire.chunk_count(DATA, src=B1) >= 6


def test_a_idata_both_ways_with_usrsctp(lab: Lab, reconf_exe: Path) -> None:  # noqa: F811
    w = start(lab, reconf_exe, us_idata=True)
    up = w.us.wait(r"^UP .* supports=(\S*)$")
    assert "IDATA" in up.group(1).split(","), up.group(0)
    # ours: the large message first, the small ones behind it on another stream
    w.s.sctp_send(payload("big", 1, BIG), stream=0)
    for i in range(1, SMALL_COUNT + 1):
        w.s.sctp_send(payload("small", i, SMALL), stream=1)
    w.us.wait_messages("big", 1)
    w.us.wait_messages("small", SMALL_COUNT)
    msgs = [(int(m.group(1)), int(m.group(3)), m.group(0)) for m in MSG.finditer(w.us.prog.text())]
    fnv = {m.group(4).split(":")[0]: re.search(r"fnv=(\w+)", m.group(0)).group(1)  # type: ignore[union-attr]
           for m in MSG.finditer(w.us.prog.text())}  # fmt: skip
    assert fnv["big-000001"] == fnv1a(payload("big", 1, BIG))
    for i in range(1, SMALL_COUNT + 1):
        assert fnv[f"small-{i:06d}"] == fnv1a(payload("small", i, SMALL)), i
    order = [line.split("head=")[1].split(":")[0] for _sid, _len, line in msgs]
    assert order.index("small-000001") < order.index("big-000001"), order  # interleaved
    # theirs: the same the other way
    reader = w.s.job("events", 8.0)
    w.us.command("send 0 1 300000 big")
    w.us.command(f"send 1 {SMALL_COUNT} {SMALL} small")
    got = joined(reader.join(20))
    big = [(s, len(d), fnv1a(d)) for s, d in got if d.startswith(b"big-")]
    assert big == [(0, BIG, fnv1a(payload("big", 1, BIG)))]
    assert [(s, d) for s, d in got if d.startswith(b"small-")] == [
        (1, payload("small", i, SMALL)) for i in range(1, SMALL_COUNT + 1)]  # fmt: skip
    rep = lab.finish()
    assert rep.wire.chunk_count(DATA) == 0
    assert rep.wire.chunk_count(I_DATA, src=A1) > 200 and rep.wire.chunk_count(I_DATA, src=B1) > 200
