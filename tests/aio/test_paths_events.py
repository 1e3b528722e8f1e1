"""paths() and events(): states of peer addresses, COMM_UP, PEER_ADDR_CHANGE, set_primary."""

from __future__ import annotations

import errno

import pytest

from sctpx.core import (
    AssocChange,
    AssocChangeState,
    Event,
    PeerAddrChange,
    PeerAddrState,
    SenderDry,
)

from .support import DEAD, S1, S2, connect, run, serve, wait


async def _next(events: object, kind: type, pred: object = None) -> Event:
    """The next event of ``kind`` (matching ``pred``) from an events() iterator."""
    assert hasattr(events, "__anext__")
    while True:
        ev: Event = await wait(events.__anext__())
        if isinstance(ev, kind) and (pred is None or pred(ev)):  # type: ignore[operator]
            return ev


def test_paths_of_listed_addresses() -> None:
    async def main() -> None:
        server = await serve()
        assoc = await connect(server, [DEAD, S1, S2])
        for i in range(20):  # some traffic: RTT samples and a cwnd on the primary
            assoc.send(b"%d" % i)
            await wait(assoc.recv())
        paths = {p.address: p for p in assoc.paths()}
        assert set(paths) == {S1, S2}  # the refused, unlisted-by-the-peer one is gone
        p1, p2 = paths[S1], paths[S2]
        assert (p1.state, p1.confirmed, p1.primary) == ("ACTIVE", True, True)
        assert (p2.state, p2.confirmed, p2.primary) == ("ACTIVE", True, False)  # listed
        assert p1.srtt is not None and 0 < p1.srtt < 0.5
        assert p1.rto >= 1.0 and p1.cwnd >= 4380  # RFC 9260 §7.2.1: min(4 MTU, max(2 MTU, 4380))
        assert p2.cwnd == 0  # no data sent there yet
        assert [p.address for p in assoc.paths() if p.primary] == [S1]
        await wait(assoc.close())
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_events_comm_up_then_unlisted_address_confirmed() -> None:
    async def main() -> None:
        server = await serve()
        assoc = await connect(server, [S1])  # S2 comes only from the INIT ACK: unconfirmed
        states = {p.address: p.state for p in assoc.paths()}
        assert states[S1] == "ACTIVE"
        events = assoc.events()
        first = await wait(events.__anext__())
        assert isinstance(first, AssocChange) and first.state is AssocChangeState.COMM_UP
        assert first.assoc_id == assoc.assoc_id and first.outbound_streams == 10
        ev = await _next(events, PeerAddrChange)
        assert isinstance(ev, PeerAddrChange)
        assert (ev.address, ev.state) == (S2, PeerAddrState.CONFIRMED)  # nonce HEARTBEAT ACKed
        assert {p.address: p.state for p in assoc.paths()} == {S1: "ACTIVE", S2: "ACTIVE"}
        with pytest.raises(OSError) as ei:
            assoc.set_primary("127.0.0.77")
        assert ei.value.errno == errno.EINVAL

        assoc.set_primary(S2)
        ev = await _next(events, PeerAddrChange)
        assert isinstance(ev, PeerAddrChange)
        assert (ev.address, ev.state) == (S2, PeerAddrState.MADE_PRIM)
        assert [p.address for p in assoc.paths() if p.primary] == [S2]
        assert assoc.primary_address == (S2, server.port)
        assoc.send(b"via S2")
        assert (await wait(assoc.recv())).data == b"via S2"
        assert await _next(events, SenderDry)
        assert {p.address: p.cwnd > 0 for p in assoc.paths()} == {S1: False, S2: True}

        await wait(assoc.close())
        end = await _next(events, AssocChange)
        assert isinstance(end, AssocChange) and end.state is AssocChangeState.SHUTDOWN_COMP
        with pytest.raises(StopAsyncIteration):  # the iterator ends with the association
            await wait(events.__anext__())
        with pytest.raises(OSError) as ei:
            assoc.set_primary(S1)
        assert ei.value.errno == errno.ENOTCONN
        server.close()
        await wait(server.wait_closed())

    run(main)
