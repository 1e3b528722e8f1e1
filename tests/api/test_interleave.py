"""RFC 8260 §4.3 / RFC 6458 §8.1.20 socket options over real (loopback UDP) sockets:
SCTP_FRAGMENT_INTERLEAVE, SCTP_INTERLEAVING_SUPPORTED, SCTP_STREAM_SCHEDULER(_VALUE), and
a large message interleaved with small ones on another stream."""

from __future__ import annotations

import errno
import socket

import pytest

import sctpx

from .support import PORT, S1, Net

SOL = sctpx.IPPROTO_SCTP


def offer_idata(s: sctpx.socket) -> None:
    s.setsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE, 2)
    s.setsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, sctpx.AssocValue(0, 1))


def pair(net: Net, *, cli_idata: bool = True, srv_idata: bool = True,
         rcvbuf: int = 0) -> tuple[sctpx.socket, sctpx.socket, sctpx.socket]:  # fmt: skip
    srv, cli = net.server(), net.client()
    if srv_idata:
        offer_idata(srv)
    if cli_idata:
        offer_idata(cli)
    if rcvbuf:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    aid = cli.connectx([(S1, PORT)])
    assert aid
    conn, _ = srv.accept()
    conn.settimeout(5)
    return srv, cli, conn


def test_defaults_and_reading_back(net: Net) -> None:
    s = net.client()
    assert s.getsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE) == 1  # RFC 6458 §8.1.20
    assert s.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, 0).assoc_value == 0
    assert s.getsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER, 0).assoc_value == sctpx.SCTP_SS_FCFS
    offer_idata(s)
    assert s.getsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE) == 2
    assert s.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, 0).assoc_value == 1
    # the default: round robin with I-DATA, first come first served without
    assert s.getsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER, 0).assoc_value == sctpx.SCTP_SS_RR
    for number in (sctpx.SCTP_SS_FCFS, sctpx.SCTP_SS_PRIO, sctpx.SCTP_SS_WFQ,
                   sctpx.SCTP_SS_RR_PKT, sctpx.SCTP_SS_RR):  # fmt: skip
        s.setsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER, sctpx.AssocValue(0, number))
        assert s.getsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER, 0).assoc_value == number
    # lowering the fragment interleave level turns I-DATA off again
    s.setsockopt(SOL, sctpx.SCTP_FRAGMENT_INTERLEAVE, 1)
    assert s.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, 0).assoc_value == 0
    s.close()


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        (sctpx.SCTP_FRAGMENT_INTERLEAVE, 3, errno.EINVAL),
        (sctpx.SCTP_FRAGMENT_INTERLEAVE, -1, errno.EINVAL),
        (sctpx.SCTP_FRAGMENT_INTERLEAVE, True, errno.EINVAL),
        (sctpx.SCTP_FRAGMENT_INTERLEAVE, "2", errno.ENOPROTOOPT),
        # RFC 8260 §4.3.1: only once SCTP_FRAGMENT_INTERLEAVE is 2
        (sctpx.SCTP_INTERLEAVING_SUPPORTED, sctpx.AssocValue(0, 1), errno.EINVAL),
        (sctpx.SCTP_INTERLEAVING_SUPPORTED, 1, errno.ENOPROTOOPT),
        (sctpx.SCTP_STREAM_SCHEDULER, sctpx.AssocValue(0, 99), errno.EINVAL),
        (sctpx.SCTP_STREAM_SCHEDULER, sctpx.AssocValue(0, sctpx.SCTP_SS_FC), errno.EOPNOTSUPP),
        # a stream's value belongs to an association
        (sctpx.SCTP_STREAM_SCHEDULER_VALUE, sctpx.StreamValue(0, 1, 5), errno.EINVAL),
    ],
)
def test_bad_values_raise_and_change_nothing(net: Net, name: int, value: object,
                                             code: int) -> None:  # fmt: skip
    s = net.client()
    before = [s.getsockopt(SOL, n, 0) for n in (sctpx.SCTP_FRAGMENT_INTERLEAVE,
              sctpx.SCTP_INTERLEAVING_SUPPORTED, sctpx.SCTP_STREAM_SCHEDULER)]  # fmt: skip
    with pytest.raises(OSError) as e:
        s.setsockopt(SOL, name, value)
    assert e.value.errno == code
    after = [s.getsockopt(SOL, n, 0) for n in (sctpx.SCTP_FRAGMENT_INTERLEAVE,
             sctpx.SCTP_INTERLEAVING_SUPPORTED, sctpx.SCTP_STREAM_SCHEDULER)]  # fmt: skip
    assert after == before
    s.close()


def test_negotiated_when_both_offer_it(net: Net) -> None:
    srv, cli, conn = pair(net)
    for s in (cli, conn):
        assert s.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, 0).assoc_value == 1
        assert s.getsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER, 0).assoc_value == sctpx.SCTP_SS_RR
    aid = cli.getsockopt(SOL, sctpx.SCTP_STATUS, 0).assoc_id
    with pytest.raises(OSError) as e:  # negotiated at set-up: not changed afterwards
        cli.setsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, sctpx.AssocValue(aid, 0))
    assert e.value.errno == errno.EINVAL
    for s in (conn, cli, srv):
        s.close()


@pytest.mark.parametrize(("cli_idata", "srv_idata"), [(True, False), (False, True)])
def test_not_negotiated_unless_both_offer_it(net: Net, cli_idata: bool, srv_idata: bool) -> None:
    srv, cli, conn = pair(net, cli_idata=cli_idata, srv_idata=srv_idata)
    for s in (cli, conn):
        assert s.getsockopt(SOL, sctpx.SCTP_INTERLEAVING_SUPPORTED, 0).assoc_value == 0
        # the default scheduler follows what was negotiated: DATA, so fcfs
        assert s.getsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER, 0).assoc_value == sctpx.SCTP_SS_FCFS
    cli.sctp_send(b"q" * 5000, stream=1)
    m = conn.sctp_recv()
    assert isinstance(m, sctpx.DataReceived) and m.data == b"q" * 5000
    for s in (conn, cli, srv):
        s.close()


def test_scheduler_and_stream_value_on_an_association(net: Net) -> None:
    srv, cli, conn = pair(net)
    cli.setsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER, sctpx.AssocValue(0, sctpx.SCTP_SS_PRIO))
    assert cli.getsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER, 0).assoc_value == sctpx.SCTP_SS_PRIO
    cli.setsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER_VALUE, sctpx.StreamValue(0, 3, 7))
    got = cli.getsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER_VALUE, sctpx.StreamValue(0, 3))
    assert (got.stream_id, got.stream_value) == (3, 7)
    assert cli.getsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER_VALUE, (0, 3)).stream_value == 7
    with pytest.raises(OSError) as e:  # a stream the association does not have
        cli.setsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER_VALUE, sctpx.StreamValue(0, 4000, 1))
    assert e.value.errno == errno.EINVAL
    assert cli.getsockopt(SOL, sctpx.SCTP_STREAM_SCHEDULER_VALUE, (0, 3)).stream_value == 7
    for s in (conn, cli, srv):
        s.close()


def test_small_messages_pass_a_large_one_and_parts_carry_their_stream(net: Net) -> None:
    """With I-DATA and round robin, 100-byte messages on stream 1 sent after a 300 KB one
    on stream 0 arrive before it is complete; the large one is read in parts (larger than
    the receive buffer), each part's stream_id telling which message it continues."""
    srv, cli, conn = pair(net, rcvbuf=65536)
    big = bytes(i % 251 for i in range(300_000))
    cli.sctp_send(big, stream=0)
    small = [b"s%02d" % i + b"." * 97 for i in range(20)]
    for m in small:
        cli.sctp_send(m, stream=1)
    parts: dict[int, bytes] = {}
    whole: list[tuple[int, bytes]] = []
    for _ in range(1000):
        if len(whole) == 21:
            break
        ev = conn.sctp_recv()
        assert isinstance(ev, sctpx.DataReceived), ev
        buf = parts.pop(ev.stream_id, b"") + ev.data
        if ev.complete:
            whole.append((ev.stream_id, buf))
        else:
            parts[ev.stream_id] = buf
    assert [d for sid, d in whole if sid == 1] == small
    assert [d for sid, d in whole if sid == 0] == [big]
    assert whole.index((1, small[0])) < whole.index((0, big))
    for s in (conn, cli, srv):
        s.close()
