"""The exact bytes of our INIT and INIT ACK (RFC 9260 §3.3.2, §3.3.3, §5.1.2; issue 12).

Decisions under test: Supported Address Types never in an INIT ACK, in an INIT
only when all our addresses are of one family; the INIT ACK lists our addresses
only of the families the peer's INIT accepts, and an extension only when the
INIT announced it too.
"""

from __future__ import annotations

import random

import pytest

from sctpx import wire as w
from sctpx.core import Config, Endpoint
from sctpx.core.handshake import read_params

CPORT, SPORT = 5000, 5001
TAG, TSN = 0x11223344, 0x55667788


class Scripted(random.Random):
    """32-bit draws come from a script (tags, TSNs); the rest from a seeded generator."""

    def __init__(self, *values: int) -> None:
        super().__init__(0)
        self.values = list(values)

    def getrandbits(self, k: int) -> int:
        if k == 32 and self.values:
            return self.values.pop(0)
        return super().getrandbits(k)


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split("|")).replace(" ", ""))


def our_init(addrs: list[str], peer: str = "198.18.1.2", **cfg: object) -> bytes:
    e = Endpoint(CPORT, addrs, rng=Scripted(TAG, TSN), config=Config(**cfg))  # type: ignore[arg-type]
    e.connectx([(peer, SPORT)], 0.0)
    [(data, _s, _d)] = e.datagrams_to_send(0.0)
    assert w.decode_packet(data)  # the checksum is right
    return data


# INIT header for the defaults: a_rwnd 131072, 10 outbound streams, 65535 inbound.
HDR = "1388 1389 00000000"
INIT_FIXED = "11223344 | 00020000 | 000a ffff | 55667788"
SAT_V4 = "000c 0006 0005 0000"  # Supported Address Types: IPv4 (and 2 bytes of padding)
SAT_V6 = "000c 0006 0006 0000"
EXT = "8008 0006 c0 82 0000"  # Supported Extensions: FORWARD TSN (192), RE-CONFIG (130)
EXT_FWD = "8008 0005 c0 000000"  # Supported Extensions: FORWARD TSN (192) alone
EXT_RC = "8008 0005 82 000000"  # Supported Extensions: RE-CONFIG (130) alone
FWD = "c000 0004"  # Forward-TSN-Supported


def chunk(ctype: int, body: str, last_pad: int = 0) -> str:
    """A chunk: its length leaves out the padding of its last parameter (§3.2)."""
    b = h(body)
    return f"{ctype:02x} 00 {4 + len(b) - last_pad:04x} " + b.hex()


@pytest.mark.parametrize(
    ("addrs", "params"),
    [
        (["198.18.1.1"], SAT_V4 + EXT + FWD),  # single-homed: no address, IPv4 only
        (["198.18.1.1", "198.18.2.1"],
         "0005 0008 c6120101 | 0005 0008 c6120201" + SAT_V4 + EXT + FWD),
        (["198.18.1.1", "2001:db8::1"],  # both families: Supported Address Types says nothing
         "0005 0008 c6120101 | 0006 0014 20010db8000000000000000000000001" + EXT + FWD),
    ],
)  # fmt: skip
def test_init_bytes_ipv4_peer(addrs: list[str], params: str) -> None:
    data = our_init(addrs)
    assert data[:8] == h(HDR)
    assert data[12:] == h(chunk(1, INIT_FIXED + params))


def test_init_bytes_ipv6_only() -> None:
    data = our_init(["2001:db8::1"], peer="2001:db8::2")
    assert data[12:] == h(chunk(1, INIT_FIXED + SAT_V6 + EXT + FWD))


def test_init_bytes_without_pr_sctp() -> None:  # nothing but what the association needs
    data = our_init(["198.18.1.1"], pr_sctp=False, reconfig=False)
    assert data[12:] == h(chunk(1, INIT_FIXED + SAT_V4, last_pad=2))


def test_init_bytes_reconfig_without_pr_sctp() -> None:  # RFC 6525 §3.1
    data = our_init(["198.18.1.1"], pr_sctp=False)
    assert data[12:] == h(chunk(1, INIT_FIXED + SAT_V4 + EXT_RC, last_pad=3))


def test_init_params_are_read_back_by_our_own_reader() -> None:  # §5.1.2, both ways
    init = w.decode_packet(our_init(["198.18.1.1"])).chunks[0]
    assert isinstance(init, w.InitChunk)
    p = read_params(init.params, frozenset({4, 6}))
    assert p.families == frozenset({4}) and p.pr_sctp and not p.idata


# ----- INIT ACK -----


def init_ack_of(server_addrs: list[str], init_params: tuple[w.Param, ...],
                src: str = "198.18.1.1", **cfg: object) -> tuple[bytes, bytes]:  # fmt: skip
    """(bytes of the INIT ACK chunk up to its State Cookie, bytes after the cookie)."""
    s = Endpoint(SPORT, server_addrs, rng=Scripted(0x0A0B0C0D, 0x01020304),
                 config=Config(**cfg))  # type: ignore[arg-type]  # fmt: skip
    s.listen()
    init = w.InitChunk(0x99999999, 65536, 5, 7, 1000, init_params)
    dst = server_addrs[0] if (":" in src) == (":" in server_addrs[0]) else server_addrs[-1]
    s.receive(w.encode_packet(w.Packet(CPORT, SPORT, 0, [init])), (src, 9899), (dst, 9899), 0.0)
    [(data, _s, _d)] = s.datagrams_to_send(0.0)
    assert data[:8] == h("1389 1388 99999999")
    body = data[12:]
    assert (
        body[0] == 2 and body[1] == 0 and (int.from_bytes(body[2:4], "big") + 3) & ~3 == len(body)
    )
    # The cookie: type 7; what comes before and after it is checked exactly by the tests.
    off = 20
    while int.from_bytes(body[off : off + 2], "big") != 7:
        off += (int.from_bytes(body[off + 2 : off + 4], "big") + 3) & ~3
    clen = int.from_bytes(body[off + 2 : off + 4], "big")
    return body[:off], body[off + ((clen + 3) & ~3) :]


ACK_FIXED = "0a0b0c0d | 00020000 | 000a ffff | 01020304"


@pytest.mark.parametrize(
    ("peer_params", "expect"),
    [
        ((), ""),  # the peer announced nothing: we announce nothing
        ((w.SupportedAddressTypesParam((5,)),), ""),  # never a Supported Address Types
        ((w.ForwardTsnSupportedParam(),), EXT_FWD + FWD),  # PR-SCTP on both sides
        ((w.SupportedExtensionsParam((192,)),), EXT_FWD + FWD),
        ((w.SupportedAddressTypesParam((5, 6)), w.SupportedExtensionsParam((192, 64)),
          w.ForwardTsnSupportedParam()), EXT_FWD + FWD),  # no I-DATA: we do not do it
        ((w.SupportedExtensionsParam((192, 130)),), EXT + FWD),  # RE-CONFIG both sides
        ((w.SupportedExtensionsParam((130,)),), EXT_RC),  # RE-CONFIG alone
    ],
)  # fmt: skip
def test_init_ack_bytes_single_homed(peer_params: tuple[w.Param, ...], expect: str) -> None:
    head, tail = init_ack_of(["198.18.1.2"], peer_params)
    assert head[4:] == h(ACK_FIXED + expect) and tail == b""


def test_init_ack_without_pr_sctp_configured() -> None:
    head, _ = init_ack_of(["198.18.1.2"], (w.ForwardTsnSupportedParam(),), pr_sctp=False)
    assert head[4:] == h(ACK_FIXED)


V4A, V4B = "0005 0008 c6120102", "0005 0008 c6120202"
V6 = "0006 0014 20010db8000000000000000000000002"


@pytest.mark.parametrize(
    ("peer_params", "src", "expect"),
    [
        ((), "198.18.1.1", V4A + V4B + V6),  # no Supported Address Types: any family
        ((w.SupportedAddressTypesParam((5,)),), "198.18.1.1", V4A + V4B),  # IPv4 only
        # IPv6 only: one address left, the INIT ACK's own source: none listed.
        ((w.SupportedAddressTypesParam((6,)),), "2001:db8::9", ""),
        # §5.1.2: listing IPv4 only but listing an IPv6 address too: both are supported.
        ((w.SupportedAddressTypesParam((5,)), w.IPv6AddressParam("2001:db8::9")),
         "198.18.1.1", V4A + V4B + V6),
        # §5.1.2: listing IPv6 only but sending the INIT over IPv4: both are supported.
        ((w.SupportedAddressTypesParam((6,)),), "198.18.1.1", V4A + V4B + V6),
    ],
)  # fmt: skip
def test_init_ack_lists_our_addresses_of_the_peers_families(
    peer_params: tuple[w.Param, ...], src: str, expect: str
) -> None:
    head, tail = init_ack_of(["198.18.1.2", "198.18.2.2", "2001:db8::2"], peer_params, src)
    assert head[4:] == h(ACK_FIXED + expect) and tail == b""


def test_init_ack_reports_unrecognized_parameters_after_the_cookie() -> None:  # §3.2.1
    unknown = w.UnknownParam(0xC123, b"abcd")  # skip and report
    head, tail = init_ack_of(["198.18.1.2"], (unknown,))
    assert head[4:] == h(ACK_FIXED)
    assert tail == h("0008 000c | c123 0008 61626364")
