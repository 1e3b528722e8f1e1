"""Endpoint.connectx arguments and the INIT it sends (ERR-01/02/06/08, INIT-01..08, T1-06)."""

from __future__ import annotations

import errno
import random

import pytest

from sctpx import wire as w
from sctpx.core import Config, Endpoint, UsageError

PEER = [("198.18.1.2", 5001), ("198.18.2.2", 5001)]


def ep(addrs: tuple[str, ...] = ("198.18.1.1",), seed: int = 1, **cfg: object) -> Endpoint:
    return Endpoint(5000, list(addrs), rng=random.Random(seed), config=Config(**cfg))  # type: ignore[arg-type]


def inits(e: Endpoint) -> list[tuple[w.Packet, bytes, tuple[str, int], tuple[str, int]]]:
    return [(w.decode_packet(d), d, s, t) for d, s, t in e.datagrams_to_send(0.0)]


@pytest.mark.parametrize(
    ("addrs", "code"),
    [
        ([], errno.EINVAL),  # ERR-01
        ([("198.18.1.2", 5001), ("not-an-ip", 5001)], errno.EINVAL),  # ERR-02
        ([("198.18.1.2", 5001), ("/tmp/sock",)], errno.EINVAL),
        ([("198.18.1.2", 0)], errno.EINVAL),
        ([("198.18.1.2", 70000)], errno.EINVAL),
        ([("198.18.1.2", 5001), ("198.18.2.2", 5002)], errno.EINVAL),  # one peer, one port
        ([("fd00::2", 5001)], errno.EINVAL),  # no local IPv6 address
    ],
)
def test_bad_arguments_raise_and_leave_no_trace(addrs: list, code: int) -> None:  # type: ignore[type-arg]
    e = ep()
    with pytest.raises(OSError) as ei:
        e.connectx(addrs, 0.0)
    assert ei.value.errno == code
    assert isinstance(ei.value, UsageError)
    assert e.associations == {} and e.datagrams_to_send(0.0) == []  # ERR-06
    assert e.get_timer() is None and e.next_event() is None


def test_unknown_option_is_einval() -> None:
    e = ep()
    with pytest.raises(OSError) as ei:
        e.connectx(PEER, 0.0, no_such_option=1)
    assert ei.value.errno == errno.EINVAL and e.associations == {}


def test_peer_already_associated_is_ealready_then_eisconn() -> None:  # ERR-08
    e = ep()
    e.connectx(PEER, 0.0)
    with pytest.raises(OSError) as ei:
        e.connectx([("198.18.3.2", 5001), ("198.18.2.2", 5001)], 0.0)
    assert ei.value.errno == errno.EALREADY
    assert len(e.associations) == 1


def test_init_packet_fields() -> None:  # INIT-01..03, INIT-05, INIT-08, T1-06
    e = ep()
    aid = e.connectx(PEER, 0.0)
    assert aid not in (0, 1, 2)
    [(pkt, _raw, src, dst)] = inits(e)
    assert dst == ("198.18.1.2", 9899) and src == ("198.18.1.1", 9899)
    assert pkt.verification_tag == 0 and len(pkt.chunks) == 1
    assert (pkt.src_port, pkt.dst_port) == (5000, 5001)
    init = pkt.chunks[0]
    assert isinstance(init, w.InitChunk) and init.flags == 0
    assert init.initiate_tag != 0 and init.a_rwnd >= 1500
    assert init.outbound_streams >= 1 and init.inbound_streams >= 1
    kinds = [type(p) for p in init.params]
    assert w.IPv4AddressParam not in kinds  # INIT-04: single-homed lists none
    assert w.HostNameAddressParam not in kinds
    sat = next(p for p in init.params if isinstance(p, w.SupportedAddressTypesParam))
    assert sat.address_types == (5,)
    ext = next(p for p in init.params if isinstance(p, w.SupportedExtensionsParam))
    assert 64 not in ext.chunk_types  # no I-DATA unless asked for


def test_multihomed_init_lists_every_local_address() -> None:  # INIT-04
    e = ep(("198.18.1.1", "198.18.2.1", "fd00::1"))
    e.connectx(PEER, 0.0)
    [(pkt, *_)] = inits(e)
    init = pkt.chunks[0]
    assert isinstance(init, w.InitChunk)
    v4 = [p.address for p in init.params if isinstance(p, w.IPv4AddressParam)]
    v6 = [p.address for p in init.params if isinstance(p, w.IPv6AddressParam)]
    assert v4 == ["198.18.1.1", "198.18.2.1"] and v6 == ["fd00::1"]
    ext = next(p for p in init.params if isinstance(p, w.SupportedExtensionsParam))
    assert 64 not in ext.chunk_types and 192 in ext.chunk_types  # INIT-08


def test_interleaving_is_accepted_and_announced() -> None:  # INIT-08, RFC 8260 §2.2
    """I-DATA exists now: interleaving=True is taken and the INIT lists I-DATA (64) among
    its supported extensions (RFC 5061 §4.2.7); without it, it does not."""

    def announced(**cfg: object) -> set[int]:
        e = ep(**cfg)
        e.connectx(PEER, 0.0)
        [(pkt, _d, _s, _t)] = inits(e)
        init = pkt.chunks[0]
        assert isinstance(init, w.InitChunk)
        return {t for p in init.params if isinstance(p, w.SupportedExtensionsParam)
                for t in p.chunk_types}  # fmt: skip

    assert 64 in announced(interleaving=True)
    assert 64 not in announced()


def test_tags_random_nonzero_and_new_per_association() -> None:  # INIT-02, INIT-07
    tags = set()
    for seed in range(200):
        e = ep(seed=seed)
        e.connectx(PEER, 0.0)
        e.abort(next(iter(e.associations)), 0.0)
        e.connectx(PEER, 0.0)
        for pkt, *_ in inits(e):
            if isinstance(pkt.chunks[0], w.InitChunk):
                tags.add(pkt.chunks[0].initiate_tag)
    assert 0 not in tags and len(tags) == 400


def test_resent_init_is_byte_identical_to_next_address() -> None:  # INIT-06, T1-05
    e = ep(init_stagger=0)
    e.connectx([*PEER, ("198.18.3.2", 5001)], 0.0)
    first = inits(e)
    e.handle_timer(1.0)
    second = inits(e)
    assert first[0][1] == second[0][1]
    assert [x[3][0] for x in first + second] == ["198.18.1.2", "198.18.2.2"]
