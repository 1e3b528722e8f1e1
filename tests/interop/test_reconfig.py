"""Stream reconfiguration (RFC 6525) with usrsctp, both ways: each request type, and denials.

usrsctp's example programs never reset a stream, so the usrsctp side is our own small
program (``usrsctp_reconf.c``, built here with gcc against libusrsctp-dev): it listens on
host b, prints every RE-CONFIG notification as a line, and issues SCTP_RESET_STREAMS,
SCTP_ADD_STREAMS and SCTP_RESET_ASSOC on a command. sctpx (host a) connects to it.

Each case: messages both ways on stream 1 before the request, the request from one side,
the notifications on both sides, messages both ways after it (in order, with the stream
sequence numbers the reset gives), and tshark on the wire: the RE-CONFIG chunk (130) with
the request's parameter type (13 outgoing, 14 incoming, 15 SSN/TSN, 17 add outgoing,
18 add incoming) one way and a Re-configuration Response (16) with its result the other.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import sctpx
from sctpx.testing import tshark_fields

from .conftest import WHY_NOT
from .lab import A1, B1, SX_UDP, US_UDP, WAIT, Lab
from .remote import C, Obj, Opt, RemoteSocket
from .usrsctp import USRSCTP_HEADER, Program, build_reconf_peer

PORT = 5010
STREAMS = 10  # both sides offer 10 outbound streams
SID = 1  # the stream the tests send on, and reset (with RESET)
# The streams each reset names: two, so that the request parameters (16 + 2n and 8 + 2n
# bytes) need no padding; test_a_single_stream_reset_chunk_length has the padded case.
RESET = (SID, 2)
ALL = 7  # SCTP_ENABLE_STREAM_RESET: every request type

# RE-CONFIG (RFC 6525 §3.1) and its parameters (§4)
RECONFIG = 130
OUT_REQ, IN_REQ, TSN_REQ, RESPONSE, ADD_OUT, ADD_IN = 13, 14, 15, 16, 17, 18
PERFORMED, DENIED = 1, 2  # §4.4 result codes

# notification flags (RFC 6525 §6.1)
INCOMING_SSN, OUTGOING_SSN, RESET_DENIED, RESET_FAILED = 0x1, 0x2, 0x4, 0x8
CHANGE_DENIED, CHANGE_FAILED = 0x4, 0x8

MSG = re.compile(r"^MSG sid=(\d+) ssn=(\d+) ppid=\d+ len=(\d+) fnv=\w+ head=(\S*)$", re.MULTILINE)


@pytest.fixture(scope="session")
def reconf_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if WHY_NOT:
        pytest.skip(WHY_NOT)
    if not USRSCTP_HEADER.exists():
        pytest.skip(f"{USRSCTP_HEADER} missing (apt install libusrsctp-dev)")
    return build_reconf_peer(tmp_path_factory.mktemp("usrsctp-reconf"))


class UsPeer:
    """Our usrsctp program on host b: commands on stdin, one event a line on stdout."""

    def __init__(self, prog: Program) -> None:
        self.prog = prog
        self._done = 0  # OK/ERR lines already consumed

    def command(self, line: str, timeout: float = WAIT) -> str:
        """Send one command; its outcome line ("OK reset" or "ERR reset errno=N")."""
        self.prog.write(line.encode() + b"\n")
        rx = re.compile(r"^(?:OK|ERR) .*$", re.MULTILINE)
        self.prog.wait_count(rx, self._done + 1, timeout)
        self._done += 1
        return str(rx.findall(self.prog.text())[self._done - 1])

    def wait(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        return self.prog.wait_for(re.compile(pattern, re.MULTILINE), timeout)

    def messages(self, tag: str) -> list[tuple[int, int, str]]:
        """(stream, SSN, head) of each message it received whose text starts with ``tag``."""
        return [(int(m.group(1)), int(m.group(2)), m.group(4)) for m in MSG.finditer(
            self.prog.text()) if m.group(4).startswith(tag + "-")]  # fmt: skip

    def wait_messages(self, tag: str, count: int) -> list[tuple[int, int, str]]:
        self.prog.wait_count(re.compile(rf"^MSG .* head={re.escape(tag)}-", re.MULTILINE),
                             count, WAIT)  # fmt: skip
        return self.messages(tag)


@dataclass
class World:
    lab: Lab
    s: RemoteSocket  # sctpx's one-to-one socket, connected
    aid: int
    us: UsPeer


def start(lab: Lab, exe: Path, *, us_enable: int = ALL, sx_enable: int = ALL,
          us_args: tuple[str, ...] = ()) -> World:  # fmt: skip
    """usrsctp_reconf listening on B1, sctpx connected to it from A1, both up."""
    prog = lab.usrsctp(str(exe), "-E", str(US_UDP), "-U", str(SX_UDP), "-L", B1, "-p",
                       str(PORT), "-e", str(us_enable), *us_args, stdin=True,
                       log="usrsctp_reconf.log")  # fmt: skip
    us = UsPeer(prog)
    us.wait("^READY$")
    lab.wait_udp_bound(lab.b, US_UDP, prog)
    s = lab.client(lab.sctpx(), bind=(A1,))
    s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_ENABLE_STREAM_RESET"),
                 Opt("AssocValue", assoc_id=0, assoc_value=sx_enable))  # fmt: skip
    s.subscribe(C("SCTP_STREAM_RESET_EVENT"), C("SCTP_STREAM_CHANGE_EVENT"),
                C("SCTP_ASSOC_RESET_EVENT"))  # fmt: skip
    aid = s.connectx([(B1, PORT)])
    up = us.wait(r"^UP in=(\d+) out=(\d+) assoc=\d+ supports=(\S*)$")
    assert (int(up.group(1)), int(up.group(2))) == (STREAMS, STREAMS), up.group(0)
    assert "RECONFIG" in up.group(3).split(","), up.group(0)  # RE-CONFIG agreed
    return World(lab, s, int(aid), us)


def sx_send(w: World, tag: str, count: int, sid: int = SID) -> list[tuple[int, int, str]]:
    """sctpx sends ``count`` messages on ``sid``; what usrsctp received of them, in order."""
    for i in range(count):
        w.s.sctp_send(f"{tag}-{i:06d}:sctpx".encode(), stream=sid)
    return w.us.wait_messages(tag, count)


def us_send(w: World, tag: str, count: int, sid: int = SID) -> list[Obj]:
    """usrsctp sends ``count`` messages on ``sid``; what sctpx read of them, in order."""
    reader = w.s.job("collect", count)
    w.us.command(f"send {sid} {count} 60 {tag}")
    got = [ev for ev in reader.join(WAIT) if ev.type == "DataReceived"]
    assert [bytes(m.data).split(b":")[0].decode() for m in got] == [
        f"{tag}-{i:06d}" for i in range(1, count + 1)]  # fmt: skip
    assert {m.stream_id for m in got} == {sid}
    return got


def sx_event(w: World, type_name: str) -> Obj:
    """The next RE-CONFIG notification of ``type_name`` at sctpx (AssertionError if none)."""
    r = w.s.job("wait_event", type_name, WAIT).join(WAIT + 5)
    assert r.event is not None, f"no {type_name} at sctpx; seen: {r.seen}"
    ev: Obj = r.event
    return ev


def ssns(got: list[tuple[int, int, str]]) -> list[int]:
    return [ssn for _sid, ssn, _head in got]


def reconfig_chunks(lab: Lab) -> list[tuple[str, list[int], list[int]]]:
    """Every packet with a RE-CONFIG chunk on the wire: (source, parameter types, results)."""
    rep = lab.finish()
    rows = tshark_fields(rep.wire.path, ["ip.src", "sctp.parameter_type",
                                         "sctp.parameter_reconfig_response_result"],
                         f"sctp.chunk_type == {RECONFIG}", (SX_UDP, US_UDP))  # fmt: skip
    out = []
    for src, types, results in rows:
        out.append((src, [int(t, 16) for t in types.split(",") if t],
                    [int(r) for r in results.split(",") if r]))  # fmt: skip
    return out


def sent(chunks: list[tuple[str, list[int], list[int]]], src: str) -> tuple[set[int], set[int]]:
    """The parameter types and the result codes ``src`` sent in RE-CONFIG chunks."""
    types = {t for s, ts, _ in chunks if s == src for t in ts}
    results = {r for s, _, rs in chunks if s == src for r in rs}
    return types, results


def assert_new_tsns(lab: Lab, responder: str, requester: str) -> dict[str, int]:
    """After an SSN/TSN reset, each side's DATA starts at the TSN the "Performed" response
    named (RFC 6525 §4.4, §5.2.4): the responder's at its Sender's Next TSN, the requester's
    at the Receiver's Next TSN. Returns those first TSNs by source address."""
    assert lab.reports is not None, "call after lab.finish()"
    path, ports = lab.reports.wire.path, (SX_UDP, US_UDP)
    rows = tshark_fields(path, ["frame.number", "sctp.parameter_senders_next_tsn",
                                "sctp.parameter_receivers_next_tsn"],
                         f"ip.src == {responder} && sctp.parameter_reconfig_response_result == 1 "
                         "&& sctp.parameter_senders_next_tsn", ports)  # fmt: skip
    assert rows, "no Performed response with the Next TSNs"
    frame, sender_next, receiver_next = (int(x.split(",")[0]) for x in rows[0])
    data = tshark_fields(path, ["ip.src", "sctp.data_tsn_raw"],
                         f"frame.number > {frame} && sctp.chunk_type == 0", ports)  # fmt: skip
    first: dict[str, int] = {}
    for src, tsns in data:
        first.setdefault(src, int(tsns.split(",")[0]))
    assert first == {responder: sender_next, requester: receiver_next}, (first, rows)
    return first


def reset_opt(w: World, flags: int, streams: tuple[int, ...] = RESET) -> Opt:
    return Opt("ResetStreams", assoc_id=w.aid, flags=flags, streams=list(streams))


@pytest.fixture
def world(lab: Lab, reconf_exe: Path) -> Iterator[World]:
    yield start(lab, reconf_exe)


# ----- outgoing SSN reset (RFC 6525 §5.1.2, §5.2.2) -----


def test_a_sctpx_resets_its_outgoing_stream(world: World) -> None:
    w = world
    assert ssns(sx_send(w, "before", 3)) == [0, 1, 2]
    assert [m.ssn for m in us_send(w, "back1", 2)] == [0, 1]
    w.s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_RESET_STREAMS"),
                   reset_opt(w, sctpx.SCTP_STREAM_RESET_OUTGOING))  # fmt: skip
    ev = sx_event(w, "StreamResetEvent")
    assert (ev.flags, tuple(ev.streams)) == (OUTGOING_SSN, RESET), ev
    w.us.wait(rf"^STREAM_RESET flags=0x{INCOMING_SSN:x} streams=1,2$")
    assert ssns(sx_send(w, "after", 3)) == [0, 1, 2]  # our stream 1 starts again at SSN 0
    assert [m.ssn for m in us_send(w, "back2", 2)] == [2, 3]  # the other way: untouched
    chunks = reconfig_chunks(w.lab)
    assert sent(chunks, A1) == ({OUT_REQ}, set()), chunks
    assert sent(chunks, B1) == ({RESPONSE}, {PERFORMED}), chunks


def test_b_usrsctp_resets_its_outgoing_stream(world: World) -> None:
    w = world
    assert [m.ssn for m in us_send(w, "before", 3)] == [0, 1, 2]
    assert ssns(sx_send(w, "fwd1", 2)) == [0, 1]
    assert w.us.command("reset out 1 2") == "OK reset"
    w.us.wait(rf"^STREAM_RESET flags=0x{OUTGOING_SSN:x} streams=1,2$")
    ev = sx_event(w, "StreamResetEvent")
    assert (ev.flags, tuple(ev.streams)) == (INCOMING_SSN, RESET), ev
    assert [m.ssn for m in us_send(w, "after", 3)] == [0, 1, 2]
    assert ssns(sx_send(w, "fwd2", 2)) == [2, 3]
    chunks = reconfig_chunks(w.lab)
    assert sent(chunks, B1) == ({OUT_REQ}, set()), chunks
    assert sent(chunks, A1) == ({RESPONSE}, {PERFORMED}), chunks


# ----- incoming SSN reset (§5.1.3, §5.2.3): answered by an Outgoing SSN Reset Request -----


def test_a_sctpx_asks_usrsctp_to_reset_its_outgoing_stream(world: World) -> None:
    w = world
    assert [m.ssn for m in us_send(w, "before", 3)] == [0, 1, 2]
    w.s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_RESET_STREAMS"),
                   reset_opt(w, sctpx.SCTP_STREAM_RESET_INCOMING))  # fmt: skip
    ev = sx_event(w, "StreamResetEvent")
    assert (ev.flags, tuple(ev.streams)) == (INCOMING_SSN, RESET), ev
    w.us.wait(rf"^STREAM_RESET flags=0x{OUTGOING_SSN:x} streams=1,2$")
    assert [m.ssn for m in us_send(w, "after", 3)] == [0, 1, 2]
    assert ssns(sx_send(w, "fwd", 2)) == [0, 1]
    chunks = reconfig_chunks(w.lab)
    a_types, a_results = sent(chunks, A1)
    b_types, _ = sent(chunks, B1)
    assert IN_REQ in a_types and OUT_REQ in b_types, chunks  # E4: its answer is a request
    assert RESPONSE in a_types and a_results == {PERFORMED}, chunks
    assert OUT_REQ not in a_types, chunks


def test_b_usrsctp_asks_sctpx_to_reset_its_outgoing_stream(world: World) -> None:
    w = world
    assert ssns(sx_send(w, "before", 3)) == [0, 1, 2]
    assert w.us.command("reset in 1 2") == "OK reset"
    ev = sx_event(w, "StreamResetEvent")
    assert (ev.flags, tuple(ev.streams)) == (OUTGOING_SSN, RESET), ev
    w.us.wait(rf"^STREAM_RESET flags=0x{INCOMING_SSN:x} streams=1,2$")
    assert ssns(sx_send(w, "after", 3)) == [0, 1, 2]
    assert [m.ssn for m in us_send(w, "back", 2)] == [0, 1]
    chunks = reconfig_chunks(w.lab)
    a_types, _ = sent(chunks, A1)
    b_types, b_results = sent(chunks, B1)
    assert IN_REQ in b_types and OUT_REQ in a_types, chunks
    assert RESPONSE in b_types and b_results == {PERFORMED}, chunks


def test_a_sctpx_resets_both_directions_of_every_stream(world: World) -> None:
    w = world
    assert ssns(sx_send(w, "s1", 2)) == [0, 1]
    assert ssns(sx_send(w, "s4", 2, sid=4)) == [0, 1]
    assert [m.ssn for m in us_send(w, "b1", 2)] == [0, 1]
    w.s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_RESET_STREAMS"),
                   reset_opt(w, sctpx.SCTP_STREAM_RESET_INCOMING
                             | sctpx.SCTP_STREAM_RESET_OUTGOING, ()))  # fmt: skip
    w.us.wait(rf"^STREAM_RESET flags=0x{INCOMING_SSN:x} streams=all$")
    w.us.wait(rf"^STREAM_RESET flags=0x{OUTGOING_SSN:x} streams=all$")
    assert ssns(sx_send(w, "s1b", 2)) == [0, 1]
    assert ssns(sx_send(w, "s4b", 2, sid=4)) == [0, 1]
    assert [m.ssn for m in us_send(w, "b1b", 2)] == [0, 1]
    chunks = reconfig_chunks(w.lab)
    assert {OUT_REQ, IN_REQ} <= sent(chunks, A1)[0], chunks
    assert sent(chunks, B1)[1] == {PERFORMED}, chunks


# ----- add outgoing streams (§5.1.5, §5.2.5) -----


def test_a_sctpx_adds_outgoing_streams(world: World) -> None:
    w = world
    w.s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_ADD_STREAMS"),
                   Opt("AddStreams", assoc_id=w.aid, instrms=0, outstrms=5))  # fmt: skip
    ev = sx_event(w, "StreamChangeEvent")
    assert (ev.flags, ev.inbound_streams, ev.outbound_streams) == (0, STREAMS, STREAMS + 5), ev
    w.us.wait(rf"^STREAM_CHANGE flags=0x0 in={STREAMS + 5} out={STREAMS}$")
    got = sx_send(w, "new", 3, sid=STREAMS + 4)  # the last new stream
    assert [(sid, ssn) for sid, ssn, _ in got] == [(STREAMS + 4, i) for i in range(3)]
    assert ssns(sx_send(w, "old", 2)) == [0, 1]
    chunks = reconfig_chunks(w.lab)
    assert sent(chunks, A1) == ({ADD_OUT}, set()), chunks
    assert sent(chunks, B1) == ({RESPONSE}, {PERFORMED}), chunks


def test_b_usrsctp_adds_outgoing_streams(world: World) -> None:
    w = world
    assert w.us.command("add out 5") == "OK add"
    w.us.wait(rf"^STREAM_CHANGE flags=0x0 in={STREAMS} out={STREAMS + 5}$")
    ev = sx_event(w, "StreamChangeEvent")
    assert (ev.flags, ev.inbound_streams, ev.outbound_streams) == (0, STREAMS + 5, STREAMS), ev
    got = us_send(w, "new", 3, sid=STREAMS + 4)
    assert [m.ssn for m in got] == [0, 1, 2]
    chunks = reconfig_chunks(w.lab)
    assert sent(chunks, B1) == ({ADD_OUT}, set()), chunks
    assert sent(chunks, A1) == ({RESPONSE}, {PERFORMED}), chunks


# ----- add incoming streams (§5.1.6, §5.2.6): answered by an Add Outgoing Streams Request -----


def test_a_sctpx_asks_usrsctp_to_add_its_outgoing_streams(world: World) -> None:
    w = world
    w.s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_ADD_STREAMS"),
                   Opt("AddStreams", assoc_id=w.aid, instrms=5, outstrms=0))  # fmt: skip
    ev = sx_event(w, "StreamChangeEvent")
    assert (ev.flags, ev.inbound_streams, ev.outbound_streams) == (0, STREAMS + 5, STREAMS), ev
    w.us.wait(rf"^STREAM_CHANGE flags=0x0 in={STREAMS} out={STREAMS + 5}$")
    got = us_send(w, "new", 3, sid=STREAMS + 4)
    assert [m.ssn for m in got] == [0, 1, 2]
    chunks = reconfig_chunks(w.lab)
    assert ADD_IN in sent(chunks, A1)[0], chunks
    assert ADD_OUT in sent(chunks, B1)[0] or sent(chunks, B1)[1] == {PERFORMED}, chunks


def test_b_usrsctp_asks_sctpx_to_add_its_outgoing_streams(world: World) -> None:
    w = world
    assert w.us.command("add in 5") == "OK add"
    ev = sx_event(w, "StreamChangeEvent")
    assert (ev.flags, ev.inbound_streams, ev.outbound_streams) == (0, STREAMS, STREAMS + 5), ev
    w.us.wait(rf"^STREAM_CHANGE flags=0x0 in={STREAMS + 5} out={STREAMS}$")
    got = sx_send(w, "new", 3, sid=STREAMS + 4)
    assert ssns(got) == [0, 1, 2]
    chunks = reconfig_chunks(w.lab)
    assert ADD_IN in sent(chunks, B1)[0], chunks
    assert ADD_OUT in sent(chunks, A1)[0] or sent(chunks, A1)[1] == {PERFORMED}, chunks


# ----- SSN/TSN reset (§5.1.4, §5.2.4) -----


def test_a_sctpx_resets_the_association(world: World) -> None:
    w = world
    assert ssns(sx_send(w, "before", 3)) == [0, 1, 2]
    assert [m.ssn for m in us_send(w, "back1", 2)] == [0, 1]
    w.s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_RESET_ASSOC"), w.aid)
    ev = sx_event(w, "AssocResetEvent")
    assert ev.flags == 0, ev
    m = w.us.wait(r"^ASSOC_RESET flags=0x0 local_tsn=(\d+) remote_tsn=\d+$")
    assert ssns(sx_send(w, "after", 3)) == [0, 1, 2]  # every stream starts again, both ways
    assert [m.ssn for m in us_send(w, "back2", 2)] == [0, 1]
    chunks = reconfig_chunks(w.lab)
    assert sent(chunks, A1) == ({TSN_REQ}, set()), chunks
    assert sent(chunks, B1) == ({RESPONSE}, {PERFORMED}), chunks
    first = assert_new_tsns(w.lab, responder=B1, requester=A1)
    assert int(m.group(1)) == first[B1]  # usrsctp's own view: the TSN it now sends from


def test_b_usrsctp_resets_the_association(world: World) -> None:
    w = world
    assert [m.ssn for m in us_send(w, "before", 3)] == [0, 1, 2]
    assert ssns(sx_send(w, "fwd1", 2)) == [0, 1]
    # usrsctp 0.9.5 takes an "In progress" answer (what we say while data of ours is
    # unacknowledged, §5.2.4) as final and then ignores the later "Performed": let its
    # delayed SACK (200 ms) go first, so that the request does not come bundled before it.
    time.sleep(0.5)
    assert w.us.command("assoc") == "OK assoc"
    w.us.wait(r"^ASSOC_RESET flags=0x0 local_tsn=\d+ remote_tsn=\d+$")
    ev = sx_event(w, "AssocResetEvent")
    assert ev.flags == 0, ev
    assert [m.ssn for m in us_send(w, "after", 3)] == [0, 1, 2]
    assert ssns(sx_send(w, "fwd2", 2)) == [0, 1]
    chunks = reconfig_chunks(w.lab)
    assert sent(chunks, B1) == ({TSN_REQ}, set()), chunks
    assert sent(chunks, A1) == ({RESPONSE}, {PERFORMED}), chunks
    assert_new_tsns(w.lab, responder=A1, requester=B1)


# ----- denied: the answering side did not enable the request type (RFC 6525 §6.3.1) -----


def test_a_usrsctp_denies_what_it_did_not_enable(lab: Lab, reconf_exe: Path) -> None:
    w = start(lab, reconf_exe, us_enable=0)
    assert ssns(sx_send(w, "before", 2)) == [0, 1]
    w.s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_RESET_STREAMS"),
                   reset_opt(w, sctpx.SCTP_STREAM_RESET_OUTGOING))  # fmt: skip
    ev = sx_event(w, "StreamResetEvent")
    assert ev.flags == OUTGOING_SSN | RESET_DENIED, ev
    assert ssns(sx_send(w, "after", 2)) == [2, 3]  # nothing was reset
    w.s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_ADD_STREAMS"),
                   Opt("AddStreams", assoc_id=w.aid, instrms=0, outstrms=5))  # fmt: skip
    ev = sx_event(w, "StreamChangeEvent")
    assert (ev.flags, ev.outbound_streams) == (CHANGE_DENIED, STREAMS), ev
    assert "STREAM_RESET" not in w.us.prog.text() and "STREAM_CHANGE" not in w.us.prog.text()
    chunks = reconfig_chunks(w.lab)
    assert sent(chunks, A1)[0] == {OUT_REQ, ADD_OUT}, chunks
    assert sent(chunks, B1) == ({RESPONSE}, {DENIED}), chunks


def test_b_sctpx_denies_adding_streams_it_did_not_enable(lab: Lab, reconf_exe: Path) -> None:
    # stream resets enabled, association resets and stream changes not
    w = start(lab, reconf_exe, sx_enable=sctpx.SCTP_ENABLE_RESET_STREAM_REQ)
    assert w.us.command("add out 5") == "OK add"
    w.us.wait(rf"^STREAM_CHANGE flags=0x{CHANGE_DENIED:x} in={STREAMS} out={STREAMS}$")
    assert w.us.command("add in 5") == "OK add"
    w.us.wait(rf"^STREAM_CHANGE flags=0x{CHANGE_DENIED:x} in={STREAMS} out={STREAMS}$(?s:.*)"
              rf"^STREAM_CHANGE flags=0x{CHANGE_DENIED:x} in={STREAMS} out={STREAMS}$")  # fmt: skip
    assert [m.ssn for m in us_send(w, "after", 2)] == [0, 1]
    ev = w.s.job("events", 0.5).join(5)
    assert not [e for e in ev if e.type == "StreamChangeEvent"], ev
    chunks = reconfig_chunks(w.lab)
    assert sent(chunks, B1)[0] == {ADD_OUT, ADD_IN}, chunks
    assert sent(chunks, A1) == ({RESPONSE}, {DENIED}), chunks


def test_b_sctpx_denies_an_assoc_reset_it_did_not_enable(lab: Lab, reconf_exe: Path) -> None:
    w = start(lab, reconf_exe, sx_enable=sctpx.SCTP_ENABLE_RESET_STREAM_REQ)
    assert w.us.command("assoc") == "OK assoc"
    # usrsctp takes an answer to its SSN/TSN Reset Request only in the long form (with the
    # Sender's and Receiver's Next TSN, 20 bytes), whatever the result
    w.us.wait(rf"^ASSOC_RESET flags=0x{RESET_DENIED:x} ")
    assert [m.ssn for m in us_send(w, "after", 2)] == [0, 1]
    chunks = reconfig_chunks(w.lab)
    assert sent(chunks, B1)[0] == {TSN_REQ}, chunks
    assert sent(chunks, A1) == ({RESPONSE}, {DENIED}), chunks
    assert sum(1 for src, types, _ in chunks if src == B1 and TSN_REQ in types) == 1, chunks


def test_b_sctpx_denies_stream_resets_by_default(lab: Lab, reconf_exe: Path) -> None:
    w = start(lab, reconf_exe, sx_enable=0)  # RFC 6525 §6.3.1: the default is 0
    assert [m.ssn for m in us_send(w, "before", 2)] == [0, 1]
    assert w.us.command("reset out 1 2") == "OK reset"
    w.us.wait(rf"^STREAM_RESET flags=0x{OUTGOING_SSN | RESET_DENIED:x} streams=1,2$")
    assert [m.ssn for m in us_send(w, "after", 2)] == [2, 3]
    chunks = reconfig_chunks(w.lab)
    assert sent(chunks, B1)[0] == {OUT_REQ}, chunks
    assert sent(chunks, A1) == ({RESPONSE}, {DENIED}), chunks


# ----- the chunk's length (RFC 9260 §3.2) when its last parameter needs padding -----


def test_a_single_stream_reset_chunk_length(world: World) -> None:
    # An Outgoing SSN Reset Request for one stream is 18 bytes: the RE-CONFIG chunk's
    # length is 4 + 18 = 22, its 2 bytes of padding not counted (RFC 9260 §3.2: the
    # Chunk Length includes the padding of every parameter but the last).
    w = world
    w.s.setsockopt(C("IPPROTO_SCTP"), C("SCTP_RESET_STREAMS"),
                   reset_opt(w, sctpx.SCTP_STREAM_RESET_OUTGOING, (SID,)))  # fmt: skip
    ev = sx_event(w, "StreamResetEvent")
    assert (ev.flags, tuple(ev.streams)) == (OUTGOING_SSN, (SID,)), ev
    w.us.wait(rf"^STREAM_RESET flags=0x{INCOMING_SSN:x} streams={SID}$")
    assert ssns(sx_send(w, "after", 2)) == [0, 1]
    w.lab.stop()
    rows = tshark_fields(w.lab.capture.path, ["sctp.chunk_length", "sctp.parameter_length"],
                         f"ip.src == {A1} && sctp.chunk_type == {RECONFIG}",
                         (SX_UDP, US_UDP))  # fmt: skip
    assert rows, "no RE-CONFIG from sctpx"
    for chunk_len, param_len in rows:
        assert (int(chunk_len), int(param_len)) == (22, 18), rows
    w.lab.finish()  # nothing malformed on the wire
