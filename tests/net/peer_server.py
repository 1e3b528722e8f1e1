"""A server in its own process for tests: ``python peer_server.py IP SCTP_PORT NBYTES``.

It opens a Stack (ephemeral UDP port) with one listening endpoint on IP, prints
``READY <udp_port>``, hashes (SHA-256) the data of the first association until
NBYTES have arrived, sends the hex digest back on stream 0 and prints
``DONE <digest>``. It runs until stdin closes or it is killed.
"""

from __future__ import annotations

import hashlib
import sys

from sctpx.core import Endpoint
from sctpx.core.events import DataReceived
from sctpx.net import Stack


def main() -> None:
    ip, port, expected = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    digest = hashlib.sha256()
    state = {"got": 0, "done": False}

    def on_events(ep: Endpoint) -> None:
        while (ev := ep.next_event()) is not None:
            if not isinstance(ev, DataReceived):
                continue
            ep.consumed(ev.assoc_id, len(ev.data))
            digest.update(ev.data)
            state["got"] += len(ev.data)
            if state["got"] >= expected and not state["done"]:
                state["done"] = True
                hexd = digest.hexdigest()
                ep.send(ev.assoc_id, hexd.encode(), stack.now())
                print("DONE", hexd, state["got"], flush=True)

    stack = Stack(udp_port=0)
    try:
        ep = stack.open_endpoint(port, [ip], None, on_events)
        stack.call(lambda now: ep.listen())
        print("READY", stack.udp_port, flush=True)
        sys.stdin.read()  # until the parent closes our stdin (or kills us)
    finally:
        stack.close()


if __name__ == "__main__":
    main()
