"""Multi-homing with usrsctp: fault-tolerant set-up, confirmed and unconfirmed addresses,
dropped addresses, failover in the middle of a transfer and the way back.

Cuts are black holes (iptables DROP where packets arrive, both directions) unless
a test says ``down`` (the link is down: senders get ENETUNREACH at once).
"""

from __future__ import annotations

import hashlib
import time

import sctpx
from sctpx.testing import CaptureReport, tshark_fields

from .lab import A1, A2, B1, B2, ECHO_PORT, SX_UDP, TSCTP_PORT, US_UDP, WAIT, Lab
from .remote import C, Opt
from .test_data import echo_round, messages, wait_shutdown
from .usrsctp import TSCTP_RESULT

DATA, SACK, HEARTBEAT, HEARTBEAT_ACK = 0, 3, 4, 5


def heartbeat_infos(rep: CaptureReport) -> list[tuple[str, str, int, str]]:
    """(src, dst, chunk type, info) of every HEARTBEAT and HEARTBEAT ACK, in time order."""
    rows = tshark_fields(rep.path, ["frame.time_relative", "ip.src", "ip.dst", "sctp.chunk_type",
                                    "sctp.parameter_heartbeat_information"],
                         "sctp.chunk_type == 4 || sctp.chunk_type == 5",
                         (SX_UDP, US_UDP))  # fmt: skip
    rows.sort(key=lambda r: float(r[0]))
    out = []
    for _t, src, dst, types, info in rows:
        for t in types.split(","):
            if int(t) in (HEARTBEAT, HEARTBEAT_ACK):
                out.append((src, dst, int(t), info))
    return out


def sent_before(rep: CaptureReport, ips: tuple[str, ...], dst: str, until: float) -> set[int]:
    """Chunk types sent from one of ``ips`` to ``dst`` before ``until`` (capture time)."""
    return {t for p in rep.packets if p.src in ips and p.dst == dst and p.time < until
            for t in p.chunks}  # fmt: skip


def probe_answered(rep: CaptureReport, ours: tuple[str, ...], dst: str) -> float:
    """When the answer to our first nonce HEARTBEAT to ``dst`` came back (capture time)."""
    rows = tshark_fields(rep.path, ["frame.time_relative", "ip.src", "ip.dst", "sctp.chunk_type",
                                    "sctp.parameter_heartbeat_information"],
                         "sctp.chunk_type == 4 || sctp.chunk_type == 5",
                         (SX_UDP, US_UDP))  # fmt: skip
    rows.sort(key=lambda r: float(r[0]))
    probe = next(r for r in rows if r[1] in ours and r[2] == dst and r[3] == str(HEARTBEAT))
    ack = next(r for r in rows if r[1] == dst and r[3] == str(HEARTBEAT_ACK) and r[4] == probe[4])
    return float(ack[0])  # the HEARTBEAT ACK echoed our nonce (and path indicator)


# ----- fault-tolerant set-up -----


def test_a_first_address_black_holed_setup_over_the_second(lab: Lab) -> None:
    lab.usrsctp_server("echo_server", str(US_UDP), str(SX_UDP))
    s = lab.client(lab.sctpx())
    lab.net.cut(lab.link1)
    t0 = time.monotonic()
    s.connectx([(B1, ECHO_PORT), (B2, ECHO_PORT)])
    took = time.monotonic() - t0
    print(f"\nset-up with the first address black-holed: {took * 1000:.0f} ms")
    assert took < 1.0, took  # the 250 ms stagger, not a 1 s T1 (usrsctp's RTO.Initial: 3 s)
    assert sorted(s.getpaddrs()) == [(B1, ECHO_PORT), (B2, ECHO_PORT)]
    assert s.getpeername() == (B2, ECHO_PORT)  # the INIT ACK came from there
    echo_round(s, messages(8, 50, (10, 1000, 3000)))
    wait_shutdown(s)
    rep = lab.finish()
    inits = rep.wire.select(1)
    assert [(p.src, p.dst) for p in inits] == [(A1, B1), (A2, B2)]  # same INIT, next address
    assert inits[1].time - inits[0].time >= 0.2
    assert [(p.src, p.dst) for p in rep.wire.select(2)] == [(B2, A2)]
    assert not rep.wire.select(DATA, src=A1) and not rep.wire.select(DATA, dst=A1)


def test_a_first_link_down_setup_over_the_second_at_once(lab: Lab) -> None:
    lab.usrsctp_server("echo_server", str(US_UDP), str(SX_UDP))
    s = lab.client(lab.sctpx())
    lab.net.cut(lab.link1, "down")
    t0 = time.monotonic()
    s.connectx([(B1, ECHO_PORT), (B2, ECHO_PORT)])
    took = time.monotonic() - t0
    print(f"\nset-up with the first link down: {took * 1000:.0f} ms")
    assert took < 0.2, took  # ENETUNREACH from sendto: the next address at once
    assert s.getpeername() == (B2, ECHO_PORT)
    echo_round(s, messages(9, 20, (10, 1000)))
    wait_shutdown(s)
    rep = lab.finish()
    assert [(p.src, p.dst) for p in rep.wire.select(1)] == [(A2, B2)]  # nothing left on link 1
    assert [(p.src, p.dst) for p in rep.stack.select(1)] == [(A2, B2)]


# ----- confirmed / unconfirmed / dropped -----


def test_a_unlisted_address_is_confirmed_by_heartbeat_before_use(lab: Lab) -> None:
    lab.usrsctp_server("echo_server", str(US_UDP), str(SX_UDP))
    s = lab.client(lab.sctpx())
    s.subscribe(sctpx.SCTP_PEER_ADDR_CHANGE)
    s.connectx([(B1, ECHO_PORT)])  # usrsctp announces B2 (and B6, not for an AF_INET socket)
    assert sorted(s.getpaddrs()) == [(B1, ECHO_PORT), (B2, ECHO_PORT)]
    assert s.addr_info(B1, ECHO_PORT).state == sctpx.SCTP_ACTIVE  # listed: confirmed
    r = s.job("wait_event", "PeerAddrChange", 5, address=B2, state="CONFIRMED").join(10)
    assert r.event is not None, r.seen
    assert s.addr_info(B2, ECHO_PORT).state == sctpx.SCTP_ACTIVE
    echo_round(s, messages(10, 20, (10, 1000)))
    wait_shutdown(s)
    rep = lab.finish()
    probes = [h for h in heartbeat_infos(rep.wire) if h[0] in (A1, A2) and h[2] == HEARTBEAT]
    assert probes and {h[1] for h in probes} == {B2}  # B1 is listed: never probed
    confirmed = probe_answered(rep.wire, (A1, A2), B2)
    # §5.4: until then only HEARTBEAT (ours) and HEARTBEAT ACK (to usrsctp's probes of A2)
    assert sent_before(rep.wire, (A1, A2), B2, confirmed) <= {HEARTBEAT, HEARTBEAT_ACK}


def test_b_unlisted_addresses_are_confirmed_both_ways(lab: Lab) -> None:
    peer = lab.sctpx()
    srv = lab.server(peer, ECHO_PORT)
    acc = srv.background("accept")
    cli = lab.usrsctp("client", A1, str(ECHO_PORT), "0", str(US_UDP), str(SX_UDP), stdin=True,
                      markers=rb"hello$")  # fmt: skip
    conn, _ = acc.join(WAIT)
    assert sorted(ip for ip, _p in conn.getpaddrs()) == [B1, B2]  # B6: not for AF_INET
    # usrsctp probes the address it learnt from our INIT ACK
    cli.wait_for(rf"Peer address {A2} is now SCTP_ADDR_CONFIRMED", WAIT)
    deadline = time.monotonic() + 5
    while conn.addr_info(B2, conn.getpeername()[1]).state != sctpx.SCTP_ACTIVE:
        assert time.monotonic() < deadline, "sctpx never confirmed B2"
        time.sleep(0.05)
    echo = conn.job("echo")
    cli.write(b"hello\n")
    cli.wait_for(r"^hello$", WAIT)
    cli.close_input()
    assert cli.wait(WAIT) == 0
    assert echo.join(WAIT).messages == 1
    rep = lab.finish()
    hbs = heartbeat_infos(rep.wire)
    ours = [h for h in hbs if h[0] in (A1, A2) and h[2] == HEARTBEAT]
    assert ours and {h[1] for h in ours} == {B2}  # B1 got the INIT ACK: confirmed (§5.4 rule 2)
    confirmed = probe_answered(rep.wire, (A1, A2), B2)
    assert sent_before(rep.wire, (A1, A2), B2, confirmed) <= {HEARTBEAT, HEARTBEAT_ACK}
    theirs = [h for h in hbs if h[0] in (B1, B2) and h[2] == HEARTBEAT]
    assert {h[1] for h in theirs} == {A2}  # usrsctp: A1 was where it sent its INIT
    assert all((h[1], h[0], HEARTBEAT_ACK, h[3]) in hbs for h in theirs)  # we echo every one


def test_a_listed_address_the_peer_lacks_is_dropped(lab: Lab) -> None:
    lab.usrsctp_server("echo_server", str(US_UDP), str(SX_UDP))
    s = lab.client(lab.sctpx())
    ghost = "198.18.2.9"  # on link 2's subnet, but nobody has it
    s.connectx([(B1, ECHO_PORT), (ghost, ECHO_PORT), (B2, ECHO_PORT)])
    assert sorted(s.getpaddrs()) == [(B1, ECHO_PORT), (B2, ECHO_PORT)]
    echo_round(s, messages(11, 20, (10, 1000)))
    wait_shutdown(s)
    rep = lab.finish()
    assert not rep.stack.select(dst=ghost)  # never a packet to it
    assert not rep.wire.select(HEARTBEAT, src=A1) and not rep.wire.select(HEARTBEAT, src=A2)


def test_a_idle_heartbeats_on_both_paths(lab: Lab) -> None:
    lab.usrsctp_server("echo_server", str(US_UDP), str(SX_UDP))
    s = lab.client(lab.sctpx())
    # HB.interval 200 ms: a HEARTBEAT every RTO (1 s) ± 50 % + 200 ms on each idle path
    s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_PEER_ADDR_PARAMS"), Opt("PeerAddrParams",
                 hbinterval=200))  # fmt: skip
    s.connectx([(B1, ECHO_PORT), (B2, ECHO_PORT)])
    time.sleep(3.6)  # each interval is 0.7-1.7 s: two HEARTBEATs per path at the latest by 3.4 s
    for ip in (B1, B2):
        assert s.addr_info(ip, ECHO_PORT).state == sctpx.SCTP_ACTIVE
    wait_shutdown(s)
    rep = lab.finish()
    hbs = heartbeat_infos(rep.wire)
    for ours, theirs in ((A1, B1), (A2, B2)):
        probes = [h for h in hbs if h[:3] == (ours, theirs, HEARTBEAT)]
        assert len(probes) >= 2, hbs  # both paths, again and again
        assert all((theirs, ours, HEARTBEAT_ACK, h[3]) in hbs for h in probes)  # all echoed


# ----- failover -----


def test_a_failover_mid_transfer_and_back(lab: Lab) -> None:
    srv = lab.usrsctp_server("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), line_buffered=False)
    s = lab.client(lab.sctpx())
    s.subscribe(sctpx.SCTP_PEER_ADDR_CHANGE)
    s.connectx([(B1, TSCTP_PORT), (B2, TSCTP_PORT)])
    assert s.getpeername() == (B1, TSCTP_PORT)
    total = 30 * 1024 * 1024
    job = s.job("send_bulk", total, 1200)
    job.wait_progress("bytes", 5 << 20, 20)
    lab.net.cut(lab.link1)
    t_cut = time.monotonic()
    r = s.job("wait_event", "PeerAddrChange", 10, address=B1, state="POTENTIALLY_FAILED").join(15)
    assert r.event is not None, r.seen
    print(f"\nB1 potentially failed {r.at - t_cut:.2f} s after the cut")
    sent = job.progress()["bytes"]
    job.wait_progress("bytes", sent + (5 << 20), 20)  # the transfer goes on over link 2
    lab.net.restore(lab.link1)
    t_back = time.monotonic()
    r = s.job("wait_event", "PeerAddrChange", 20, address=B1, state="AVAILABLE").join(25)
    assert r.event is not None, r.seen
    print(f"B1 available again {r.at - t_back:.2f} s after the restore")
    res = job.join(60)
    more = s.job("send_bulk", 2 << 20, 1200, seed=2).join(30)  # back on the primary path
    s.close()
    m = srv.wait_for(TSCTP_RESULT, 30)
    assert int(m.group(4)) == res.bytes + more.bytes == total + (2 << 20)  # nothing lost
    rep = lab.finish()
    over2 = rep.wire.select(DATA, src=A2, dst=B2)
    assert over2
    # after the restore: a HEARTBEAT ACK from B1, then data over link 1 again
    hb = [p for p in rep.wire.select(HEARTBEAT_ACK, src=B1) if p.time > over2[0].time]
    assert hb, "no HEARTBEAT ACK from B1 after the failover"
    assert [p for p in rep.wire.select(DATA, src=A1) if p.time > hb[0].time]


def test_b_failover_mid_transfer_to_sctpx(lab: Lab) -> None:
    """usrsctp sends; its primary path is cut for 4 s, then restored.

    usrsctp (no SCTP-PF by default) keeps sending new data to the primary and moves
    only each T3 retransmission to link 2 until the primary has failed
    Path.Max.Retrans = 5 times (1 + 2 + 4 + 8 + 16 s): the transfer cannot finish
    over link 2 alone in a test's time. What is ours to check: sctpx takes the
    retransmissions that arrive over link 2, acknowledges them there, and nothing
    is lost or doubled once link 1 is back.
    """
    peer = lab.sctpx()
    srv = lab.server(peer, TSCTP_PORT)
    acc = srv.background("accept")
    n = 20 * 1024 * 1024 // 1200
    cli = lab.usrsctp("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), "-l", "1200", "-n", str(n),
                      A1, line_buffered=False)  # fmt: skip
    conn, _ = acc.join(WAIT)
    conn.settimeout(30)
    job = conn.job("recv_all")
    job.wait_progress("bytes", 5 << 20, 20)
    lab.net.cut(lab.link1)
    got = job.progress()["bytes"]
    job.wait_progress("bytes", got + 1, 5)  # a T3 retransmission came over link 2
    time.sleep(3)
    lab.net.restore(lab.link1)
    res = job.join(60)
    assert res.sizes == {"1200": n}
    assert res.sha256 == hashlib.sha256(b"b" * (n * 1200)).hexdigest()
    assert cli.wait(30) == 0
    rep = lab.finish()
    over2 = rep.wire.select(DATA, src=B2, dst=A2)
    assert over2
    # acknowledged over link 2: a SACK goes where the DATA came from (§6.4)
    acks = rep.wire.select(SACK, src=A2, dst=B2)
    assert acks and acks[0].time > over2[0].time
