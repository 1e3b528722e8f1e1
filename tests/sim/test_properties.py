"""Property tests: whatever the network does, set-up ends in one consistent association or none."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sctpx.core import State
from sctpx.core.states import SETUP_STATES
from sctpx.sim import ANY

from .scenario import P1, P2, make_pair


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    loss=st.floats(0, 0.5),
    duplicate=st.floats(0, 0.3),
    reorder=st.floats(0, 0.3),
    jitter=st.floats(0, 0.05),
    stagger=st.sampled_from([0.0, 0.05, 0.25]),
    simultaneous=st.booleans(),
)
def test_lossy_setup_never_leaves_two_associations_or_a_stuck_state(
    seed: int, loss: float, duplicate: float, reorder: float, jitter: float,
    stagger: float, simultaneous: bool,
) -> None:  # fmt: skip
    p = make_pair(seed=seed, server_addrs=(P1, P2))
    p.net.link(ANY, ANY, loss=loss, duplicate=duplicate, reorder=reorder, jitter=jitter)
    aid = p.connectx([P1, P2], init_stagger=stagger)
    if simultaneous:
        p.server.connectx([("198.18.1.1", 40000), ("198.18.2.1", 40000)], 0.0)
        p.net.poke(p.server)

    def settled() -> bool:
        c = p.client.associations.get(aid)
        return c is None or c.state not in SETUP_STATES

    # Set-up ends, up or given up, well within this, whatever the network does.
    assert p.run_until(settled, 2000), p.net.format_trace()[-3000:]
    c = p.client.associations.get(aid)
    if c is not None and c.state is State.ESTABLISHED:
        [s] = p.server.associations.values()  # the COOKIE ACK came from a live TCB
        # In a simultaneous open the server may still await the client's COOKIE ACK.
        want = {State.ESTABLISHED, State.COOKIE_ECHOED} if simultaneous else {State.ESTABLISHED}
        assert s.state in want
        assert (s.peer_tag, s.local_tag) == (c.local_tag, c.peer_tag)
    p.run_for(600)  # and nothing is left half-open or duplicated later
    assert len(p.client.associations) <= 1 and len(p.server.associations) <= 1
    for a in [*p.client.associations.values(), *p.server.associations.values()]:
        assert a.state not in SETUP_STATES
    for side in ("c", "s"):  # at most one COMM_UP per side, and only for a live association
        ups = [e for e in p.changes(side) if e.state.value == "COMM_UP"]
        assert len(ups) <= 1


def test_sixty_simulated_seconds_take_well_under_a_second() -> None:
    p = make_pair()
    aid = p.connectx([P1, P2])
    start = time.perf_counter()
    p.run_for(60)
    spent = time.perf_counter() - start
    assert p.assoc(aid).state is State.ESTABLISHED
    print(f"60 simulated seconds in {spent * 1000:.1f} ms of real time")
    assert spent < 5  # a loose bound: catches pathological slowness only
