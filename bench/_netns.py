"""The failover stall measured on real sockets between two network namespaces.

:func:`failover_stall`: sctpx.testing.TestNet (two namespaces, two veth links:
198.18.1.0/24 and 198.18.2.0/24), an sctpx server in one listening on both of its
addresses, a client in the other doing ``connectx`` to both and sending 1200-byte
messages at a fixed rate; one second in, link 1 (the primary path) is black-holed
both ways with iptables. The figure is the longest time the receiving
application got no new message from the cut on. Root only (namespaces, iptables);
TestNet removes everything it made, whatever happens.
"""

from __future__ import annotations

import itertools
import sys
import time

from _procs import WORKERS, Proc, killing

RATE = 100.0  # messages a second
SECONDS = 8.0  # of sending; the cut is 1 s in


def failover_stall() -> float:
    """Seconds without a delivery after the primary link was cut (one run)."""
    from sctpx.testing import TestNet

    with TestNet() as net:
        a, b = net.hosts
        ips = ",".join(link.ip(b) for link in net.links)
        py = [sys.executable, str(WORKERS)]
        srv = Proc(net.argv(b, [*py, "paced-recv", "--ip", ips, "--timeout", str(SECONDS + 90)]))
        with killing(srv):
            srv.read_json(20)
            cli = Proc(net.argv(a, [*py, "paced-send", "--ip", ips, "--rate", str(RATE),
                                    "--seconds", str(SECONDS)]))  # fmt: skip
            with killing(cli):
                up = cli.read_json(20)
                if up["paths"][0] != net.links[0].ip(b):
                    raise RuntimeError(f"primary path is not link 1: {up['paths']}")
                time.sleep(1.0)
                cut_at = time.monotonic()
                net.cut(net.links[0])
                times = srv.read_json(SECONDS + 90)["times"]
                cli.read_json(30)
    if len(times) != int(SECONDS * RATE):
        raise RuntimeError(f"{len(times)} of {int(SECONDS * RATE)} messages arrived")
    before = [t for t in times if t <= cut_at]
    after = [t for t in times if t > cut_at]
    if not before or not after:
        raise RuntimeError("no delivery before or after the cut")
    gaps = [after[0] - before[-1]] + [y - x for x, y in itertools.pairwise(after)]
    return max(gaps)
