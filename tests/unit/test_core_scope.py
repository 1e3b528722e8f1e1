"""Which of our addresses an INIT or INIT ACK lists: loopback only to loopback; new addresses.

A wildcard bind gives an endpoint 127.0.0.1 beside the host's real addresses; a peer
elsewhere must never be told to reach us at its own loopback (issue 12 item 6).
"""

from __future__ import annotations

import random

from sctpx import wire as w
from sctpx.core import Endpoint

LOCAL = ["127.0.0.1", "198.18.1.1", "198.18.2.1"]


def listed(chunk: w.InitChunk | w.InitAckChunk) -> list[str]:
    return [p.address for p in chunk.params
            if isinstance(p, (w.IPv4AddressParam, w.IPv6AddressParam))]  # fmt: skip


def first_init(ep: Endpoint, peer: str) -> w.InitChunk:
    ep.connectx([(peer, 5000)], 0.0, init_stagger=0)
    [(data, _s, _d)] = ep.datagrams_to_send(0.0)
    init = w.decode_packet(data).chunks[0]
    assert isinstance(init, w.InitChunk)
    return init


def test_init_lists_loopback_only_to_a_loopback_peer() -> None:
    assert listed(first_init(Endpoint(40000, LOCAL, rng=random.Random(1)), "198.18.1.2")) == [
        "198.18.1.1", "198.18.2.1"
    ]  # fmt: skip
    assert listed(first_init(Endpoint(40001, LOCAL, rng=random.Random(1)), "127.0.0.2")) == LOCAL


def init_ack_for(src: str) -> w.InitAckChunk:
    srv = Endpoint(5000, LOCAL, rng=random.Random(2))
    srv.listen()
    init = w.InitChunk(0x1234, 65536, 10, 10, 1)
    srv.receive(w.encode_packet(w.Packet(40000, 5000, 0, [init])), (src, 9899),
                (LOCAL[1] if not src.startswith("127.") else LOCAL[0], 9899), 0.0)  # fmt: skip
    [(data, _s, _d)] = srv.datagrams_to_send(0.0)
    ack = w.decode_packet(data).chunks[0]
    assert isinstance(ack, w.InitAckChunk)
    return ack


def test_init_ack_lists_loopback_only_to_a_loopback_peer() -> None:
    assert listed(init_ack_for("198.18.1.2")) == ["198.18.1.1", "198.18.2.1"]
    assert listed(init_ack_for("127.0.0.2")) == LOCAL


def test_new_addresses_are_listed_by_later_set_ups() -> None:
    ep = Endpoint(40002, ["198.18.1.1"], rng=random.Random(3))
    assert listed(first_init(ep, "198.18.1.2")) == []  # single-homed: none listed
    ep.set_addresses(["198.18.1.1", "198.18.3.1"])
    assert ep.addresses == ["198.18.1.1", "198.18.3.1"]
    ep.connectx([("198.18.9.2", 5000)], 0.1, init_stagger=0)
    [(data, _s, _d)] = ep.datagrams_to_send(0.1)
    init = w.decode_packet(data).chunks[0]
    assert isinstance(init, w.InitChunk) and listed(init) == ["198.18.1.1", "198.18.3.1"]
    for bad in ([], ["not an address"]):
        try:
            ep.set_addresses(bad)
        except OSError as e:
            assert e.errno == 22
        else:
            raise AssertionError(f"set_addresses({bad!r}) accepted")
    assert ep.addresses == ["198.18.1.1", "198.18.3.1"]  # nothing lost
