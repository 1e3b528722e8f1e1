"""Many threads on one stack: calls, reads, endpoint churn and a close, with no deadlock."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable

from sctpx.core import AssocChangeState, Config, Endpoint
from sctpx.core.events import DataReceived
from sctpx.net import Stack

from .conftest import Events

RUN_FOR = 1.0
SENDERS = 4


class Signal:
    """on_events that only signals; reader threads fetch events with stack.call (like a socket)."""

    def __init__(self) -> None:
        self.ready = threading.Event()

    def __call__(self, ep: Endpoint) -> None:
        self.ready.set()


def test_eight_threads_calling_then_closing(make_stack: Callable[..., Stack]) -> None:
    server, client = make_stack(), make_stack()
    sig = Signal()
    sep = server.open_endpoint(5000, ["127.0.0.2", "127.0.0.3"], Config(max_instreams=16), sig)
    server.call(lambda now: sep.listen())
    cev = Events()
    cfg = Config(remote_udp_port=server.udp_port, num_ostreams=16)
    cep = client.open_endpoint(0, ["127.0.0.1"], cfg, cev)
    aid = client.call(lambda now: cep.connectx([("127.0.0.2", 5000), ("127.0.0.3", 5000)], now))
    cev.assoc_change(AssocChangeState.COMM_UP)

    stop = threading.Event()
    errors: list[BaseException] = []
    received: dict[int, list[int]] = {}  # stream (= sender) -> sequence numbers in order
    sent = [0] * SENDERS
    churn = [0]

    def guarded(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except OSError as exc:
                if exc.errno != errno.EBADF:  # the client stack closed under us: fine
                    errors.append(exc)
            except BaseException as exc:
                errors.append(exc)

        return run

    def sender(k: int) -> Callable[[], None]:
        def go(now: float) -> None:
            for _ in range(10):
                cep.send(aid, k.to_bytes(2, "big") + sent[k].to_bytes(4, "big"), now, stream=k)
                sent[k] += 1

        def loop() -> None:
            while not stop.is_set():
                client.call(go)
                time.sleep(0.001)

        return loop

    def drain(now: float) -> list[DataReceived]:
        out = []
        while (ev := sep.next_event()) is not None:
            if isinstance(ev, DataReceived):
                sep.consumed(ev.assoc_id, len(ev.data))
                out.append(ev)
        return out

    def reader() -> None:
        while not stop.is_set():
            sig.ready.wait(0.05)
            sig.ready.clear()
            for ev in server.call(drain):
                k, seq = int.from_bytes(ev.data[:2], "big"), int.from_bytes(ev.data[2:], "big")
                received.setdefault(k, []).append(seq)

    def churner() -> None:
        while not stop.is_set():
            ep = client.open_endpoint(0, ["127.0.0.5"], None, Events())
            client.call_soon(lambda now: None)
            client.close_endpoint(ep)
            churn[0] += 1

    def closer() -> None:
        time.sleep(RUN_FOR)
        client.call(lambda now: cep.set_primary(aid, "127.0.0.3"))
        client.close()  # while the senders and the churner are still calling

    threads = [threading.Thread(target=guarded(sender(k))) for k in range(SENDERS)]
    threads += [threading.Thread(target=guarded(reader)) for _ in range(2)]
    threads += [threading.Thread(target=guarded(churner)), threading.Thread(target=guarded(closer))]
    assert len(threads) == 8
    for t in threads:
        t.start()
    time.sleep(RUN_FOR + 0.3)
    stop.set()
    for t in threads:
        t.join(5)
    assert not any(t.is_alive() for t in threads), "a thread is stuck: deadlock"
    assert errors == []
    assert client.closed and client.udp_sockets == {}
    assert churn[0] > 10 and all(n > 0 for n in sent)
    # Messages readers took are, per stream (= sender), in order without gaps:
    # the two readers interleave their batches, so sort what each stream got.
    total = 0
    for k, seqs in received.items():
        assert sorted(seqs) == list(range(len(seqs))), f"stream {k}: lost or duplicated"
        total += len(seqs)
    assert total > 1000
    assert server.stats.core_errors == client.stats.core_errors == 0
