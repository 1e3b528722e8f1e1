"""ICMP errors from the kernel's error queue reach the core: fast set-up past dead addresses."""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable

import pytest

from sctpx.core import AssocChangeState, Config, UnreachableKind
from sctpx.net import Stack
from sctpx.net.icmp import (
    IP_RECVERR,
    IPV6_RECVERR,
    SO_EE_ORIGIN_ICMP,
    SO_EE_ORIGIN_ICMP6,
    SO_EE_ORIGIN_LOCAL,
    SOL_IP,
    SOL_IPV6,
    ExtendedError,
    pack_extended_error,
    parse_ancillary,
    unreachable_kind,
)

from .conftest import Events, Pair

K = UnreachableKind


@pytest.mark.parametrize(
    ("origin", "type_", "code", "kind"),
    [
        (SO_EE_ORIGIN_ICMP, 3, 0, K.NET),
        (SO_EE_ORIGIN_ICMP, 3, 1, K.HOST),
        (SO_EE_ORIGIN_ICMP, 3, 2, K.PROTOCOL),
        (SO_EE_ORIGIN_ICMP, 3, 3, K.PORT),
        (SO_EE_ORIGIN_ICMP, 3, 4, K.FRAG_NEEDED),
        (SO_EE_ORIGIN_ICMP, 3, 5, None),  # source route failed
        (SO_EE_ORIGIN_ICMP, 11, 0, None),  # time exceeded
        (SO_EE_ORIGIN_ICMP6, 1, 0, K.NET),
        (SO_EE_ORIGIN_ICMP6, 1, 3, K.HOST),
        (SO_EE_ORIGIN_ICMP6, 1, 4, K.PORT),
        (SO_EE_ORIGIN_ICMP6, 2, 0, K.FRAG_NEEDED),
        (SO_EE_ORIGIN_ICMP6, 4, 1, K.PROTOCOL),  # RFC 6951 §5.5 rule 2
        (SO_EE_ORIGIN_ICMP6, 4, 0, None),
        (SO_EE_ORIGIN_ICMP6, 3, 0, None),  # hop limit exceeded
    ],
)
def test_icmp_mapping(origin: int, type_: int, code: int, kind: UnreachableKind | None) -> None:
    level, opt = (SOL_IP, IP_RECVERR) if origin == SO_EE_ORIGIN_ICMP else (SOL_IPV6, IPV6_RECVERR)
    raw = pack_extended_error(ExtendedError(errno.ECONNREFUSED, origin, type_, code, 0))
    err = parse_ancillary([(level, opt, raw + bytes(16))])
    assert err is not None and (err.origin, err.type, err.code) == (origin, type_, code)
    assert unreachable_kind(err) is kind


def test_extended_error_edge_cases() -> None:
    assert parse_ancillary([]) is None
    assert parse_ancillary([(SOL_IP, IP_RECVERR, b"\x00" * 5)]) is None  # truncated
    assert parse_ancillary([(1, 2, b"\x00" * 32)]) is None  # another control message
    local = ExtendedError(errno.EMSGSIZE, SO_EE_ORIGIN_LOCAL, 0, 0, 1400)
    assert unreachable_kind(local) is K.FRAG_NEEDED
    assert unreachable_kind(ExtendedError(errno.EPERM, SO_EE_ORIGIN_LOCAL, 0, 0, 0)) is None


def test_port_unreachable_moves_the_init_on_at_once(pair: Pair) -> None:
    """Nothing on 127.0.0.9's UDP port: ICMP port unreachable, the next address gets the INIT."""
    signals: list[tuple[tuple[str, int], UnreachableKind, float]] = []
    # The signals the client's stack gives its endpoint (Stack._unreachable calls its
    # receive_unreachable; the compiled core's methods cannot be replaced on an Endpoint).
    client = pair.client
    real = client._unreachable

    def spy(dst: tuple[str, int], kind: UnreachableKind, quoted: bytes, now: float) -> None:
        given = client.stats.unreachable
        real(dst, kind, quoted, now)
        if client.stats.unreachable > given:  # it reached the endpoint
            signals.append((dst, kind, time.monotonic()))

    client._unreachable = spy  # type: ignore[method-assign]
    t0 = time.monotonic()
    aid = pair.connect(("127.0.0.9", "127.0.0.2", "127.0.0.3"))
    up = pair.cev.assoc_change(AssocChangeState.COMM_UP, timeout=2)
    elapsed = time.monotonic() - t0
    assert up.assoc_id == aid
    assert elapsed < 0.3, f"set-up took {elapsed:.3f} s (a T1 expiry would be 1 s)"
    ((dst, kind, at),) = signals
    assert (dst, kind) == (("127.0.0.9", pair.server.udp_port), UnreachableKind.PORT)
    print(
        f"\nICMP port unreachable after {(at - t0) * 1000:.1f} ms,"
        f" COMM_UP after {elapsed * 1000:.1f} ms"
    )
    paths = pair.client.call(lambda now: set(pair.cep.association(aid).paths))
    assert "127.0.0.9" not in paths  # the INIT ACK did not list it


def test_all_refused_gives_econnrefused(pair: Pair) -> None:
    t0 = time.monotonic()
    aid = pair.connect(("127.0.0.9", "127.0.0.10"))
    ev = pair.cev.assoc_change(AssocChangeState.CANT_STR_ASSOC, timeout=2)
    elapsed = time.monotonic() - t0
    assert (ev.assoc_id, ev.error) == (aid, errno.ECONNREFUSED)
    assert elapsed < 0.3, f"failure took {elapsed:.3f} s"
    assert pair.client.stats.unreachable >= 2


def test_icmpv6_port_unreachable(make_stack: Callable[..., Stack]) -> None:
    """Over ::1: nothing listens on the remote UDP port, ICMPv6 says so, ECONNREFUSED."""
    stack = make_stack()
    events = Events()
    probe = make_stack()  # only to get a free UDP port that then has no socket
    probe.open_endpoint(1, ["::1"], None, Events())
    dead_port = probe.udp_port
    probe.close()
    ep = stack.open_endpoint(0, ["::1"], Config(remote_udp_port=dead_port), events)
    t0 = time.monotonic()
    aid = stack.call(lambda now: ep.connectx([("::1", 5000)], now))
    ev = events.assoc_change(AssocChangeState.CANT_STR_ASSOC, timeout=2)
    assert (ev.assoc_id, ev.error) == (aid, errno.ECONNREFUSED)
    assert time.monotonic() - t0 < 0.3
    assert stack.stats.unreachable == 1


def test_silent_address_costs_one_t1(make_stack: Callable[..., Stack]) -> None:
    """A listed address that drops INITs silently (no ICMP): the stack's timer fires T1."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        pair = Pair(make_stack)
        silent.bind(("127.0.0.8", pair.server.udp_port))  # takes the INIT, says nothing
        t0 = time.monotonic()
        pair.connect(("127.0.0.8", "127.0.0.2"), rto_initial=0.2, rto_min=0.2)
        pair.cev.assoc_change(AssocChangeState.COMM_UP, timeout=3)
        elapsed = time.monotonic() - t0
        assert 0.2 <= elapsed < 0.6, f"set-up took {elapsed:.3f} s, T1 is 0.2 s"
        assert silent.recv(2000)[12] == 1  # it did get the INIT
        assert pair.client.stats.unreachable == 0
    finally:
        silent.close()


class NoRoute:
    """A socket whose sendto fails with ENETUNREACH for one destination IP."""

    def __init__(self, sock: socket.socket, ip: str) -> None:
        self._sock, self._ip = sock, ip

    def sendto(self, data: bytes, addr: tuple[str, int]) -> int:
        if addr[0] == self._ip:
            raise OSError(errno.ENETUNREACH, "Network is unreachable")
        return self._sock.sendto(data, addr)

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


def test_local_no_route_counts_as_unreachable(pair: Pair) -> None:
    """sendto's ENETUNREACH is given to the core like an ICMP net unreachable."""
    us = pair.client._transport.socks["127.0.0.1"]
    us.sock = NoRoute(us.sock, "127.0.0.9")  # type: ignore[assignment]
    t0 = time.monotonic()
    aid = pair.connect(("127.0.0.9",))
    ev = pair.cev.assoc_change(AssocChangeState.CANT_STR_ASSOC, timeout=2)
    assert (ev.assoc_id, ev.error) == (aid, errno.ENETUNREACH)
    assert time.monotonic() - t0 < 0.3
    assert pair.client.stats.send_errors == 1 and pair.client.stats.unreachable == 1
