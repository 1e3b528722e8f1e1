"""Shared set-up for the simulator scenarios: a client and a server endpoint on a network.

Addresses: the client has one address per link (198.18.1.1, 198.18.2.1); the
server has 198.18.1.2, 198.18.2.2 and 198.18.3.2. Every link has 10 ms of
one-way delay unless a test changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sctpx import wire as w
from sctpx.core import AssocChange, AssocChangeState, Config, Endpoint, Event, State
from sctpx.core.association import Association
from sctpx.sim import ANY, Network, TraceRecord

C1, C2 = "198.18.1.1", "198.18.2.1"
P1, P2, P3 = "198.18.1.2", "198.18.2.2", "198.18.3.2"
DEAD = "198.18.9.9"  # no host owns it: a black hole
CPORT, SPORT = 40000, 5000
DELAY = 0.01


@dataclass
class Pair:
    net: Network
    client: Endpoint
    server: Endpoint
    cevents: list[Event] = field(default_factory=list)
    sevents: list[Event] = field(default_factory=list)
    server_messages: int = 0  # DataReceived events the server has had (cheap to poll)

    def connectx(self, addrs: list[str], **options: Any) -> int:
        aid = self.client.connectx([(a, SPORT) for a in addrs], self.net.now, **options)
        self.net.poke(self.client)
        return aid

    def drain(self) -> None:
        for ep, out in ((self.client, self.cevents), (self.server, self.sevents)):
            got = False
            while (e := ep.next_event()) is not None:
                out.append(e)
                got = True
                if ep is self.server and type(e).__name__ == "DataReceived":
                    self.server_messages += 1
            if got:  # reading may have opened the window: let a window update go (§6.2)
                self.net.poke(ep)

    def run_until(self, pred: Any, timeout: float) -> bool:
        def check() -> bool:
            self.drain()
            return bool(pred())

        ok = self.net.run_until(check, timeout)
        self.drain()
        return ok

    def run_for(self, seconds: float) -> None:
        self.net.run_for(seconds)
        self.drain()

    def changes(self, side: str = "c") -> list[AssocChange]:
        evs = self.cevents if side == "c" else self.sevents
        return [e for e in evs if isinstance(e, AssocChange)]

    def up(self, side: str = "c") -> AssocChange | None:
        return next((e for e in self.changes(side) if e.state is AssocChangeState.COMM_UP), None)

    def ended(self, side: str = "c") -> AssocChange | None:
        done = {AssocChangeState.CANT_STR_ASSOC, AssocChangeState.COMM_LOST,
                AssocChangeState.SHUTDOWN_COMP}  # fmt: skip
        return next((e for e in self.changes(side) if e.state in done), None)

    def assoc(self, aid: int, side: str = "c") -> Association:
        return (self.client if side == "c" else self.server).association(aid)

    def server_assoc(self) -> Association:
        [a] = self.server.associations.values()
        return a

    def up_time(self) -> float:
        """When the client's association reached ESTABLISHED (the COOKIE ACK's arrival)."""
        acks = self.net.packets(chunk=w.CookieAckChunk, dst=(C1, 9899)) + self.net.packets(
            chunk=w.CookieAckChunk, dst=(C2, 9899)
        )
        return min(r.arrived for r in acks if r.arrived is not None)


def make_pair(
    seed: int = 1,
    client_addrs: tuple[str, ...] = (C1, C2),
    server_addrs: tuple[str, ...] = (P1, P2, P3),
    client_cfg: Config | None = None,
    server_cfg: Config | None = None,
    server_udp: int = 9899,
    listen: bool = True,
) -> Pair:
    net = Network(seed=seed)
    net.link(ANY, ANY, delay=DELAY)
    ch = net.add_host("client", list(client_addrs))
    sh = net.add_host("server", list(server_addrs), udp_port=server_udp)
    client = Endpoint(CPORT, list(client_addrs), rng=net.rng("client"), config=client_cfg)
    server = Endpoint(
        SPORT, list(server_addrs), rng=net.rng("server"), config=server_cfg, udp_port=server_udp
    )
    if listen:
        server.listen()
    ch.attach(CPORT, client)
    sh.attach(SPORT, server)
    return Pair(net, client, server)


def sent(net: Network, chunk: type, dst: str | None = None) -> list[TraceRecord]:
    """Datagrams carrying ``chunk``, in send order, optionally to one IP."""
    return net.packets(chunk=chunk, dst=dst, duplicates=False)


def established(p: Pair, aid: int) -> bool:
    return aid in p.client.associations and p.assoc(aid).state is State.ESTABLISHED
