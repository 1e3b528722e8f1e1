"""Reading and building INIT and INIT ACK parameters (RFC 9260 §3.3.2, §3.3.3, §5.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from .. import wire as w

# RFC 3758 §3.3.1 FORWARD TSN and RFC 8260 §2.2.1 I-DATA chunk types.
FORWARD_TSN = 192
I_DATA = 64
I_FORWARD_TSN = 194  # RFC 8260 §2.3
RE_CONFIG = 130  # RFC 6525 §3.1: announced in Supported Extensions (RFC 5061 §4.2.7)
_TYPE_FAMILY = {5: 4, 6: 6}  # Supported Address Types: parameter type -> family


def family(ip: str) -> int:
    """4 or 6 (of an address in canonical text form, as the core keeps them)."""
    return 6 if ":" in ip else 4


def _is_loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip == "::1"  # canonical text: 127.0.0.0/8 and ::1


def scoped(local_addrs: list[str], peer_ips: list[str]) -> list[str]:
    """Our addresses that an INIT or INIT ACK may list to a peer at ``peer_ips``.

    Decision (issue 12, the scoping every stack applies; RFC 9260 §5.1.2 asks for
    the addresses the peer can reach us at): a loopback address is listed only to a
    peer on loopback. A wildcard bind holds 127.0.0.1 and ::1, and a peer elsewhere
    would try to reach us there (its own host).
    """
    if any(_is_loopback(ip) for ip in peer_ips):
        return local_addrs
    kept = [a for a in local_addrs if not _is_loopback(a)]
    return kept if len(kept) != len(local_addrs) else local_addrs


def address_param(ip: str) -> w.Param:
    # INIT-04: never an IPv4-mapped IPv6 address; each family its own parameter.
    if family(ip) == 4:
        return w.IPv4AddressParam(ip)
    return w.IPv6AddressParam(ip)


@dataclass(frozen=True, slots=True)
class Offer:
    """What our INIT ACK offers: its Initiate Tag, Initial TSN and the Tie-Tags (§5.2.2)."""

    local_tag: int
    local_tsn: int
    local_tie_tag: int = 0
    peer_tie_tag: int = 0
    reply_to: str | None = None  # where the INIT ACK goes, if not the INIT's source


@dataclass(slots=True)
class InitParams:
    """What the variable parameters of an INIT or INIT ACK said."""

    addresses: list[str] = field(default_factory=list)
    cookie: bytes | None = None
    host_name: w.HostNameAddressParam | None = None
    preservative_ms: int = 0
    adaptation: int | None = None  # Adaptation Layer Indication (RFC 5061 §4.2.8)
    pr_sctp: bool = False
    idata: bool = False
    reconfig: bool = False  # RE-CONFIG in Supported Extensions (RFC 6525 §3.1)
    # The families the sender accepts (4, 6), if it sent Supported Address Types:
    # those listed and those of its address parameters (§5.1.2); None: any.
    families: frozenset[int] | None = None
    unrecognized: list[w.UnknownParam] = field(default_factory=list)  # to be reported


def read_params(params: tuple[w.Param, ...], families: frozenset[int]) -> InitParams:
    """Walk the parameters in order, honouring the action bits of unknown ones (§3.2.1).

    Addresses of a family we do not use are ignored without error (§5.1.2).
    """
    out = InitParams()
    stopped = False
    listed: set[int] = set()  # families of the address parameters
    types: set[int] | None = None
    for p in params:
        if stopped:
            # Decision: "stop processing" (§3.2.1) ends the reading of optional
            # parameters, but the State Cookie is mandatory, so a COOKIE ECHO can
            # still be sent (IACK-09: "in every case a COOKIE ECHO is still sent").
            if isinstance(p, w.StateCookieParam):
                out.cookie = p.cookie
            continue
        if isinstance(p, (w.IPv4AddressParam, w.IPv6AddressParam)):
            fam = 4 if isinstance(p, w.IPv4AddressParam) else 6
            listed.add(fam)
            if fam in families and p.address not in out.addresses:
                out.addresses.append(p.address)
        elif isinstance(p, w.StateCookieParam):
            out.cookie = p.cookie
        elif isinstance(p, w.HostNameAddressParam):
            out.host_name = p
        elif isinstance(p, w.AdaptationLayerIndicationParam):
            out.adaptation = p.indication
        elif isinstance(p, w.CookiePreservativeParam):
            out.preservative_ms = p.increment_ms
        elif isinstance(p, w.SupportedAddressTypesParam):
            types = types or set()
            types.update(_TYPE_FAMILY[t] for t in p.address_types if t in _TYPE_FAMILY)
        elif isinstance(p, w.ForwardTsnSupportedParam):
            out.pr_sctp = True
        elif isinstance(p, w.SupportedExtensionsParam):
            out.pr_sctp = out.pr_sctp or FORWARD_TSN in p.chunk_types
            out.idata = I_DATA in p.chunk_types
            out.reconfig = RE_CONFIG in p.chunk_types
        elif isinstance(p, w.UnknownParam):
            if p.action.reports:
                out.unrecognized.append(p)
            stopped = p.action.stops
        # Others (AUTH, ...) need no action: we never send an AUTH chunk or anything
        # the peer did not announce.
    if types is not None:
        out.families = frozenset(types | listed)
    return out


def init_params(
    local_addrs: list[str], *, pr_sctp: bool, interleaving: bool, reconfig: bool = False
) -> list[w.Param]:
    """Optional parameters of our INIT (§3.3.2.1, INIT-04, INIT-05, INIT-08).

    Decision (issue 12, §5.1.2, §3.3.2 note 4): Supported Address Types only
    when it says something. Its absence means "any type", so an endpoint with
    addresses of both families leaves it out; one whose addresses are all of
    one family lists that family (an IPv4-only endpoint: IPv4), so that the
    peer need not list addresses we could not use. §5.1.2 lets the peer count
    the family the INIT travels in as supported anyway, and ours is always the
    family we list.
    """
    return list(_init_params(tuple(local_addrs), pr_sctp, interleaving, reconfig))


def init_ack_params(
    local_addrs: list[str], peer: InitParams, peer_ip: str, *, pr_sctp: bool, interleaving: bool,
    reconfig: bool = False,
) -> list[w.Param]:  # fmt: skip
    """Optional parameters of our INIT ACK, before the State Cookie (§3.3.3).

    Decisions (issue 12): never Supported Address Types (§3.3.3 does not list it
    for the INIT ACK; strict peers refuse it there). Our addresses only of the
    families the peer's INIT accepts (§5.1.2) and only when more than one is
    left (the INIT ACK's source is an address of the association anyway). An
    extension only if the INIT announced it too: the association uses nothing
    else, so announcing it would be a parameter the association does not need.
    """
    fams = peer.families
    if fams is not None:
        fams = fams | {family(peer_ip)}  # §5.1.2: the INIT's own family counts
    return list(
        _init_ack_params(
            tuple(local_addrs),
            fams,
            pr_sctp and peer.pr_sctp,
            interleaving and peer.idata,
            reconfig and peer.reconfig,
        )
    )


def _extensions(pr_sctp: bool, interleaving: bool, reconfig: bool) -> list[w.Param]:
    """INIT-08: the extensions we announce.

    PR-SCTP is announced both ways, FORWARD TSN in Supported Extensions (RFC 5061
    §4.2.7) and the Forward-TSN-Supported parameter (RFC 3758 §3.3.1), as Linux and
    usrsctp do: implementations differ in which one they read, so for PR-SCTP to
    work with every peer both are needed. With I-DATA and PR-SCTP, I-FORWARD-TSN is
    listed as well (RFC 8260 §2.3, as usrsctp does); a peer that leaves it out (Linux)
    still gets it when both offered I-DATA and PR-SCTP: that is what RFC 8260 §2.3.1 keys
    its use on.
    """
    exts = ([FORWARD_TSN] if pr_sctp else []) + ([I_DATA] if interleaving else [])
    exts += [I_FORWARD_TSN] if pr_sctp and interleaving else []
    exts += [RE_CONFIG] if reconfig else []
    params: list[w.Param] = [w.SupportedExtensionsParam(tuple(exts))] if exts else []
    if pr_sctp:
        params.append(w.ForwardTsnSupportedParam())
    return params


@lru_cache(maxsize=256)  # the same for every INIT of an endpoint: built once
def _init_params(local_addrs: tuple[str, ...], pr_sctp: bool, interleaving: bool,
                 reconfig: bool) -> tuple[w.Param, ...]:  # fmt: skip
    params: list[w.Param] = []
    if len(local_addrs) > 1:  # a single-homed endpoint lists none (NAT friendly)
        params += [address_param(a) for a in local_addrs]
    fams = {family(a) for a in local_addrs}
    if len(fams) == 1:
        params.append(w.SupportedAddressTypesParam((5 if fams == {4} else 6,)))
    return tuple(params + _extensions(pr_sctp, interleaving, reconfig))


@lru_cache(maxsize=256)  # the same for every INIT ACK of an endpoint and peer kind
def _init_ack_params(local_addrs: tuple[str, ...], peer_families: frozenset[int] | None,
                     pr_sctp: bool, interleaving: bool, reconfig: bool
                     ) -> tuple[w.Param, ...]:  # fmt: skip
    usable = [a for a in local_addrs if peer_families is None or family(a) in peer_families]
    params: list[w.Param] = [address_param(a) for a in usable] if len(usable) > 1 else []
    return tuple(params + _extensions(pr_sctp, interleaving, reconfig))


def init_ack_defect(chunk: w.InitAckChunk, p: InitParams) -> tuple[w.Cause, ...] | None:
    """IACK-02: why this INIT ACK must be refused with an ABORT, or None if it is acceptable."""
    if chunk.initiate_tag == 0 or chunk.outbound_streams == 0 or chunk.inbound_streams == 0:
        return (w.InvalidMandatoryParameter(),)  # §3.3.3
    if chunk.a_rwnd < 1500:
        return (w.InvalidMandatoryParameter(),)
    if p.host_name is not None:  # §5.1.2 B
        return (w.UnresolvableAddress(w.encode_param(p.host_name)),)
    if p.cookie is None:  # §5.1: the State Cookie is mandatory
        return (w.MissingMandatoryParameter((w.StateCookieParam.type,)),)
    return None


def init_defect(chunk: w.InitChunk, p: InitParams) -> tuple[w.Cause, ...] | None:
    """§3.3.2, §5.1.2 B: why an INIT must be answered with an ABORT, or None.

    (An Initiate Tag of 0 is not answered at all: the caller drops the packet.)
    """
    if chunk.outbound_streams == 0 or chunk.inbound_streams == 0:
        return (w.InvalidMandatoryParameter(),)
    if chunk.a_rwnd < 1500:
        return (w.InvalidMandatoryParameter(),)
    if p.host_name is not None:
        return (w.UnresolvableAddress(w.encode_param(p.host_name)),)
    return None


def quote_is_ours(quoted: bytes, port: int, peer_port: int, local_tag: int, peer_tag: int) -> bool:
    """ICMP-01: the packet an ICMP error quotes must be ours, by ports and tag (§10 ICMP5, 6).

    A quoted tag of 0 must be our INIT: chunk type 1 carrying our Initiate Tag.
    """
    if len(quoted) < 8:
        return False
    sport = int.from_bytes(quoted[0:2], "big")
    dport = int.from_bytes(quoted[2:4], "big")
    vtag = int.from_bytes(quoted[4:8], "big")
    if sport != port or dport != peer_port:
        return False
    if vtag == 0:
        return (
            len(quoted) >= 20 and quoted[12] == 1 and quoted[16:20] == local_tag.to_bytes(4, "big")
        )
    return vtag == peer_tag
