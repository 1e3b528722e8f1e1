"""sctp_connectx argument and descriptor errors (connectx-requirements §1-2): no network needed.

Every check here happens before anything is opened: the sockets are never bound,
so no endpoint exists and nothing can be sent.
"""

from __future__ import annotations

import errno
import os
import socket as pysocket
import struct
import tempfile

import pytest

import sctpx
from sctpx.api.sockaddr import pack_sockaddrs, unpack_sockaddrs

P = [("127.0.0.2", 5000), ("127.0.0.3", 5000)]


@pytest.fixture
def s() -> sctpx.socket:
    sock = sctpx.socket(sctpx.AF_INET, sctpx.SOCK_SEQPACKET)
    yield sock
    sock.close()


def code(fn: object, *args: object, **kw: object) -> int | None:
    with pytest.raises(OSError) as ei:
        fn(*args, **kw)  # type: ignore[operator]
    return ei.value.errno


def test_no_addresses_is_einval(s: sctpx.socket) -> None:  # ERR-01
    assert code(s.connectx, []) == errno.EINVAL
    assert code(sctpx.sctp_connectx, s, b"", 0) == errno.EINVAL
    assert code(sctpx.sctp_connectx, s, pack_sockaddrs(P), -1) == errno.EINVAL
    assert code(sctpx.sctp_connectx, s, P, 0) == errno.EINVAL


def test_invalid_family_is_einval(s: sctpx.socket) -> None:  # ERR-02
    bad = pack_sockaddrs(P[:1]) + struct.pack("=H", 99) + b"\0" * 14
    assert code(sctpx.sctp_connectx, s, bad, 2) == errno.EINVAL
    assert code(s.connectx, [P[0], ("/tmp/sock", 5000)]) == errno.EINVAL
    assert code(s.connectx, [P[0], "127.0.0.3"]) == errno.EINVAL


def test_count_beyond_the_data_is_e2big(s: sctpx.socket) -> None:  # ERR-03
    two = pack_sockaddrs(P)
    assert len(two) == 32
    assert code(sctpx.sctp_connectx, s, two, 3) == errno.E2BIG
    assert code(sctpx.sctp_connectx, s, two[:-1], 2) == errno.E2BIG  # the last cut short
    assert code(sctpx.sctp_connectx, s, P, 3) == errno.E2BIG


def test_packed_layout_mixes_families_without_padding() -> None:  # API-05
    addrs = [("127.0.0.2", 5000), ("::1", 5000), ("127.0.0.3", 5000)]
    buf = pack_sockaddrs(addrs)
    assert len(buf) == 16 + 28 + 16
    assert unpack_sockaddrs(buf, 3) == addrs
    padded = b"".join(pack_sockaddrs([a]).ljust(128, b"\0") for a in addrs)
    with pytest.raises(OSError) as ei:
        unpack_sockaddrs(padded, 3)
    assert ei.value.errno == errno.EINVAL


def test_bad_descriptors() -> None:  # ERR-04, ERR-05, ERR-07
    dead = sctpx.socket()
    fd = dead.fileno()
    dead.close()
    assert code(sctpx.sctp_connectx, fd, P) == errno.EBADF
    assert code(sctpx.sctp_connectx, dead, P) == errno.EBADF
    assert code(sctpx.sctp_connectx, -1, P) == errno.EBADF
    assert code(sctpx.sctp_connectx, -1, []) == errno.EBADF  # descriptor checked first
    with tempfile.TemporaryFile() as f:
        assert code(sctpx.sctp_connectx, f.fileno(), P) == errno.ENOTSOCK
    r, w = os.pipe()
    try:
        assert code(sctpx.sctp_connectx, r, P) == errno.ENOTSOCK
    finally:
        os.close(r)
        os.close(w)
    with pysocket.socket(pysocket.AF_INET, pysocket.SOCK_DGRAM) as udp:
        assert code(sctpx.sctp_connectx, udp, P) == errno.EOPNOTSUPP  # decided
        assert code(sctpx.sctp_connectx, udp.fileno(), P) == errno.EOPNOTSUPP


def test_family_port_and_unicast_rules(s: sctpx.socket) -> None:  # API-06, API-07, API-10
    assert code(s.connectx, [("::1", 5000)]) == errno.EINVAL
    assert code(s.connectx, [("127.0.0.2", 5000), ("127.0.0.3", 5001)]) == errno.EINVAL
    assert code(s.connectx, [("127.0.0.2", 0)]) == errno.EINVAL
    for ip in ("0.0.0.0", "255.255.255.255", "224.0.0.1"):
        assert code(s.connectx, [(ip, 5000)]) == errno.EINVAL
    assert s._hub is None  # ERR-06: nothing was opened, so nothing could be sent


def test_socket_constructor_errors() -> None:
    assert code(sctpx.socket, 99) == errno.EAFNOSUPPORT
    assert code(sctpx.socket, sctpx.AF_INET, pysocket.SOCK_DGRAM) == errno.ESOCKTNOSUPPORT
    assert code(sctpx.socket, sctpx.AF_INET, sctpx.SOCK_STREAM, 6) == errno.EPROTONOSUPPORT


def test_fileno_finds_the_socket(s: sctpx.socket) -> None:
    from sctpx.api.functions import resolve

    assert resolve(s.fileno()) is s
    assert s.fileno() >= 0


def test_wildcard_bind_rules(s: sctpx.socket) -> None:  # RFC 6458 §3.1.2, decided
    # Only bind() records the wildcard; nothing is opened here (that happens on first use,
    # and the namespace tests in tests/interop/test_rawip.py do it).
    s.bind(("0.0.0.0", 5000))
    assert s.getsockname() == ("0.0.0.0", 5000)
    assert code(s.bindx, [("127.0.0.2", 5000)]) == errno.EINVAL  # every address already
    assert code(s.bind, ("127.0.0.2", 5000)) == errno.EINVAL  # already bound
    with sctpx.socket(sctpx.AF_INET6, sctpx.SOCK_STREAM) as s6:
        assert code(s6.bindx, [("::", 5000)]) == errno.EINVAL  # bind()'s alone
        assert code(s6.bindx, [("::1", 5000), ("::", 5000)]) == errno.EINVAL
        s6.bind(("::", 0))
        assert s6.getsockname() == ("::", 0)
    assert s._hub is None
