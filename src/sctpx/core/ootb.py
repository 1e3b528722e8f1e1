"""Answering out-of-the-blue packets (RFC 9260 §8.4), sans-IO and rate-limited.

An OOTB packet is a well-formed packet (CRC32c correct, §6.8) that no association
claims. Two places meet them:

* an :class:`~sctpx.core.endpoint.Endpoint`, for packets to its own port that
  match none of its associations (it handles INIT and COOKIE ECHO itself, §5.1,
  and hands the rest here);
* the stack below the endpoints, for packets to an SCTP port where no endpoint
  is bound at all: it calls :meth:`OotbResponder.reply` with the raw datagram.

Decisions:

* The ABORT (rules 3 and 8) carries no error cause, and every answer is one
  16-byte packet (common header and one empty chunk): never larger than the
  smallest packet that can provoke it, so an OOTB answer amplifies nothing.
* A token bucket in the caller's virtual time (``now``) limits the answers, by
  default to 100 per second with a burst of 20 (as Linux limits its ICMP
  errors): a flood of OOTB packets with forged source addresses cannot turn us
  into a reflector. Over the limit a packet is discarded as if no rule answered
  it, and counted in :attr:`OotbResponder.rate_limited`.
* An INIT must come alone with Verification Tag 0 (§8.5.1 A); an INIT bundled
  with other chunks, or in a packet whose tag is not 0, is silently discarded
  (as the endpoint discards it), as is every other packet with tag 0: there is
  no tag to reflect.
* Rule 4 for a port without an endpoint: there is no secret to authenticate the
  State Cookie with, so (§5.1.5 step 2) the COOKIE ECHO is silently discarded.
"""

from __future__ import annotations

import ipaddress
from enum import Enum
from functools import lru_cache

from .. import wire as w
from .types import Addr, Datagram

DEFAULT_RATE = 100.0  # answers per second
DEFAULT_BURST = 20


class Verdict(Enum):
    """What §8.4 says to do with one OOTB packet."""

    DISCARD = "discard"
    ABORT_INIT = "abort-init"  # rule 3: ABORT, tag = the INIT's Initiate Tag, T bit 0
    COOKIE_ECHO = "cookie-echo"  # rule 4: process as §5.1 says (the endpoint's business)
    SHUTDOWN_COMPLETE = "shutdown-complete"  # rule 5: reflected tag, T bit 1
    ABORT = "abort"  # rule 8: reflected tag, T bit 1


@lru_cache(maxsize=1024)
def _unicast(ip: str) -> bool:
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if a.is_multicast or a.is_unspecified:
        return False
    return not (a.version == 4 and a == ipaddress.IPv4Address("255.255.255.255"))


def classify(packet: w.Packet, src_ip: str, dst_ip: str) -> Verdict:
    """Rules 1-8 of RFC 9260 §8.4, in their order, for a packet that parsed."""
    chunks = packet.chunks
    if not chunks or packet.src_port == 0 or packet.dst_port == 0:
        return Verdict.DISCARD  # not a packet anyone could have meant (§3.1: port 0)
    if not (_unicast(src_ip) and _unicast(dst_ip)):
        return Verdict.DISCARD  # rule 1
    kinds = {type(c) for c in chunks}
    if w.AbortChunk in kinds:
        return Verdict.DISCARD  # rule 2 (and §9.1: never answer an ABORT)
    vtag = packet.verification_tag
    if w.InitChunk in kinds or vtag == 0:  # rule 3 with §8.5.1 A and §3.3.2
        first = chunks[0]
        alone = len(chunks) == 1 and isinstance(first, w.InitChunk)
        if vtag == 0 and alone and first.initiate_tag != 0:  # type: ignore[union-attr]
            return Verdict.ABORT_INIT
        return Verdict.DISCARD
    if isinstance(chunks[0], w.CookieEchoChunk):
        return Verdict.COOKIE_ECHO  # rule 4
    if w.ShutdownAckChunk in kinds:
        return Verdict.SHUTDOWN_COMPLETE  # rule 5
    if w.ShutdownCompleteChunk in kinds:
        return Verdict.DISCARD  # rule 6
    if w.CookieAckChunk in kinds or any(
        isinstance(c, w.ErrorChunk) and any(isinstance(e, w.StaleCookieError) for e in c.causes)
        for c in chunks
    ):
        return Verdict.DISCARD  # rule 7
    return Verdict.ABORT  # rule 8


class OotbResponder:
    """Answers to OOTB packets, at most ``rate`` per second with bursts of ``burst``.

    Counters (for statistics): :attr:`replies` answers made, :attr:`rate_limited`
    answers the bucket refused, :attr:`discarded` packets the rules (or a bad
    checksum, or a parse error) left unanswered.
    """

    def __init__(self, *, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST) -> None:
        if rate < 0 or burst < 0:
            raise ValueError("rate and burst must be >= 0")
        self.rate = rate
        self.burst = burst
        self.replies = 0
        self.rate_limited = 0
        self.discarded = 0
        self._tokens = float(burst)
        self._filled_at: float | None = None

    def reply(self, data: bytes, src: Addr, dst: Addr, now: float) -> list[Datagram]:
        """The answer (zero or one datagram) to a datagram that reached no endpoint.

        ``src`` and ``dst`` are datagram addresses ``(ip, udp_port)``, port 0 for
        SCTP directly over IP; the answer goes back to ``src`` from ``dst``. A
        packet that does not parse or whose CRC32c is wrong gets nothing (§6.8).
        """
        try:
            packet = w.decode_packet(data)
        except w.ParseError:
            self.discarded += 1
            return []
        verdict = classify(packet, src[0], dst[0])
        if verdict is Verdict.COOKIE_ECHO:  # no endpoint, no secret: §5.1.5 step 2
            verdict = Verdict.DISCARD
        d = self.answer(packet, verdict, src, dst, now)
        return [d] if d is not None else []

    def answer(
        self, packet: w.Packet, verdict: Verdict, src: Addr, dst: Addr, now: float
    ) -> Datagram | None:
        """The datagram that ``verdict`` (from :func:`classify`) calls for, if the bucket allows."""
        if verdict is Verdict.ABORT_INIT:
            init = packet.chunks[0]
            assert isinstance(init, w.InitChunk)
            chunk: w.Chunk = w.AbortChunk()  # §8.4 rule 3, §5.1: T bit 0
            vtag = init.initiate_tag
        elif verdict is Verdict.SHUTDOWN_COMPLETE:
            chunk = w.ShutdownCompleteChunk(flags=w.FLAG_T)  # rule 5, §8.5.1 C
            vtag = packet.verification_tag
        elif verdict is Verdict.ABORT:
            chunk = w.AbortChunk(flags=w.FLAG_T)  # rule 8: the tag reflected
            vtag = packet.verification_tag
        else:
            self.discarded += 1
            return None
        if not self._take_token(now):
            self.rate_limited += 1
            return None
        self.replies += 1
        out = w.encode_packet(w.Packet(packet.dst_port, packet.src_port, vtag, [chunk]))
        return (out, dst, src)

    def _take_token(self, now: float) -> bool:
        """Token bucket: ``rate`` tokens a second, at most ``burst`` saved up."""
        last = self._filled_at
        if last is None or now > last:
            if last is not None:
                self._tokens = min(float(self.burst), self._tokens + (now - last) * self.rate)
            self._filled_at = now
        if self._tokens >= 1.0 - 1e-9:  # a whole token, give or take rounding of ``now``
            self._tokens = max(0.0, self._tokens - 1.0)
            return True
        return False
