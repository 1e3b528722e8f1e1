"""Fixtures for real-socket tests of the net layer: stacks that are always closed, event queues.

Everything stays on loopback: 127.0.0.0/8 (Linux routes all of it to ``lo``) and ::1.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator

import pytest

from sctpx.core import AssocChange, AssocChangeState, Config, Endpoint
from sctpx.core.events import DataReceived, Event
from sctpx.net import Stack

WAIT = 5.0  # the longest any single wait in these tests may take


class Events:
    """An ``on_events`` callback that drains the endpoint into a thread-safe queue.

    Data is marked consumed when drained (the reader "reads" at once), so the
    receive window stays open.
    """

    def __init__(self) -> None:
        self.queue: queue.Queue[Event] = queue.Queue()
        self.calls = 0

    def __call__(self, ep: Endpoint) -> None:
        self.calls += 1
        while (ev := ep.next_event()) is not None:
            if isinstance(ev, DataReceived):
                ep.consumed(ev.assoc_id, len(ev.data))
            self.queue.put(ev)

    def get(self, pred: Callable[[Event], bool], timeout: float = WAIT) -> Event:
        """The next event matching ``pred``; others are dropped. Fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event within {timeout} s")
            try:
                ev = self.queue.get(timeout=left)
            except queue.Empty:
                continue
            if pred(ev):
                return ev

    def assoc_change(
        self, state: AssocChangeState, timeout: float = WAIT
    ) -> AssocChange:  # the next AssocChange in ``state``
        ev = self.get(lambda e: isinstance(e, AssocChange) and e.state is state, timeout)
        assert isinstance(ev, AssocChange)
        return ev

    def data(self, n: int, timeout: float = WAIT) -> list[DataReceived]:
        """The next ``n`` DataReceived events (other events are dropped)."""
        deadline = time.monotonic() + timeout
        out: list[DataReceived] = []
        while len(out) < n:
            ev = self.get(lambda e: isinstance(e, DataReceived), deadline - time.monotonic())
            assert isinstance(ev, DataReceived)
            out.append(ev)
        return out


def wait_until(pred: Callable[[], bool], timeout: float = WAIT, step: float = 0.002) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


@pytest.fixture
def make_stack() -> Iterator[Callable[..., Stack]]:
    """``make_stack(**kw)`` -> a Stack (udp_port 0 unless given), closed after the test."""
    stacks: list[Stack] = []

    def make(**kw: object) -> Stack:
        kw.setdefault("udp_port", 0)
        s = Stack(**kw)  # type: ignore[arg-type]
        stacks.append(s)
        return s

    yield make
    for s in stacks:
        s.close()


class Pair:
    """A listening server endpoint on 127.0.0.2 + 127.0.0.3 and a client endpoint on 127.0.0.1."""

    SERVER_IPS = ("127.0.0.2", "127.0.0.3")
    PORT = 5000

    def __init__(self, make_stack: Callable[..., Stack], **client_kw: object) -> None:
        self.server = make_stack()
        self.client = make_stack(**client_kw)
        self.sev, self.cev = Events(), Events()
        self.sep = self.server.open_endpoint(self.PORT, list(self.SERVER_IPS), None, self.sev)
        self.server.call(lambda now: self.sep.listen())
        cfg = Config(remote_udp_port=self.server.udp_port, init_stagger=0)
        self.cep = self.client.open_endpoint(0, ["127.0.0.1"], cfg, self.cev)

    def connect(self, ips: tuple[str, ...] = SERVER_IPS, **opts: object) -> int:
        addrs = [(ip, self.PORT) for ip in ips]
        aid: int = self.client.call(lambda now: self.cep.connectx(addrs, now, **opts))
        return aid

    def establish(self) -> int:
        aid = self.connect()
        self.cev.assoc_change(AssocChangeState.COMM_UP)
        self.sev.assoc_change(AssocChangeState.COMM_UP)
        return aid


@pytest.fixture
def pair(make_stack: Callable[..., Stack]) -> Pair:
    return Pair(make_stack)
