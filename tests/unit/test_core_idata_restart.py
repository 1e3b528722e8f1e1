"""Sender.restart and Receiver.restart: the pieces of DataPath.restart_tsns (RFC 6525 SSN/TSN
Reset, §5.1.4, §5.2.4); the whole is tested in tests/sim/test_idata_restart.py."""

from __future__ import annotations

from test_core_sender import Harness

from sctpx.core.receiver import Receiver
from sctpx.wire.chunks import FLAG_BEGIN, FLAG_END, DataChunk

B, E = FLAG_BEGIN, FLAG_END


def test_queued_messages_go_out_under_the_new_numbering_a_begun_one_whole() -> None:
    h = Harness()
    h.open_cwnd()
    h.put(b"a" * 3000, payload=1000)  # three fragments
    h.put(b"b" * 10, stream=1)
    first = h.send(room=1100)  # only the first fragment fits
    assert [c.flags & (B | E) for c in first] == [B]
    h.sack(0)
    h.s.restart(500)
    assert h.s.queued_bytes == 3010
    out = h.send()
    assert [c.tsn for c in out] == [500, 501, 502, 503]
    assert [(c.stream_id, c.ssn, c.flags & (B | E)) for c in out] == [
        (0, 0, B), (0, 0, 0), (0, 0, E), (1, 0, B | E)
    ]  # fmt: skip
    assert b"".join(c.user_data for c in out[:3]) == b"a" * 3000


def test_receiver_restart_drops_reassembly_and_order_and_ends_a_partial_delivery() -> None:
    rx = Receiver(1000, 4, buffer_limit=4000)
    rx.on_data(DataChunk(1000, 0, 0, 0, b"m" * 10), 0.0)
    rx.on_data(DataChunk(1002, 0, 2, 0, b"h" * 10), 0.0)  # held: waits for SSN 1
    rx.on_data(DataChunk(1003, 1, 0, 0, b"f" * 10, B), 0.0)  # a fragment
    rx.on_packet_done(0.0)
    [m] = rx.pop_messages()
    rx.consumed(len(m.data))
    rx.restart(9)
    rx.check_invariants()
    assert rx.cum_tsn == 8 and rx.buffered == 0 and rx.next_ssn(0) == 0
    assert not rx.tsn_map.has_gaps()
    rx.on_data(DataChunk(9, 0, 0, 0, b"n" * 5), 0.0)
    rx.on_packet_done(0.0)
    [m2] = rx.pop_messages()
    assert (m2.tsn, m2.ssn, m2.data) == (9, 0, b"n" * 5)
    assert rx.make_sack().cum_tsn_ack == 9
