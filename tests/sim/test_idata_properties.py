"""Property test: whatever the messages, streams, scheduler and network, every message
arrives exactly once and intact, in order per stream when ordered - with DATA and with
I-DATA (RFC 9260 §6.6, §6.9; RFC 8260 §2.2), the sender numbering its I-DATA fragments
the RFC's way or Linux's (Config.idata_fsn), the receiver on "auto"."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sctpx.core import Config
from sctpx.core.config import IDATA_FSN
from sctpx.core.events import DataReceived
from sctpx.core.scheduler import SCHEDULERS
from sctpx.sim import ANY

from .scenario import P1, established, make_pair

message = st.tuples(st.integers(0, 4), st.booleans(), st.integers(1, 5000))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    messages=st.lists(message, min_size=1, max_size=60),
    interleaving=st.booleans(),
    scheduler=st.sampled_from(SCHEDULERS),
    loss=st.floats(0, 0.2),
    duplicate=st.floats(0, 0.1),
    reorder=st.floats(0, 0.2),
    small_buffer=st.booleans(),
    fsn=st.sampled_from(IDATA_FSN),
)
def test_every_message_once_in_order_per_stream(
    seed: int, messages: list[tuple[int, bool, int]], interleaving: bool, scheduler: str,
    loss: float, duplicate: float, reorder: float, small_buffer: bool, fsn: str,
) -> None:  # fmt: skip
    cfg = Config(num_ostreams=5, max_instreams=5, interleaving=interleaving,
                 stream_scheduler=scheduler, a_rwnd=8000 if small_buffer else 131072)  # fmt: skip
    p = make_pair(seed=seed, client_cfg=replace(cfg, idata_fsn=fsn), server_cfg=cfg,
                  server_addrs=(P1,))  # fmt: skip
    aid = p.connectx([P1])
    assert p.run_until(lambda: established(p, aid) and p.up("s"), 10)
    p.net.link(ANY, ANY, loss=loss, duplicate=duplicate, reorder=reorder, jitter=0.003)
    sent = {}
    for i, (stream, unordered, size) in enumerate(messages):
        data = i.to_bytes(2, "big") + bytes([i & 0xFF]) * (size + 1)
        sent[i] = (stream, unordered, data)
        p.client.send(aid, data, p.net.now, stream=stream, unordered=unordered)
    p.net.poke(p.client)
    parts: dict[int, bytearray] = {}
    got: list[tuple[int, bool, bytes]] = []

    def collect() -> bool:
        for e in p.sevents[len(got_events) :]:
            got_events.append(e)
            if isinstance(e, DataReceived):
                buf = parts.setdefault(e.stream_id, bytearray())
                buf += e.data
                if e.complete:
                    got.append((e.stream_id, e.unordered, bytes(buf)))
                    del parts[e.stream_id]
        return len(got) >= len(messages)

    got_events: list[object] = []
    assert p.run_until(collect, 3000), p.net.stats()
    ids = [int.from_bytes(d[:2], "big") for _, _, d in got]
    assert sorted(ids) == sorted(sent)  # exactly once
    last: dict[int, int] = {}
    for (stream, unordered, data), i in zip(got, ids, strict=True):
        assert (stream, unordered, data) == sent[i]  # intact
        if not unordered:
            assert last.get(stream, -1) < i  # in order on its stream
            last[stream] = i
    rx = p.server_assoc().data.receiver  # type: ignore[union-attr]
    rx.check_invariants()
    assert p.assoc(aid).interleaving is interleaving
    if interleaving and any(len(d) > 1500 for _s, _u, d in sent.values()):  # fragmented
        assert rx._idata is not None
        assert rx._idata.peer_fsn == ("linux" if fsn == "linux" else "rfc")
