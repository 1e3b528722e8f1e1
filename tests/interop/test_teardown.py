"""Ending associations with usrsctp: graceful SHUTDOWN and ABORT, both directions.

An ABORT *from* usrsctp: its servers never close an association on their own
(and run with ``sctp_blackhole=2``, which silences ABORTs for out-of-the-blue
packets), but its tsctp client closes its socket after its last message, and a
socket closed with unread data aborts (FreeBSD semantics): sctpx sends it one
message it never reads.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import sctpx
from sctpx.testing import CaptureReport, SctpPacket, tshark_fields

from .lab import A1, A2, B1, B2, ECHO_PORT, SX_UDP, TSCTP_PORT, US_UDP, WAIT, Lab
from .remote import RemoteSocket, SctpxPeer
from .test_data import echo_round, messages, wait_shutdown
from .usrsctp import Program

SHUTDOWN, SHUTDOWN_ACK, SHUTDOWN_COMPLETE, ABORT = 7, 8, 14, 6


def chunk_order(packets: list[SctpPacket], *types: int) -> list[tuple[int, str]]:
    """(type, source) of each chunk of ``types`` in capture order."""
    return [(t, p.src) for p in packets for t in p.chunks if t in types]


def ending(rep: CaptureReport) -> str:
    """The packets that end associations and what followed them, for assertion messages."""
    ends = rep.select(SHUTDOWN, SHUTDOWN_ACK, SHUTDOWN_COMPLETE, ABORT)
    after = [p for p in rep.packets if ends and p.time >= ends[0].time]
    return "\n".join(f"{p} vtag={p.vtag:#010x}" for p in after[:30])


def in_order(order: list[tuple[int, str]], expected: list[tuple[int, str]]) -> bool:
    """``expected`` is a subsequence of ``order`` (other chunks may come in between: an
    answer to a packet that crossed the end, say)."""
    it = iter(order)
    return all(e in it for e in expected)


def tags(path: Path) -> dict[str, list[Any]]:
    """The Initiate Tags of the INITs and INIT ACKs, and the tag and T bit of the ABORTs."""
    ports = (SX_UDP, US_UDP)
    inits = tshark_fields(path, ["sctp.init_initiate_tag"], "sctp.chunk_type == 1", ports)
    acks = tshark_fields(path, ["sctp.initack_initiate_tag"], "sctp.chunk_type == 2", ports)
    aborts = tshark_fields(path, ["sctp.verification_tag", "sctp.abort_t_bit"],
                           "sctp.chunk_type == 6", ports)  # fmt: skip
    return {"init": [int(r[0], 16) for r in inits], "init_ack": [int(r[0], 16) for r in acks],
            "abort": [(int(r[0], 16), r[1]) for r in aborts]}  # fmt: skip


def check_aborts(path: Path, ours: int, theirs: int) -> None:
    """Our ABORT carries the peer's tag with the T bit clear (RFC 9260 §8.5.1 B). Any
    later one answers a packet of the peer's that crossed it: out of the blue by then,
    so it carries that packet's tag (ours) with the T bit set (§8.4 rule 8)."""
    aborts = tags(path)["abort"]
    assert aborts and aborts[0] == (theirs, "0"), aborts
    assert all(a == (ours, "1") for a in aborts[1:]), aborts


def test_a_sctpx_shuts_down_usrsctp_server(lab: Lab) -> None:
    lab.usrsctp_server("echo_server", str(US_UDP), str(SX_UDP))
    peer = lab.sctpx()
    s = lab.client(peer)
    s.connectx([(B1, ECHO_PORT), (B2, ECHO_PORT)])
    echo_round(s, messages(4, 20, (10, 1000)))
    wait_shutdown(s)  # SHUTDOWN_COMP seen by sctpx
    # The server is still there and takes a new association: its side ended cleanly.
    s2 = lab.client(peer)
    s2.connectx([(B1, ECHO_PORT), (B2, ECHO_PORT)])
    echo_round(s2, messages(5, 5, (10,)))
    wait_shutdown(s2)
    rep = lab.finish()
    order = chunk_order(rep.wire.packets, SHUTDOWN, SHUTDOWN_ACK, SHUTDOWN_COMPLETE)
    assert in_order(order, [(SHUTDOWN, A1), (SHUTDOWN_ACK, B1), (SHUTDOWN_COMPLETE, A1)] * 2), (
        ending(rep.wire))  # fmt: skip
    assert not rep.wire.select(ABORT), ending(rep.wire)


def start_client_to_sctpx(lab: Lab) -> tuple[Program, RemoteSocket, SctpxPeer]:
    """usrsctp's client connected to an sctpx echo server: (client, server conn, echo job)."""
    peer = lab.sctpx()
    srv = lab.server(peer, ECHO_PORT)
    acc = srv.background("accept")
    cli = lab.usrsctp("client", A1, str(ECHO_PORT), "0", str(US_UDP), str(SX_UDP), stdin=True,
                      markers=rb"pong$")  # fmt: skip
    conn, _ = acc.join(WAIT)
    conn.subscribe(sctpx.SCTP_ASSOC_CHANGE, sctpx.SCTP_SHUTDOWN_EVENT)
    cli.write(b"ping\n")
    ev = conn.sctp_recv()
    assert (ev.type, ev.data) == ("DataReceived", b"ping\n")
    conn.sctp_send(b"pong\n")
    cli.wait_for(r"^pong$", WAIT)
    return cli, conn, peer


def test_b_usrsctp_client_shuts_down(lab: Lab) -> None:
    cli, conn, _ = start_client_to_sctpx(lab)
    cli.close_input()  # EOF: usrsctp_shutdown(SHUT_WR)
    r = conn.job("wait_event", "AssocChange", WAIT, state="SHUTDOWN_COMP").join(WAIT + 5)
    assert r.event is not None, r.seen
    assert [e.type for e in r.seen] == ["ShutdownEvent", "AssocChange"]
    assert cli.wait(WAIT) == 0
    assert "SCTP_SHUTDOWN_COMP" in cli.text()
    rep = lab.finish()
    order = chunk_order(rep.wire.packets, SHUTDOWN, SHUTDOWN_ACK, SHUTDOWN_COMPLETE)
    assert in_order(order, [(SHUTDOWN, B1), (SHUTDOWN_ACK, A1), (SHUTDOWN_COMPLETE, B1)]), ending(
        rep.wire)  # fmt: skip
    assert not rep.wire.select(ABORT), ending(rep.wire)


def test_b_sctpx_server_shuts_down_usrsctp_client(lab: Lab) -> None:
    cli, conn, _ = start_client_to_sctpx(lab)
    conn.shutdown()
    r = conn.job("wait_event", "AssocChange", WAIT, state="SHUTDOWN_COMP").join(WAIT + 5)
    assert r.event is not None, r.seen
    cli.wait_for(r"Association change SCTP_SHUTDOWN_COMP", WAIT)
    cli.close_input()  # it waits for more input after the association has ended
    assert cli.wait(WAIT) == 0
    rep = lab.finish()
    order = chunk_order(rep.wire.packets, SHUTDOWN, SHUTDOWN_ACK, SHUTDOWN_COMPLETE)
    assert in_order(order, [(SHUTDOWN, A1), (SHUTDOWN_ACK, B1), (SHUTDOWN_COMPLETE, A1)]), ending(
        rep.wire)  # fmt: skip
    assert not rep.wire.select(ABORT), ending(rep.wire)


def test_a_sctpx_aborts_usrsctp_server(lab: Lab) -> None:
    lab.usrsctp_server("echo_server", str(US_UDP), str(SX_UDP))
    peer = lab.sctpx()
    s = lab.client(peer)
    s.connectx([(B1, ECHO_PORT), (B2, ECHO_PORT)])
    echo_round(s, messages(6, 10, (100,)))
    s.sctp_send(b"", flags=sctpx.SCTP_ABORT)
    # usrsctp dropped its side: a new association to the same server works at once.
    s2 = lab.client(peer)
    s2.connectx([(B1, ECHO_PORT), (B2, ECHO_PORT)])
    echo_round(s2, messages(7, 5, (10,)))
    wait_shutdown(s2)
    rep = lab.finish()
    aborts = rep.wire.select(ABORT)
    assert {(p.src, p.dst) for p in aborts} == {(A1, B1)}, ending(rep.wire)
    t = tags(rep.wire.path)
    check_aborts(rep.wire.path, ours=t["init"][0], theirs=t["init_ack"][0])
    order = chunk_order(rep.wire.packets, SHUTDOWN, SHUTDOWN_ACK, SHUTDOWN_COMPLETE)
    assert in_order(order, [(SHUTDOWN, A1), (SHUTDOWN_ACK, B1), (SHUTDOWN_COMPLETE, A1)]), ending(
        rep.wire)  # fmt: skip


def test_b_sctpx_server_aborts_usrsctp_client(lab: Lab) -> None:
    cli, conn, _ = start_client_to_sctpx(lab)
    conn.sctp_send(b"", flags=sctpx.SCTP_ABORT)
    # ABORT = the chunk as usrsctp got it: type 6, flags 0, length 8, cause 12 (User-
    # Initiated Abort) of length 4. (The client then never exits by itself: it waits
    # for an end that already happened.)
    cli.wait_for(r"Association change SCTP_COMM_LOST.*ABORT = 0x06 0x00 0x00 0x08 0x00 0x0c "
                 r"0x00 0x04\.", WAIT)  # fmt: skip
    rep = lab.finish()
    assert {(p.src, p.dst) for p in rep.wire.select(ABORT)} == {(A1, B1)}, ending(rep.wire)
    assert not rep.wire.select(SHUTDOWN, SHUTDOWN_ACK, SHUTDOWN_COMPLETE), ending(rep.wire)
    t = tags(rep.wire.path)
    check_aborts(rep.wire.path, ours=t["init_ack"][0], theirs=t["init"][0])


def test_b_usrsctp_client_aborts_sctpx(lab: Lab) -> None:
    peer = lab.sctpx()
    srv = lab.server(peer, TSCTP_PORT)
    acc = srv.background("accept")
    cli = lab.usrsctp("tsctp", "-E", str(US_UDP), "-U", str(SX_UDP), "-l", "1000", "-n", "2000",
                      A1, line_buffered=False)  # fmt: skip
    conn, _ = acc.join(WAIT)
    conn.subscribe(sctpx.SCTP_ASSOC_CHANGE)
    conn.sctp_send(b"never read")  # tsctp closes with this unread: ABORT
    res = conn.job("recv_all").join(WAIT + 5)
    assert cli.wait(WAIT) == 0
    [lost] = [n for n in res.notifications if n.type == "AssocChange"]
    assert (lost.state, lost.error) == ("COMM_LOST", errno.ECONNRESET)
    assert [c.type for c in lost.causes] == ["UserInitiatedAbort"]
    assert 0 < res.messages <= 2000 and set(res.sizes) == {"1000"}
    rep = lab.finish()
    [abort] = rep.wire.select(ABORT)
    assert (abort.src, abort.dst) == (B1, A1)
    t = tags(rep.wire.path)
    assert t["abort"] == [(t["init_ack"][0], "0")]  # our tag (we sent the INIT ACK), T bit 0
    # sctpx is silent once it has the ABORT (its own record, in the order it saw things)
    got = next(i for i, p in enumerate(rep.stack.packets) if p.has(ABORT))
    assert not [p for p in rep.stack.packets[got:] if p.src in (A1, A2)]
