"""Set-up and data with usrsctp, both directions: echo, discard, tsctp bulk, IPv6, loss.

Direction A: sctpx (host a) is the client, a usrsctp server runs on host b.
Direction B: a usrsctp client on host b, an sctpx server on host a.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from pathlib import Path

import sctpx
from sctpx.testing import tshark_fields

from .lab import (
    A1,
    A2,
    A6,
    B1,
    B2,
    B6,
    DISCARD_PORT,
    ECHO_PORT,
    SX_UDP,
    TSCTP_PORT,
    US_UDP,
    WAIT,
    Lab,
)
from .remote import RemoteSocket
from .usrsctp import TSCTP_RESULT

BULK = 50 * 1024 * 1024  # bytes per tsctp transfer
# Random loss: each lost packet whose fast retransmission is lost too costs a T3
# (RTO.Min = 1 s, both stacks): 1 % over 4 MB keeps that to about one stall a run.
LOSS, LOSSY_BYTES = 0.01, 4 * 1024 * 1024


def messages(seed: int, count: int, sizes: tuple[int, ...]) -> list[tuple[bytes, int, int]]:
    """(data, stream, ppid) triples: random content, sizes and PPIDs over streams 0-9."""
    rng = random.Random(seed)
    return [(rng.randbytes(rng.choice(sizes)), rng.randrange(10), rng.randrange(1 << 32))
            for _ in range(count)]  # fmt: skip


def echo_round(s: RemoteSocket, msgs: list[tuple[bytes, int, int]]) -> None:
    """Send every message, read as many back: same content, stream and PPID, in stream order.

    The echoes are read while sending (as any echo client must: otherwise both
    receive windows fill and both sides wait for each other).
    """
    reader = s.job("collect", len(msgs))
    sent: dict[int, list[tuple[bytes, int]]] = {}
    for data, sid, ppid in msgs:
        s.sctp_send(data, stream=sid, ppid=ppid)
        sent.setdefault(sid, []).append((data, ppid))
    got: dict[int, list[tuple[bytes, int]]] = {}
    for ev in reader.join(WAIT):
        assert ev.type == "DataReceived", ev
        got.setdefault(ev.stream_id, []).append((ev.data, ev.ppid))
    assert got == sent


def wait_shutdown(s: RemoteSocket) -> None:
    """Graceful SHUTDOWN of the socket's association, returning once it is complete."""
    s.subscribe(sctpx.SCTP_ASSOC_CHANGE)
    s.shutdown()
    r = s.job("wait_event", "AssocChange", WAIT, state="SHUTDOWN_COMP").join(WAIT + 5)
    assert r.event is not None, f"no SHUTDOWN_COMP: {r.seen}"


# ----- A: sctpx client, usrsctp server -----


def test_a_connectx_both_addresses_echo(lab: Lab) -> None:
    lab.usrsctp_server("echo_server", str(US_UDP), str(SX_UDP))
    s = lab.client(lab.sctpx())
    aid = s.connectx([(B1, ECHO_PORT), (B2, ECHO_PORT)])
    assert aid not in (0, 1, 2)
    assert sorted(s.getpaddrs()) == [(B1, ECHO_PORT), (B2, ECHO_PORT)]  # B6: not for AF_INET
    for ip in (B1, B2):  # listed: confirmed at once, no HEARTBEAT needed
        assert s.addr_info(ip, ECHO_PORT).state == sctpx.SCTP_ACTIVE
    echo_round(s, messages(1, 300, (1, 7, 100, 1200, 1452, 3000, 10000)))
    wait_shutdown(s)
    rep = lab.finish()
    assert rep.wire.chunk_count(0, src=A1) >= 300  # DATA went out
    assert rep.wire.chunk_count(4, src=A1) + rep.wire.chunk_count(4, src=A2) == 0  # no HEARTBEAT


def test_a_ipv6_dual_stack_echo(lab: Lab) -> None:
    lab.usrsctp_server("echo_server", str(US_UDP), str(SX_UDP))
    s = lab.client(lab.sctpx(), family=6, bind=(A6, A1, A2))
    s.connectx([(B6, ECHO_PORT), (B1, ECHO_PORT)])
    assert sorted(s.getpaddrs()) == sorted([(B6, ECHO_PORT), (B1, ECHO_PORT), (B2, ECHO_PORT)])
    assert s.getpeername() == (B6, ECHO_PORT)  # the address the INIT ACK came from
    echo_round(s, messages(2, 100, (1, 500, 1200, 1400, 5000)))
    wait_shutdown(s)
    rep = lab.finish()
    assert rep.wire.chunk_count(0, src=A6, dst=B6) >= 100  # the data went over IPv6
    assert rep.wire.chunk_count(0, src=B6, dst=A6) >= 100


def test_a_discard_server_gets_every_message(lab: Lab) -> None:
    srv = lab.usrsctp_server("discard_server", str(US_UDP), str(SX_UDP))
    s = lab.client(lab.sctpx())
    s.connectx([(B1, DISCARD_PORT), (B2, DISCARD_PORT)])
    msgs = messages(3, 500, (1, 99, 1000, 1452, 4000, 9000))
    for data, sid, ppid in msgs:
        s.sctp_send(data, stream=sid, ppid=ppid)
    wait_shutdown(s)  # all of it acknowledged by usrsctp ...
    # ... and read by the program: "Msg of length N received from ... on stream S with SSN
    # n and TSN t, PPID p, ...", one line per message
    rx = re.compile(r"Msg of length (\d+) received from \S+ on stream (\d+) with SSN (\d+) "
                    r"and TSN \d+, PPID (\d+)")  # fmt: skip
    srv.wait_count(rx, len(msgs), WAIT)
    lab.finish()
    got = [tuple(map(int, m.groups())) for m in rx.finditer(srv.text())]
    want = []
    ssn: dict[int, int] = {}
    for data, sid, ppid in msgs:
        want.append((len(data), sid, ssn.get(sid, 0), ppid))
        ssn[sid] = ssn.get(sid, 0) + 1
    assert sorted(got) == sorted(want)  # sizes, streams, SSNs and PPIDs: all there once


def test_a_tsctp_bulk_50_mb(lab: Lab) -> None:
    srv = lab.usrsctp_server("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), line_buffered=False)
    s = lab.client(lab.sctpx())
    s.connectx([(B1, TSCTP_PORT), (B2, TSCTP_PORT)])
    res = s.job("send_bulk", BULK, 1200).join(90)
    s.close()  # graceful: tsctp's server prints its result when the association ends
    m = srv.wait_for(TSCTP_RESULT, 30)
    msglen, msgs, _calls, total, seconds = (float(x) for x in m.groups()[:5])
    print(f"\nsctpx -> tsctp: {total / 1e6:.1f} MB in {seconds:.2f} s "
          f"({total * 8 / seconds / 1e6:.0f} Mbit/s); sender {res.seconds:.2f} s")  # fmt: skip
    assert (int(total), int(msgs), int(msglen)) == (BULK, res.messages, 1200)
    lab.finish()


# ----- B: usrsctp client, sctpx server -----


ECHOED = rb"\d{6} [0-9a-f]+$"  # what client_lines() look like, when echoed


def client_lines(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [b"%06d %s\n" % (i, rng.randbytes(rng.randrange(1, 30)).hex().encode())
            for i in range(count)]  # fmt: skip


def run_client_echo(lab: Lab, family: int, target: str, addrs: tuple[str, ...]) -> str:
    """usrsctp's client sends lines to an sctpx echo server; returns the client's output."""
    peer = lab.sctpx()
    srv = lab.server(peer, ECHO_PORT, family=family, addrs=addrs)
    acc = srv.background("accept")
    cli = lab.usrsctp("client", target, str(ECHO_PORT), "0", str(US_UDP), str(SX_UDP),
                      stdin=True, markers=ECHOED)  # fmt: skip
    conn, _ = acc.join(WAIT)
    echo = conn.job("echo")
    lines = client_lines(200, family)
    for line in lines:
        cli.write(line)
    cli.wait_for(re.escape(lines[-1].decode().strip()), WAIT)  # every echo is back
    cli.close_input()  # the client shuts down (SHUTDOWN from usrsctp)
    assert cli.wait(WAIT) == 0
    assert echo.join(WAIT).messages == len(lines)
    out = cli.text()
    body = "".join(ln + "\n" for ln in out.splitlines() if re.match(r"\d{6} ", ln))
    assert body.encode() == b"".join(lines)
    assert "SCTP_SHUTDOWN_COMP" in out
    return out


def peer_addresses(out: str) -> set[str]:
    m = re.search(r"^Peer addresses: (.*)\.$", out, re.MULTILINE)
    assert m, out
    return set(m.group(1).split(", "))


def test_b_usrsctp_client_to_sctpx_echo(lab: Lab) -> None:
    out = run_client_echo(lab, 4, A1, (A1, A2))
    assert peer_addresses(out) == {A1, A2}  # usrsctp took both from our INIT ACK
    m = re.search(r"SCTP_COMM_UP, streams \(in/out\) = \((\d+)/(\d+)\), supports (.*)\.", out)
    assert m, out
    supports = set(m.group(3).split())
    assert {"PR", "RE-CONFIG"} <= supports  # FORWARD-TSN and RE-CONFIG (RFC 6525): agreed
    assert not supports & {"AUTH", "ASCONF"}  # declined: we never offered them
    lab.finish()


def test_b_usrsctp_client_ipv6_to_sctpx_echo(lab: Lab) -> None:
    out = run_client_echo(lab, 6, A6, (A6, A1, A2))
    assert peer_addresses(out) == {A6, A1, A2}
    rep = lab.finish()
    assert rep.wire.chunk_count(0, src=B6, dst=A6) >= 200


def test_b_tsctp_bulk_50_mb_to_sctpx(lab: Lab) -> None:
    peer = lab.sctpx()
    srv = lab.server(peer, TSCTP_PORT)
    acc = srv.background("accept")
    n = -(-BULK // 1200)
    cli = lab.usrsctp("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), "-l", "1200", "-n", str(n),
                      A1, line_buffered=False)  # fmt: skip
    conn, _ = acc.join(WAIT)
    conn.settimeout(30)
    res = conn.job("recv_all").join(90)
    assert cli.wait(30) == 0
    print(f"\ntsctp -> sctpx: {res.bytes / 1e6:.1f} MB in {res.data_seconds:.2f} s "
          f"({res.bytes * 8 / res.data_seconds / 1e6:.0f} Mbit/s)")  # fmt: skip
    assert res.sizes == {"1200": n}  # every message whole: tsctp's are n x 1200 bytes of b"b"
    assert res.sha256 == hashlib.sha256(b"b" * (n * 1200)).hexdigest()
    assert f"Sending of {n} messages of length 1200" in cli.text()
    lab.finish()


def test_b_tsctp_messages_larger_than_our_buffer(lab: Lab) -> None:
    # 200,000-byte messages into sctpx's 128 KB receive buffer: partial delivery
    # (RFC 9260 §6.9). Each reaches the reader in parts and is whole once joined.
    peer = lab.sctpx()
    srv = lab.server(peer, TSCTP_PORT)
    acc = srv.background("accept")
    n, size = 40, 200_000  # tsctp refuses 400,000 ("Message too long")
    cli = lab.usrsctp("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), "-l", str(size), "-n",
                      str(n), A1, line_buffered=False)  # fmt: skip
    conn, _ = acc.join(WAIT)
    conn.settimeout(30)
    res = conn.job("recv_all").join(90)
    assert cli.wait(30) == 0
    assert res.sizes == {str(size): n}  # every message whole once its parts are joined
    assert res.parts >= n  # and each came in parts
    assert res.sha256 == hashlib.sha256(b"b" * (n * size)).hexdigest()
    lab.finish()


def test_b_usrsctp_init_accepted_and_extensions_declined(lab: Lab) -> None:
    peer = lab.sctpx()
    srv = lab.server(peer, TSCTP_PORT)
    acc = srv.background("accept")
    # -a: an Adaptation Layer Indication in the INIT as well
    cli = lab.usrsctp("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), "-a", "4660", "-l", "1000",
                      "-n", "2000", A1, line_buffered=False)  # fmt: skip
    conn, _ = acc.join(WAIT)
    res = conn.job("recv_all").join(30)
    assert res.bytes == 2_000_000
    assert cli.wait(30) == 0
    rep = lab.finish()
    fields = ["sctp.chunk_type", "sctp.parameter_type", "sctp.supported_chunk_type",
              "sctp.adaptation_layer_indication"]  # fmt: skip
    init = tshark_fields(rep.wire.path, fields, "sctp.chunk_type == 1", (SX_UDP, US_UDP))
    ack = tshark_fields(rep.wire.path, fields, "sctp.chunk_type == 2", (SX_UDP, US_UDP))
    print("\nusrsctp INIT:", init, "\nsctpx INIT ACK:", ack)
    assert len(init) == 1 and len(ack) == 1
    init_params = {int(p, 16) for p in init[0][1].split(",")}
    # Supported Address Types, IPv4, Adaptation Layer, Supported Extensions, Random,
    # Chunk List, HMAC Algorithm, Forward-TSN-Supported: all were there and accepted.
    assert init_params >= {0x000C, 0x0005, 0xC006, 0x8008, 0x8002, 0x8003, 0x8004, 0xC000}
    assert {64, 130, 193, 15} & {int(c) for c in init[0][2].split(",")}  # offered to us
    ack_params = {int(p, 16) for p in ack[0][1].split(",")}
    assert not ack_params & {0x8002, 0x8003, 0x8004}  # no AUTH: declined by omission
    assert [int(c) for c in ack[0][2].split(",")] == [192, 130]  # FORWARD-TSN, RE-CONFIG only
    assert rep.wire.chunk_count(1) == 1 and rep.wire.chunk_count(11) == 1  # up at once
    # ABORT, ERROR, AUTH, I-DATA, ASCONF; RE-CONFIG is agreed but nobody asked for a reset
    for bad in (6, 9, 15, 64, 128, 130, 193):
        assert rep.wire.chunk_count(bad) == 0, bad


# ----- loss -----


def test_a_bulk_with_random_loss(lab: Lab) -> None:
    srv = lab.usrsctp_server("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), line_buffered=False)
    s = lab.client(lab.sctpx())
    s.connectx([(B1, TSCTP_PORT), (B2, TSCTP_PORT)])
    lab.net.loss(lab.link1, LOSS)  # both ways: DATA and SACKs are lost
    t0 = time.monotonic()
    res = s.job("send_bulk", LOSSY_BYTES, 1200).join(90)
    s.close()
    m = srv.wait_for(TSCTP_RESULT, 60)
    print(f"\n{LOSSY_BYTES >> 20} MB with {LOSS:.0%} loss each way: {time.monotonic() - t0:.1f} s")
    assert int(m.group(4)) == res.bytes
    rep = lab.finish()
    assert rep.stack.chunk_count(0, src=A1) > res.messages  # losses were repaired


def test_b_bulk_with_random_loss(lab: Lab) -> None:
    peer = lab.sctpx()
    srv = lab.server(peer, TSCTP_PORT)
    acc = srv.background("accept")
    n = LOSSY_BYTES // 1200
    # Loss in the data direction only: lost SACKs would stall usrsctp for a full T3
    # (1 s, no tail-loss probe) each time, and that is usrsctp's business, not ours.
    lab.net.loss(lab.link1, LOSS, hosts=[lab.a])
    cli = lab.usrsctp("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), "-l", "1200", "-n", str(n),
                      A1, line_buffered=False)  # fmt: skip
    conn, _ = acc.join(WAIT)
    conn.settimeout(30)
    t0 = time.monotonic()
    res = conn.job("recv_all").join(90)
    print(f"\n{LOSSY_BYTES >> 20} MB with {LOSS:.0%} loss towards sctpx: "
          f"{time.monotonic() - t0:.1f} s")  # fmt: skip
    assert res.sizes == {"1200": n}
    assert res.sha256 == hashlib.sha256(b"b" * (n * 1200)).hexdigest()
    assert cli.wait(30) == 0
    lab.finish()


def test_b_short_tsctp_transfer_ended_before_accept(lab: Lab) -> None:
    peer = lab.sctpx()
    srv = lab.server(peer, TSCTP_PORT)
    cli = lab.usrsctp("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), "-l", "100", "-n", "3", A1,
                      line_buffered=False)  # fmt: skip
    assert cli.wait(WAIT) == 0  # 3 messages, SHUTDOWN, SHUTDOWN COMPLETE: all done
    conn, _ = srv.accept()
    res = conn.job("recv_all").join(WAIT)
    assert (res.messages, res.bytes) == (3, 300)
    lab.finish()


def gap_sack_counts(pcap: Path, peer_ips: tuple[str, ...]) -> tuple[int, int, list[int]]:
    """From sctpx's own pcap (what it received and sent, in order): the DATA packets after
    which a gap remained, the SACKs with Gap Ack Blocks sent, and how many such packets
    each of those SACKs answered."""
    rows = tshark_fields(pcap, ["ip.src", "sctp.chunk_type", "sctp.data_tsn_raw",
                                "sctp.sack_number_of_gap_blocks"], "sctp",
                         (SX_UDP, US_UDP))  # fmt: skip
    got: set[int] = set()
    cum: int | None = None
    leaving_gap = sacks = run = 0
    runs: list[int] = []
    for src, types, tsns, gaps in rows:
        kinds = {int(t) for t in types.split(",")}
        if src in peer_ips and 0 in kinds:
            got.update(int(t) for t in tsns.split(","))
            cum = min(got) - 1 if cum is None else cum
            while cum + 1 in got:
                cum += 1
            if max(got) > cum:
                leaving_gap += 1
                run += 1
        elif src not in peer_ips and 3 in kinds and gaps and int(gaps.split(",")[0]) > 0:
            sacks += 1
            runs.append(run)
            run = 0
    return leaving_gap, sacks, runs


def test_b_sack_for_every_packet_while_a_gap_persists(lab: Lab) -> None:
    peer = lab.sctpx()
    srv = lab.server(peer, TSCTP_PORT)
    acc = srv.background("accept")
    lab.net.drop_every(lab.link1, 100, hosts=[lab.a])  # the same packets lost every run
    n = 3000
    cli = lab.usrsctp("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), "-l", "1200", "-n", str(n),
                      A1, line_buffered=False)  # fmt: skip
    conn, _ = acc.join(WAIT)
    conn.settimeout(30)
    res = conn.job("recv_all").join(60)
    assert res.sizes == {"1200": n}
    assert cli.wait(30) == 0
    rep = lab.finish()
    leaving_gap, sacks, runs = gap_sack_counts(rep.stack.path, (B1, B2))
    print(f"\n{leaving_gap} packets left a gap, {sacks} SACKs with gaps; packets per SACK: "
          f"{runs[:30]}")  # fmt: skip
    assert leaving_gap > 0
    assert sacks >= leaving_gap


# ----- PR-SCTP (RFC 3758): the one extension both sides support -----

FORWARD_TSN = 192


def forward_tsns_acked(pcap: Path, sender: tuple[str, ...]) -> tuple[int, bool]:
    """How many FORWARD TSNs ``sender`` sent, and whether the other side's last SACK
    acknowledged the last New Cumulative TSN."""
    rows = tshark_fields(pcap, ["ip.src", "sctp.forward_tsn_tsn",
                                "sctp.sack_cumulative_tsn_ack_raw"], "sctp",
                         (SX_UDP, US_UDP))  # fmt: skip
    ftsns = [int(f.split(",")[-1]) for src, f, _c in rows if src in sender and f]
    acks = [int(c.split(",")[-1]) for src, _f, c in rows if src not in sender and c]
    return len(ftsns), bool(ftsns) and bool(acks) and acks[-1] >= ftsns[-1]


def test_a_pr_sctp_sctpx_abandons_usrsctp_follows(lab: Lab) -> None:
    srv = lab.usrsctp_server("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), line_buffered=False)
    s = lab.client(lab.sctpx())
    s.connectx([(B1, TSCTP_PORT), (B2, TSCTP_PORT)])
    lab.net.drop_every(lab.link1, 50, hosts=[lab.b])
    n = 3000
    res = s.job("send_bulk", n * 1200, 1200, ttl=5).join(60)  # 5 ms to live: many abandoned
    assert res.messages == n
    s.close()
    m = srv.wait_for(TSCTP_RESULT, 30)
    msglen, msgs, total = int(m.group(1)), int(m.group(2)), int(m.group(4))
    rep = lab.finish()
    sent, acked = forward_tsns_acked(rep.wire.path, (A1, A2))
    print(f"\nTTL 5 ms, every 50th packet lost: {msgs} of {n} delivered, {sent} FORWARD TSNs")
    assert sent > 0 and acked  # usrsctp moved its cumulative TSN past what we abandoned
    assert 0 < msgs < n and total == msgs * msglen == msgs * 1200  # whole messages only
    assert not rep.wire.select(6, 9)  # no ABORT, no ERROR


def test_b_pr_sctp_usrsctp_abandons_sctpx_follows(lab: Lab) -> None:
    peer = lab.sctpx()
    srv = lab.server(peer, TSCTP_PORT)
    acc = srv.background("accept")
    lab.net.drop_every(lab.link1, 50, hosts=[lab.a])
    n = 3000
    cli = lab.usrsctp("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), "-P", "1", "-t", "5",
                      "-l", "1200", "-n", str(n), A1, line_buffered=False)  # fmt: skip
    conn, _ = acc.join(WAIT)
    conn.settimeout(30)
    res = conn.job("recv_all").join(60)  # ends at the graceful end of the association
    assert cli.wait(30) == 0
    rep = lab.finish()
    sent, acked = forward_tsns_acked(rep.stack.path, (B1, B2))
    print(f"\nTTL 5 ms, every 50th packet lost: {res.messages} of {n} delivered, "
          f"{sent} FORWARD TSNs")  # fmt: skip
    assert sent > 0 and acked  # sctpx moved its cumulative TSN past what usrsctp abandoned
    assert res.sizes == {"1200": res.messages} and 0 < res.messages < n
    # every message that reached sctpx whole was delivered: none is stuck behind a hole
    rows = tshark_fields(
        rep.stack.path,
        ["sctp.data_tsn_raw"],
        f"ip.src == {B1} && sctp.chunk_type == 0",
        (SX_UDP, US_UDP),
    )
    received = {int(t) for r in rows for t in r[0].split(",")}
    assert len(received) == res.messages
    assert not rep.wire.select(6, 9)
