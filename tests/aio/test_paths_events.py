"""paths() and events(): states of peer addresses, COMM_UP, PEER_ADDR_CHANGE, set_primary."""

from __future__ import annotations

import asyncio
import errno

import pytest

from sctpx.core import (
    AssocChange,
    AssocChangeState,
    Config,
    Event,
    PeerAddrChange,
    PeerAddrState,
    SenderDry,
)

from .support import DEAD, S1, S2, connect, run, serve, wait


async def _next(events: object, kind: type, pred: object = None, timeout: float = 5.0) -> Event:
    """The next event of ``kind`` (matching ``pred``) from an events() iterator."""
    assert hasattr(events, "__anext__")
    while True:
        ev: Event = await wait(events.__anext__(), timeout)
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


@pytest.mark.parametrize(
    "hb_interval",
    [
        30.0,  # the PF path is probed one RTO after its T3, not at the next idle HEARTBEAT
        0.2,  # the idle HEARTBEAT comes soon anyway: the PF path is probed every RTO after it
    ],
)
def test_path_failure_and_recovery_in_paths_and_events(hb_interval: float) -> None:
    async def main() -> None:
        server = await serve()
        assoc = await connect(server, config=Config(hb_interval=hb_interval))
        events = assoc.events()
        server.stack.blackhole(S1)  # a firewall on the server's S1, both ways
        assoc.send(b"through the other path")
        # T3-rtx (or an unanswered HEARTBEAT) after 1 s: SCTP-PF at the first timeout
        ev = await _next(events, PeerAddrChange)
        assert isinstance(ev, PeerAddrChange)
        assert (ev.address, ev.state) == (S1, PeerAddrState.POTENTIALLY_FAILED)
        paths = {p.address: p for p in assoc.paths()}
        assert paths[S1].state == "PF" and paths[S1].primary  # still the primary (failback)
        assert paths[S1].rto >= 2.0  # backed off
        assert (await wait(assoc.recv())).data == b"through the other path"  # via S2
        assert paths[S2].state == "ACTIVE"
        server.stack.blackhole(S1, on=False)
        ev = await _next(events, PeerAddrChange, timeout=2.5)  # probed every RTO (2 s)
        assert isinstance(ev, PeerAddrChange)
        assert (ev.address, ev.state) == (S1, PeerAddrState.AVAILABLE)
        assert {p.address: p.state for p in assoc.paths()} == {S1: "ACTIVE", S2: "ACTIVE"}
        await wait(assoc.close())
        server.close()
        await wait(server.wait_closed())

    run(main)


def test_unconfirmed_address_until_its_probe_is_answered() -> None:
    async def main() -> None:
        server = await serve()
        server.stack.blackhole(S2)  # the nonce HEARTBEAT to S2 goes unanswered
        assoc = await connect(server, [S1])  # S2 only in the INIT ACK
        await asyncio.sleep(0.05)
        states = {p.address: (p.state, p.confirmed) for p in assoc.paths()}
        assert states == {S1: ("ACTIVE", True), S2: ("UNCONFIRMED", False)}
        with pytest.raises(OSError) as ei:
            assoc.set_primary(S2)  # PV-07: never an unconfirmed primary
        assert ei.value.errno == errno.EINVAL
        server.stack.blackhole(S2, on=False)
        events = assoc.events()
        ev = await _next(events, PeerAddrChange)  # the next probe, one RTO later
        assert isinstance(ev, PeerAddrChange)
        assert (ev.address, ev.state) == (S2, PeerAddrState.CONFIRMED)
        assoc.set_primary(S2)
        await wait(assoc.close())
        server.close()
        await wait(server.wait_closed())

    run(main)
