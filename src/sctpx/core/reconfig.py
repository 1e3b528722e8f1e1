"""Stream reconfiguration (RFC 6525): resetting streams, resetting the association's
TSNs, adding streams.

The association hands every RE-CONFIG chunk here and asks, per user message,
whether a reset in progress holds it back; the rest lives in this module.

What is done, by request type (RFC 6525 §4), all sent and answered:

- Outgoing SSN Reset Request (§5.1.2, §5.2.2).
- Incoming SSN Reset Request (§5.1.3, §5.2.3); the answer to one is our Outgoing SSN
  Reset Request carrying its sequence number.
- SSN/TSN Reset Request (§5.1.4, §5.2.4): SCTP_RESET_ASSOC.
- Add Outgoing Streams Request (§5.1.5, §5.2.5) and Add Incoming Streams Request (§5.1.6,
  §5.2.6): SCTP_ADD_STREAMS; both in one chunk when both counts are given (§3.1), each
  answered and reported (SCTP_STREAM_CHANGE_EVENT) on its own.

Decisions:

- One request chunk outstanding at a time (§5.1.1 allows one of each kind; one in all
  keeps the bookkeeping plain, as Linux does). A second call is EINPROGRESS.
- Our Outgoing SSN Reset Request leaves only once every message queued on the streams
  to reset before the call has been acknowledged; messages the user queues on them
  after the call wait here (§5.1.2: no new SSNs on them until the reset is done). Then
  the peer can usually perform it at once.
- "In progress" (§5.2.2 E2) does not use up the request's sequence number: the
  receiver answers it when the request comes again, which it does when its timer
  expires, or at once when our cumulative TSN ack passes the request's Sender's Last
  Assigned TSN (the peer then has everything up to it) if it had not when the answer
  came (else an answer it keeps giving would be a storm). Data after that TSN on the
  streams cannot arrive before the answer, as our sender holds it back (§5.1.2), so
  the receiver holds nothing for "deferred reset processing".
- SSN/TSN reset, our request (§5.1.4): SCTP_RESET_ASSOC with data queued or in flight
  is no error: from the call on every new message waits here, and the request leaves
  once what was queued before has been sent and acknowledged (else the peer's G4, which
  skips every TSN of ours it lacks, would lose it). Nothing is sent from then until the
  answer; on "Performed" the data path restarts at the answer's TSNs and the waiting
  messages go, from SSN 0. §5.1.4's "only one SSN/TSN Reset Request SHOULD be sent
  within 30 seconds" is kept: a second SCTP_RESET_ASSOC sooner is EAGAIN.
- SSN/TSN reset, the peer's (§5.2.4): performed only with none of our data outstanding
  (G3 counts it all acknowledged: it would be lost); else "In progress", and our new
  messages wait here so that what is in flight drains and the request, sent again on
  the peer's timer, is performed. G1 (the peer's next TSN: the smallest we have not
  acknowledged plus 2**31) and G2 (ours: the highest sent plus one) go in the answer,
  which is given again, the same, to a retransmitted request (E1). Known window: data
  we send after performing, reaching the peer before the answer (lost, reordered), is
  taken by the peer under its old numbering; RFC 6525 has no guard for it, nor do we.
- Add Incoming Streams, our request (§5.1.6): our receiver accepts the new streams as
  soon as the request leaves (the peer may send on them right after performing, before
  its answer reaches us). What adds them is the peer's Add Outgoing Streams Request
  (§5.2.6), which Linux sends instead of a response and usrsctp after a "Performed" one:
  either way they are counted and reported when that request comes (it is performed
  whatever our enable bits: we asked for it), and taken back if the 18 is refused.
- Add Incoming Streams, the peer's (§5.2.6): accepted, it is answered "Performed" and by
  our own Add Outgoing Streams Request for as many streams (§5.1.5), in a chunk of its
  own after the response (§3.1 has no pair of the two). Our outbound streams grow, new
  ones at SSN 0, and StreamChangeEvent reports it, when the peer answers that request
  "Performed", as for any Add Outgoing Streams of ours: the peer's inbound streams grow
  only when it performs our request, and only then may we send on them. The response is
  what usrsctp needs to close its request (it sends one too, then its own 17); Linux
  closes its request on our 17 and ignores a "Performed" response to an 18. With a
  request of ours outstanding or waiting, the peer's 18 is answered "Error - Request
  already in progress" (4), as Linux and usrsctp do.
- Shutting down (RFC 9260 §9.2 wants every message sent before it delivered): a reset
  not asked for yet when SHUTDOWN-PENDING or -RECEIVED begins is given up (FAILED
  event) and the messages it held go at once, as does a hold for the peer's SSN/TSN
  reset "In progress". A request already outstanding goes on: RE-CONFIG is processed in
  the shutdown states too (``RECONF_STATES``), so its answer releases what it held. Once
  shutting down, the peer's requests are denied except an Outgoing SSN Reset (it may be
  what releases the peer's own held messages).
- SCTP_ENABLE_STREAM_RESET (RFC 6525 §6.3.1) governs what we accept from the peer;
  what it does not enable is denied. The default, as RFC 6525 says: deny everything.
  Sending a request needs only the peer's RE-CONFIG support (EOPNOTSUPP without it, as
  FreeBSD; Linux says ENOPROTOOPT and also wants the local bit: we do not, as the bits
  say what the peer may ask of us).

Timer key: ``("reconf",)``: the request's retransmission timer (§5.1.1: the RTO of
its path; each expiry counts against the path's and the association's error counters).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import wire as w
from .datapath import DataPath
from .errors import UsageError, einval
from .events import (
    ASSOC_RESET_DENIED,
    ASSOC_RESET_FAILED,
    STREAM_CHANGE_DENIED,
    STREAM_CHANGE_FAILED,
    STREAM_RESET_DENIED,
    STREAM_RESET_FAILED,
    STREAM_RESET_INCOMING_SSN,
    STREAM_RESET_OUTGOING_SSN,
    AssocResetEvent,
    StreamChangeEvent,
    StreamResetEvent,
)
from .states import State

if TYPE_CHECKING:
    from .association import Association

MASK = 0xFFFFFFFF
_CLOSING = frozenset({State.SHUTDOWN_PENDING, State.SHUTDOWN_RECEIVED})
# Where a received RE-CONFIG is processed: RFC 6525 does not forbid it while shutting
# down, and a shutdown must be able to complete while a reset of ours holds messages
# back (its answer releases them).
RECONF_STATES = frozenset({State.ESTABLISHED, State.SHUTDOWN_PENDING, State.SHUTDOWN_SENT,
                           State.SHUTDOWN_RECEIVED})  # fmt: skip

# RFC 6525 §4.4 result codes.
NOTHING_TO_DO = 0
PERFORMED = 1
DENIED = 2
WRONG_SSN = 3
IN_PROGRESS_ELSEWHERE = 4  # "Error - Request already in progress"
BAD_SEQ = 5
IN_PROGRESS = 6

# RFC 6525 §6.3.1 assoc_value bits of SCTP_ENABLE_STREAM_RESET.
ENABLE_RESET_STREAM_REQ = 0x01
ENABLE_RESET_ASSOC_REQ = 0x02
ENABLE_CHANGE_ASSOC_REQ = 0x04

MAX_STREAMS = 65535
MIN_ASSOC_RESET_INTERVAL = 30.0  # §5.1.4: one SSN/TSN Reset Request per 30 s (a SHOULD)

Message = tuple[bytes, int, int, bool, int, "float | None", "int | None"]
Request = (
    w.OutgoingSsnResetRequestParam
    | w.IncomingSsnResetRequestParam
    | w.SsnTsnResetRequestParam
    | w.AddOutgoingStreamsRequestParam
    | w.AddIncomingStreamsRequestParam
)
_REQUESTS = (
    w.OutgoingSsnResetRequestParam,
    w.IncomingSsnResetRequestParam,
    w.SsnTsnResetRequestParam,
    w.AddOutgoingStreamsRequestParam,
    w.AddIncomingStreamsRequestParam,
)


@dataclass(slots=True)
class _Request:
    """Our outstanding RE-CONFIG request: its chunk and what each parameter asked."""

    chunk: w.ReconfigChunk
    last_tsn_seq: int = -1  # sender seq of the Sender's Last Assigned TSN
    waiting: dict[int, Request] = field(default_factory=dict)  # request seq -> param
    in_progress: bool = False  # answered "In progress": the timer's expiry is no failure
    early: bool = False  # ... and the peer lacked TSNs up to last_tsn_seq: resend when acked


def _after(a: int, b: int) -> bool:
    """Serial-number a > b (RFC 1982 on 32 bits)."""
    return a != b and ((a - b) & MASK) < 1 << 31


class Reconfig:
    """RE-CONFIG requests of one association, both ways."""

    def __init__(self, assoc: Association, data: DataPath) -> None:
        self.assoc = assoc
        self.ctx = assoc.ctx
        self.assoc_id = assoc.id
        self.pm = assoc.pm
        self.timers = assoc.timers
        self.data = data
        self.cfg = assoc.cfg  # its stream_reset may change (SCTP_ENABLE_STREAM_RESET)
        self.max_instreams = assoc.cfg.max_instreams
        self.next_seq = assoc.local_tsn  # §5.1.1: the first request takes our Initial TSN
        self.peer_seq = assoc.peer_tsn  # the next request we expect from the peer
        self.last_result: int | None = None  # of the peer's request peer_seq - 1 (E1)
        self.request: _Request | None = None
        # An outgoing reset waiting for its streams to drain: (streams, response seq,
        # also ask for an incoming reset of these streams).
        self.waiting_out: tuple[tuple[int, ...], int, tuple[int, ...] | None] | None = None
        self.blocked: set[int] | None = None  # streams held back; empty set: all streams
        self._answering: int | None = None  # the peer's Incoming request we answer
        self.waiting_assoc = False  # our SSN/TSN reset waits for the sender to drain
        self.assoc_reset_at: float | None = None  # when our last SSN/TSN request left
        self.peer_reset_wait: int | None = None  # the peer's SSN/TSN request "In progress"
        self.last_tsns: tuple[int, int] | None = None  # (G2, G1) of the last one performed
        self.extra_in = 0  # inbound streams accepted ahead of an Add Incoming answer
        self.owed_add_out = 0  # streams of an Add Outgoing request owed to the peer's 18

    @property
    def enabled(self) -> int:
        return self.cfg.stream_reset

    @staticmethod
    def of(assoc: Association) -> Reconfig:
        """The association's requests; EOPNOTSUPP if the peer does not support RE-CONFIG
        (RFC 6525 §6.3.2), ENOTCONN before or after ESTABLISHED."""
        if assoc.state is not State.ESTABLISHED:
            raise UsageError(errno.ENOTCONN, f"association {assoc.id} is not established")
        if assoc.reconf is None:
            raise UsageError(errno.EOPNOTSUPP, "the peer does not support RE-CONFIG (RFC 6525)")
        return assoc.reconf

    def _changed(self, inbound: int, outbound: int) -> None:
        self.assoc.inbound_streams, self.assoc.outbound_streams = inbound, outbound

    # ----- the user's requests -----

    def busy(self) -> bool:
        return (self.request is not None or self.waiting_out is not None or self.waiting_assoc
                or self.peer_reset_wait is not None or self.owed_add_out > 0)  # fmt: skip

    def reset_streams(
        self, streams: tuple[int, ...], incoming: bool, outgoing: bool, now: float
    ) -> None:
        """RFC 6525 §6.3.2 SCTP_RESET_STREAMS: reset these streams (none: all)."""
        if not incoming and not outgoing:
            raise einval("neither incoming nor outgoing streams to reset")
        if self.busy():
            raise UsageError(errno.EINPROGRESS, "a stream reconfiguration is in progress")
        s = self.data.sender
        if outgoing and any(not 0 <= x < s.outbound_streams for x in streams):
            raise einval(f"a stream not in 0..{s.outbound_streams - 1}")
        if incoming and any(not 0 <= x < self.data.receiver.inbound_streams for x in streams):
            raise einval(f"a stream not in 0..{self.data.receiver.inbound_streams - 1}")
        if outgoing:
            self._start_out(streams, 0, streams if incoming else None)
            self.poll(now)
        else:
            self._send_request([w.IncomingSsnResetRequestParam(self._take_seq(), streams)], now)

    def add_streams(self, outgoing: int, incoming: int, now: float) -> None:
        """RFC 6525 §6.3.4 SCTP_ADD_STREAMS: ``outgoing`` more streams of ours (§5.1.5),
        ``incoming`` more of the peer's (§5.1.6); one or both, in one chunk."""
        if outgoing < 0 or incoming < 0 or not (outgoing or incoming):
            raise einval(f"cannot add {outgoing} outgoing, {incoming} incoming streams")
        if self.data.sender.outbound_streams + outgoing > MAX_STREAMS:
            raise einval(f"{outgoing} more outgoing streams would pass {MAX_STREAMS}")
        if self.data.receiver.inbound_streams + incoming > MAX_STREAMS:
            raise einval(f"{incoming} more incoming streams would pass {MAX_STREAMS}")
        if self.busy():
            raise UsageError(errno.EINPROGRESS, "a stream reconfiguration is in progress")
        params: list[Request] = []
        if outgoing:
            params.append(w.AddOutgoingStreamsRequestParam(self._take_seq(), outgoing))
        if incoming:  # §5.1.6; accepted from now on (module notes)
            params.append(w.AddIncomingStreamsRequestParam(self._take_seq(), incoming))
            self.extra_in += incoming
            self.data.receiver.inbound_streams += incoming
        self._send_request(params, now)

    def reset_assoc(self, now: float) -> None:
        """RFC 6525 §6.3.3 SCTP_RESET_ASSOC: reset the TSNs and SSNs both ways (§5.1.4)."""
        if self.busy():
            raise UsageError(errno.EINPROGRESS, "a stream reconfiguration is in progress")
        last = self.assoc_reset_at
        if last is not None and now - last < MIN_ASSOC_RESET_INTERVAL:
            raise UsageError(errno.EAGAIN, "one SSN/TSN reset per 30 s (RFC 6525 §5.1.4)")
        self.waiting_assoc = True
        self.blocked = set()  # every new message waits for the answer
        self.poll(now)

    def hold(self, msg: Message) -> bool:
        """§5.1.2: True if ``msg`` waits here because its stream is being reset."""
        b = self.blocked
        if b is None or (b and msg[1] not in b):
            return False
        if not 0 <= msg[1] < self.data.sender.outbound_streams or not msg[0]:
            raise einval(f"bad stream {msg[1]} or empty message")
        self.data.held.append(msg)  # failed with the rest if the association ends
        return True

    # ----- sending requests -----

    def _take_seq(self) -> int:
        seq, self.next_seq = self.next_seq, (self.next_seq + 1) & MASK
        return seq

    def _start_out(
        self, streams: tuple[int, ...], resp_seq: int, incoming: tuple[int, ...] | None
    ) -> None:
        self.waiting_out = (streams, resp_seq, incoming)
        self.blocked = set(streams)

    def _drained(self, streams: tuple[int, ...]) -> bool:
        s = self.data.sender
        if not streams:
            return s.idle
        sids = set(streams)
        return not any(c.msg.stream_id in sids for c in s.pending) and not any(
            c.msg.stream_id in sids for c in s.outstanding.values()
        )

    def poll(self, now: float) -> None:
        """Before each flush: send a waiting reset once its streams drained; resend an
        "In progress" request once the peer must have every TSN up to its last one."""
        if self.assoc.state in _CLOSING:
            self._give_up_waiting(now)
        r = self.request
        if r is not None and r.early and self.data.sender.cum_seq >= r.last_tsn_seq:
            r.in_progress = r.early = False
            self._transmit(now)
        if self.waiting_assoc and self.request is None and self.data.sender.idle:
            self.waiting_assoc = False  # §5.1.4: nothing queued, nothing in flight
            self.assoc_reset_at = now
            self._send_request([w.SsnTsnResetRequestParam(self._take_seq())], now)
        if self.waiting_out is None or self.request is not None:
            return
        streams, resp_seq, incoming = self.waiting_out
        if not self._drained(streams):
            return
        self.waiting_out = None
        s = self.data.sender
        last = s.tsn(s.next_seq - 1)  # §4.1: Sender's Last Assigned TSN
        params: list[Request] = [
            w.OutgoingSsnResetRequestParam(self._take_seq(), resp_seq, last, streams)
        ]
        if incoming is not None:  # §3.1: Outgoing and Incoming in one chunk
            params.append(w.IncomingSsnResetRequestParam(self._take_seq(), incoming))
        self._send_request(params, now, s.next_seq - 1)

    def _give_up_waiting(self, now: float) -> None:
        """The user shut down with a reset not asked for yet (or the peer's SSN/TSN reset
        "In progress"): it is given up, reported FAILED, and the messages it held go now,
        so that SHUTDOWN waits for them (RFC 9260 §9.2: what was sent before is delivered).
        The peer's request, if it comes again, is denied (``_on_request``)."""
        aid = self.assoc_id
        if self.waiting_out is not None:
            streams = self.waiting_out[0]
            self.waiting_out = None
            if self._answering is not None:  # it was to answer the peer's Incoming request
                self._answering = None
                self.last_result = DENIED
            self._event(StreamResetEvent(aid, STREAM_RESET_OUTGOING_SSN | STREAM_RESET_FAILED,
                                         streams))  # fmt: skip
        elif self.waiting_assoc:
            self.waiting_assoc = False
            self._event(AssocResetEvent(aid, ASSOC_RESET_FAILED, *self._tsns_now()))
        elif self.peer_reset_wait is not None:
            self.peer_reset_wait = None
        else:
            return
        self._release(now)

    def _send_request(self, params: list[Request], now: float, last_seq: int = -1) -> None:
        waiting = {p.request_seq: p for p in params}
        self.request = _Request(w.ReconfigChunk(tuple(params)), last_seq, waiting)
        self._transmit(now)

    def _transmit(self, now: float) -> None:
        p = self.pm.current()
        if p is None or self.request is None:
            return
        self.pm.emit([self.request.chunk], p)
        self.timers.start(("reconf",), now + p.rto.rto)  # §5.1.1

    def on_timer(self, now: float) -> None:
        """§5.1.1: resend the request, to an alternate path if there is one; an expiry
        after an "In progress" answer is no sign of a failure and is not counted."""
        r = self.request
        if r is None:
            return
        p = self.pm.current()
        if p is not None and not r.in_progress:
            self.pm.path_timeout(p, now, count_assoc=True)
            alt = self.pm.alternate(p.ip)
            p = alt if alt is not None else p
        r.in_progress = r.early = False
        if p is not None:
            self.pm.emit([r.chunk], p)
            self.timers.start(("reconf",), now + p.rto.rto)

    # ----- the peer's chunk -----

    def on_chunk(self, chunk: w.ReconfigChunk, src_ip: str, now: float) -> None:
        out: list[w.Param] = []
        for p in chunk.params:
            if isinstance(p, w.ReconfigResponseParam):
                self._on_response(p, now)
                continue
            if not isinstance(p, _REQUESTS):
                break  # RFC 6525 §4: an unknown parameter (type 00xx) stops the processing
            result = self._on_request(p, now)
            if result is not None:
                out.append(self._answer(p, result))
        if out:
            dst = self.pm.paths.get(src_ip) or self.pm.current()
            if dst is not None:
                self.pm.emit([w.ReconfigChunk(tuple(out[:2]))], dst)
        if self.owed_add_out:  # §5.2.6: after the response, our request (module notes)
            n, self.owed_add_out = self.owed_add_out, 0
            self._send_request([w.AddOutgoingStreamsRequestParam(self._take_seq(), n)], now)

    def _answer(self, p: Request, result: int) -> w.ReconfigResponseParam:
        """§4.4: the response; to an SSN/TSN Reset Request always the 20-byte form, with the
        two TSNs of the reset when performed (§5.2.4 G6), else our current ones.

        Decision: §4.4 makes the Sender's and Receiver's Next TSN optional, "only applicable"
        to an SSN/TSN Reset Request, and does not tie them to the result. A requester may
        want them whatever the result: usrsctp 0.9.5 drops a 12-byte answer to its 15 and
        sends the request again for ever (seen in tests/interop, "Denied"), and Linux 6.1
        takes a Denied or failed answer to its 15 only at 20 bytes (it sends 20 for every
        result, with zeros). Ours hold what is true when nothing was reset: our next TSN
        and the next we expect of the peer, the numbering both sides go on with."""
        if isinstance(p, w.SsnTsnResetRequestParam):
            tsns = self.last_tsns if result == PERFORMED and self.last_tsns else None
            return w.ReconfigResponseParam(p.request_seq, result, *(tsns or self._tsns_now()))
        return w.ReconfigResponseParam(p.request_seq, result)

    def _tsns_now(self) -> tuple[int, int]:
        """(our next TSN, the peer's next TSN we expect): the numbering as it stands."""
        s, recv = self.data.sender, self.data.receiver
        return s.tsn(s.next_seq), (recv.cum_tsn + 1) & MASK

    def _on_request(self, p: Request, now: float) -> int | None:
        """E1 (§5.2.1 .. §5.2.6): check the sequence number, then process; the result to
        send, or None when the answer is a request of ours instead."""
        seq = p.request_seq
        if seq == (self.peer_seq - 1) & MASK and self.last_result is not None:
            if isinstance(p, w.IncomingSsnResetRequestParam) and self._answering == seq:
                return None  # our Outgoing request answers it, and goes again on its timer
            return self.last_result  # a retransmission: the same answer again
        if seq != self.peer_seq:
            return BAD_SEQ
        if (self.assoc.state is not State.ESTABLISHED
                and not isinstance(p, w.OutgoingSsnResetRequestParam)
                and self._our_add_in(p) is None):  # fmt: skip
            result: int | None = DENIED  # shutting down: only what ends a request (notes)
        elif isinstance(p, w.OutgoingSsnResetRequestParam):
            result = self._peer_out_reset(p)
        elif isinstance(p, w.IncomingSsnResetRequestParam):
            result = self._peer_in_reset(p, now)
        elif isinstance(p, w.AddOutgoingStreamsRequestParam):
            result = self._peer_add_out(p)
        elif isinstance(p, w.AddIncomingStreamsRequestParam):
            result = self._peer_add_in(p)
        else:
            result = self._peer_assoc_reset(p, now)
        if result == IN_PROGRESS:
            return result  # the sequence number is not used up (module notes)
        if not isinstance(p, w.SsnTsnResetRequestParam) or result != PERFORMED:
            self.last_tsns = None  # E1 answers a retransmission of this one, without TSNs
        if self.peer_reset_wait is not None:  # whatever came instead of it: not waiting
            self.peer_reset_wait = None
            self._release(now)
        self.peer_seq = (seq + 1) & MASK
        self.last_result = PERFORMED if result is None else result
        return result

    def _peer_out_reset(self, p: w.OutgoingSsnResetRequestParam) -> int:
        """§5.2.2: the peer reset its outgoing streams; we reset our incoming ones."""
        r = self.request
        if r is not None and r.waiting.pop(p.response_seq, None) is not None:
            self._finish_if_answered()  # E4: it answers our Incoming SSN Reset Request
        if not self.enabled & ENABLE_RESET_STREAM_REQ:
            return DENIED
        recv = self.data.receiver
        if any(x >= recv.inbound_streams for x in p.streams):
            return WRONG_SSN
        if _after(p.last_tsn, recv.cum_tsn):
            return IN_PROGRESS  # E2
        recv.reset_streams(p.streams)  # E3
        self.data.deliver()
        self._event(StreamResetEvent(self.assoc_id, STREAM_RESET_INCOMING_SSN, p.streams))
        return PERFORMED

    def _peer_in_reset(self, p: w.IncomingSsnResetRequestParam, now: float) -> int | None:
        """§5.2.3: the peer asks us to reset our outgoing streams."""
        if not self.enabled & ENABLE_RESET_STREAM_REQ:
            return DENIED
        if self.busy():
            return IN_PROGRESS_ELSEWHERE
        if any(x >= self.data.sender.outbound_streams for x in p.streams):
            return WRONG_SSN
        self._answering = p.request_seq
        self._start_out(p.streams, p.request_seq, None)
        return None

    def _our_add_in(self, p: Request) -> w.AddIncomingStreamsRequestParam | None:
        """Our outstanding Add Incoming Streams Request that the peer's Add Outgoing
        Streams Request ``p`` answers (§5.2.6), if any."""
        r = self.request
        if r is None or not isinstance(p, w.AddOutgoingStreamsRequestParam):
            return None
        for q in r.waiting.values():
            if isinstance(q, w.AddIncomingStreamsRequestParam):
                return q
        return None

    def _peer_add_out(self, p: w.AddOutgoingStreamsRequestParam) -> int:
        """§5.2.5: the peer adds outgoing streams, our inbound ones. If we asked for them
        (§5.1.6) this is the answer: taken whatever our enable bits (they say what the peer
        may ask; this it was asked) and our max_instreams (the user asked)."""
        r, asked = self.request, self._our_add_in(p)
        if r is not None and asked is not None:
            del r.waiting[asked.request_seq]
            self.extra_in -= asked.new_streams
            self._finish_if_answered()
        elif not self.enabled & ENABLE_CHANGE_ASSOC_REQ:
            return DENIED
        recv, out = self.data.receiver, self.data.sender.outbound_streams
        n = self.assoc.inbound_streams + p.new_streams  # ours, less those asked ahead
        limit = MAX_STREAMS if asked is not None else self.max_instreams
        if p.new_streams == 0 or n > limit or n + self.extra_in > MAX_STREAMS:
            if asked is not None:  # ours is over, unfulfilled: what it accepted goes back
                recv.inbound_streams = self.assoc.inbound_streams + self.extra_in
                self._event(StreamChangeEvent(self.assoc_id, STREAM_CHANGE_FAILED,
                                              self.assoc.inbound_streams, out))  # fmt: skip
            return DENIED
        recv.inbound_streams = n + self.extra_in
        self._changed(n, out)
        self._event(StreamChangeEvent(self.assoc_id, 0, n, out))
        return PERFORMED

    def _peer_add_in(self, p: w.AddIncomingStreamsRequestParam) -> int:
        """§5.2.6: the peer wants more incoming streams: we ask to add as many outgoing
        ones (§5.1.5) once the response has gone (``on_chunk``; module notes)."""
        if not self.enabled & ENABLE_CHANGE_ASSOC_REQ:
            return DENIED
        if p.new_streams == 0 or self.data.sender.outbound_streams + p.new_streams > MAX_STREAMS:
            return DENIED
        if self.busy():
            return IN_PROGRESS_ELSEWHERE  # one request of ours at a time
        self.owed_add_out = p.new_streams
        return PERFORMED

    def _peer_assoc_reset(self, p: w.SsnTsnResetRequestParam, now: float) -> int:
        """§5.2.4: the peer asks for the TSNs and SSNs of both directions to start over."""
        if not self.enabled & ENABLE_RESET_ASSOC_REQ:
            return DENIED
        if self.busy() and self.peer_reset_wait != p.request_seq:
            return IN_PROGRESS_ELSEWHERE
        s, recv = self.data.sender, self.data.receiver
        if s.outstanding:  # G3 would count it acknowledged: drain it first (module notes)
            self.peer_reset_wait = p.request_seq
            self.blocked = set()
            return IN_PROGRESS
        receiver_next = (recv.cum_tsn + 1 + (1 << 31)) & MASK  # G1
        sender_next = s.tsn(s.next_seq)  # G2
        self.data.restart_tsns(sender_next, receiver_next)  # G3, G4, G5
        self.last_tsns = (sender_next, receiver_next)
        self._event(AssocResetEvent(self.assoc_id, 0, sender_next, receiver_next))
        return PERFORMED

    # ----- answers to our requests -----

    def _on_response(self, p: w.ReconfigResponseParam, now: float) -> None:
        r = self.request
        asked = r.waiting.get(p.response_seq) if r is not None else None
        if r is None or asked is None:
            return  # an answer to nothing outstanding: old or bogus, ignored
        if p.result == IN_PROGRESS:
            r.in_progress = True  # asked again later (module notes)
            r.early = self.data.sender.cum_seq < r.last_tsn_seq
            return
        del r.waiting[p.response_seq]
        ok = p.result in (PERFORMED, NOTHING_TO_DO)
        denied = p.result == DENIED
        bad = 0 if ok else STREAM_RESET_DENIED if denied else STREAM_RESET_FAILED
        if isinstance(asked, w.OutgoingSsnResetRequestParam):
            if ok:
                self.data.sender.reset_streams(asked.streams)  # §5.1.2: next SSN 0
            self._answering = None
            self._event(StreamResetEvent(self.assoc_id, STREAM_RESET_OUTGOING_SSN | bad,
                                         asked.streams))  # fmt: skip
            self._release(now)
        elif isinstance(asked, w.IncomingSsnResetRequestParam):
            if not ok:  # success comes as the peer's Outgoing SSN Reset Request (E4)
                self._event(StreamResetEvent(self.assoc_id, STREAM_RESET_INCOMING_SSN | bad,
                                             asked.streams))  # fmt: skip
        elif isinstance(asked, w.SsnTsnResetRequestParam):
            self._assoc_reset_answered(p, now)
        else:
            self._streams_added(asked, ok, denied)
        self._finish_if_answered()

    def _assoc_reset_answered(self, p: w.ReconfigResponseParam, now: float) -> None:
        """§5.1.4: the peer's answer to our SSN/TSN Reset Request."""
        s = self.data.sender
        local, remote = p.receiver_next_tsn, p.sender_next_tsn
        if p.result == PERFORMED and local is not None and remote is not None and not s.outstanding:
            self.data.restart_tsns(local, remote)  # our next TSN: the peer's G1; its: G2
            self._event(AssocResetEvent(self.assoc_id, 0, local, remote))
        else:  # refused, or "Performed" without its TSNs (malformed): nothing was reset
            flags = ASSOC_RESET_DENIED if p.result == DENIED else ASSOC_RESET_FAILED
            self._event(AssocResetEvent(self.assoc_id, flags, *self._tsns_now()))
        self._release(now)

    def _streams_added(
        self, asked: w.AddOutgoingStreamsRequestParam | w.AddIncomingStreamsRequestParam,
        ok: bool, denied: bool,
    ) -> None:  # fmt: skip
        """§5.1.5, §5.1.6: the answer to one of our Add Streams requests."""
        s, recv = self.data.sender, self.data.receiver
        inbound = self.assoc.inbound_streams
        if isinstance(asked, w.AddOutgoingStreamsRequestParam):
            if ok:
                s.outbound_streams += asked.new_streams  # §5.1.5
        else:
            self.extra_in -= asked.new_streams
            if ok:  # §5.2.6: the streams come, and are reported, with the peer's own
                return  # Add Outgoing Streams Request (module notes); still accepted
            recv.inbound_streams -= asked.new_streams  # taken back (module notes)
        flags = 0 if ok else STREAM_CHANGE_DENIED if denied else STREAM_CHANGE_FAILED
        self._changed(inbound, s.outbound_streams)
        self._event(StreamChangeEvent(self.assoc_id, flags, inbound, s.outbound_streams))

    def _finish_if_answered(self) -> None:
        if self.request is not None and not self.request.waiting:
            self.request = None
            self.timers.stop(("reconf",))

    def _release(self, now: float) -> None:
        """The reset is over (done or refused): the messages held back go to the sender."""
        self.blocked = None
        held, self.data.held = self.data.held, []
        for m in held:
            self.data.send(*m, now=now)

    def _event(self, ev: StreamResetEvent | StreamChangeEvent | AssocResetEvent) -> None:
        self.ctx.events.append(ev)
