"""A stack with many endpoints: each batch looks only at the endpoints it touched.

sctpx.aio gives each client association an endpoint of its own, so a stack may hold
thousands. Traffic on one of them must not poll the others (it once did: every
packet asked every endpoint for its output and its timer).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sctpx.core import AssocChangeState, Config, Endpoint
from sctpx.net import Stack
from sctpx.net.deadlines import Deadlines

from .conftest import Events, Pair, wait_until

IDLE = 500


class Counted:
    """Counts the stack's calls into the endpoints it should leave alone.

    Seen from the stack (its methods are Python in both builds; the compiled core's
    methods cannot be replaced on an Endpoint): every ``datagrams_to_send`` goes through
    ``Stack._transmit``, every ``get_timer`` result into ``Deadlines.set`` and every
    ``handle_timer`` is for a port ``Deadlines.pop_due`` returned.
    """

    def __init__(self, stack: Stack, eps: list[Endpoint]) -> None:
        self.n = 0
        ports = {ep.port for ep in eps}
        transmit, deadlines = stack._transmit, stack._deadlines
        set_deadline, pop_due = deadlines.set, deadlines.pop_due

        def counting_transmit(ep: Endpoint, now: float) -> None:  # datagrams_to_send
            self.n += ep.port in ports
            transmit(ep, now)

        def counting_set(port: int, when: float | None) -> None:  # get_timer
            self.n += port in ports
            set_deadline(port, when)

        def counting_pop(now: float) -> list[int]:  # handle_timer
            due = pop_due(now)
            self.n += sum(p in ports for p in due)
            return due

        stack._transmit = counting_transmit  # type: ignore[method-assign]
        deadlines.set = counting_set  # type: ignore[method-assign]
        deadlines.pop_due = counting_pop  # type: ignore[method-assign]


def test_traffic_on_one_endpoint_does_not_poll_the_idle_ones(
    make_stack: Callable[..., Stack],
) -> None:
    pair = Pair(make_stack)
    idle = [pair.client.open_endpoint(0, ["127.0.0.1"], Config(), Events()) for _ in range(IDLE)]
    counter = Counted(pair.client, idle)
    aid = pair.establish()
    for i in range(200):  # 200 messages, each its own call with endpoint= (as aio sends)
        pair.client.call(lambda now, i=i: pair.cep.send(aid, b"m%d" % i, now), endpoint=pair.cep)
    pair.sev.data(200)
    polled = counter.n
    # The set-up's calls name no endpoint (each such call looks at all of them once);
    # the 200 sends and their SACKs must add nothing.
    assert polled <= 3 * IDLE * 4, polled
    before = polled
    for i in range(200):
        pair.client.call(lambda now, i=i: pair.cep.send(aid, b"n%d" % i, now), endpoint=pair.cep)
    pair.sev.data(200)
    assert counter.n == before


def test_the_counter_sees_a_poll_of_every_endpoint(make_stack: Callable[..., Stack]) -> None:
    """The check of the check: a call naming no endpoint polls them all, and is counted."""
    stack = make_stack()
    idle = [stack.open_endpoint(0, ["127.0.0.1"], Config(), Events()) for _ in range(10)]
    counter = Counted(stack, idle)
    stack.call(lambda now: None)  # touches every endpoint: output and timer of each
    assert counter.n >= 2 * len(idle)  # each at least once for its output and its timer


def test_timers_of_many_endpoints_fire(make_stack: Callable[..., Stack]) -> None:
    # Every client endpoint's INIT goes to a silent port: each T1-init must fire and
    # retransmit, found through the deadline heap, not by asking every endpoint.
    stack = make_stack()
    silent = make_stack()  # nothing on SCTP port 5000 there: INITs go unanswered
    silent.open_endpoint(6000, ["127.0.0.2"], None, Events())  # binds its UDP socket
    cfg = Config(remote_udp_port=silent.udp_port, init_stagger=0, rto_initial=0.05,
                 rto_min=0.05)  # fmt: skip
    eps = [stack.open_endpoint(0, ["127.0.0.1"], cfg, Events()) for _ in range(50)]
    for ep in eps:
        stack.call(lambda now, ep=ep: ep.connectx([("127.0.0.2", 5000)], now), endpoint=ep)
    wait_until(lambda: silent.stats.unclaimed >= 100)  # every INIT at least twice
    for ep in eps:
        stack.close_endpoint(ep)


def test_deadlines_keep_the_earliest_and_forget_stale_entries() -> None:
    d = Deadlines()
    d.set(1, 5.0)
    d.set(2, 3.0)
    d.set(2, 7.0)  # moved later: the 3.0 entry is stale
    assert d.earliest() == 5.0
    d.set(1, None)
    assert d.earliest() == 7.0
    for k in range(10, 1000):
        d.set(k, 100.0 + k)
        d.set(k, 50.0 + k)  # stale entries pile up, then the heap is rebuilt
    assert d.earliest() == 7.0
    assert d.pop_due(60.0) == [2, 10]
    assert d.earliest() == 61.0 and len(d) == 989


@pytest.mark.parametrize("n", [1, 3])
def test_association_on_a_crowded_stack_still_ends_by_its_timers(
    make_stack: Callable[..., Stack], n: int
) -> None:
    # T2-shutdown and friends fire through the heap too: a graceful shutdown completes.
    pair = Pair(make_stack)
    for _ in range(n * 100):
        pair.client.open_endpoint(0, ["127.0.0.1"], Config(), Events())
    aid = pair.establish()
    pair.client.call(lambda now: pair.cep.shutdown(aid, now), endpoint=pair.cep)
    pair.cev.assoc_change(AssocChangeState.SHUTDOWN_COMP)
