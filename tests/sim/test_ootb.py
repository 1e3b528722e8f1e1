"""connectx to a port where nobody listens: refused within one RTT (RFC 9260 §8.4 rule 3).

The server host runs an endpoint on another port and, for every other SCTP
port, the out-of-the-blue responder the stack puts there (a catch-all driver
here), over UDP encapsulation and over raw IP.
"""

from __future__ import annotations

import errno

import pytest

from sctpx import wire as w
from sctpx.core import AssocChangeState, Endpoint
from sctpx.core.ootb import OotbResponder
from sctpx.core.types import Addr, Datagram, UnreachableKind
from sctpx.sim import ANY, Network

from .scenario import C1, DEAD, DELAY, P1, P2, SPORT, sent

CPORT, OTHER_PORT = 40000, 6000
RTT = 2 * DELAY


class OotbDriver:
    """What a stack does with a datagram for a port without an endpoint."""

    def __init__(self) -> None:
        self.responder = OotbResponder()
        self._out: list[Datagram] = []

    def receive(self, data: bytes, src: Addr, dst: Addr, now: float) -> None:
        self._out += self.responder.reply(data, src, dst, now)

    def receive_unreachable(
        self, dst: Addr, kind: UnreachableKind, quoted: bytes, now: float
    ) -> None:
        pass

    def datagrams_to_send(self, now: float) -> list[Datagram]:
        out, self._out = self._out, []
        return out

    def get_timer(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> None:
        pass


def setup(udp: int) -> tuple[Network, Endpoint, OotbDriver]:
    net = Network(seed=4)
    net.link(ANY, ANY, delay=DELAY)
    ch = net.add_host("client", [C1])
    sh = net.add_host("server", [P1, P2])
    client = Endpoint(CPORT, [C1], rng=net.rng("client"), udp_port=udp)
    other = Endpoint(OTHER_PORT, [P1, P2], rng=net.rng("server"), udp_port=udp)
    other.listen()  # listening, but on another port
    ch.attach(CPORT, client)
    sh.attach(OTHER_PORT, other)
    ootb = OotbDriver()
    sh.attach(None, ootb)
    return net, client, ootb


def refused_at(net: Network, client: Endpoint, aid: int) -> float:
    net.run_until(lambda: aid not in client.associations, 30)
    evs = []
    while (e := client.next_event()) is not None:
        evs.append(e)
    [end] = evs
    assert (end.state, end.error) == (  # type: ignore[attr-defined]
        AssocChangeState.CANT_STR_ASSOC, errno.ECONNREFUSED,
    )  # fmt: skip
    return net.now


@pytest.mark.parametrize("udp", [9899, 0], ids=["udp", "raw-ip"])
def test_connect_to_closed_port_refused_within_one_rtt(udp: int) -> None:
    net, client, ootb = setup(udp)
    aid = client.connectx([(P1, SPORT)], 0.0, remote_udp_port=udp)
    net.poke(client)
    assert refused_at(net, client, aid) == pytest.approx(RTT)
    [abort] = sent(net, w.AbortChunk)
    assert abort.src == (P1, udp) and abort.dst == (C1, udp)
    pkt = w.decode_packet(abort.data)
    init = w.decode_packet(sent(net, w.InitChunk)[0].data).chunks[0]
    assert isinstance(init, w.InitChunk)
    assert pkt.verification_tag == init.initiate_tag and pkt.chunks == [w.AbortChunk()]
    assert ootb.responder.replies == 1
    net.run_for(10)
    assert len(net.trace) == 2  # one INIT, one ABORT; nothing answers the ABORT


@pytest.mark.parametrize("udp", [9899, 0], ids=["udp", "raw-ip"])
def test_dead_first_address_then_closed_port_refused_after_stagger(udp: int) -> None:
    net, client, _ootb = setup(udp)
    aid = client.connectx([(DEAD, SPORT), (P1, SPORT), (P2, SPORT)], 0.0, remote_udp_port=udp)
    net.poke(client)
    stagger = client.config.init_stagger
    assert stagger > 0
    assert refused_at(net, client, aid) == pytest.approx(stagger + RTT)  # T1-12: all of it
    assert [r.dst[0] for r in sent(net, w.InitChunk)] == [DEAD, P1]
