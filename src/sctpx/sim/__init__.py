"""sctpx.sim: a deterministic, virtual-time network simulator for sans-IO SCTP drivers.

Build a network of hosts with several addresses, join them by links with
delay, jitter, loss, duplication, reordering, black holes, ICMP-like
unreachable signals and MTU limits (all changeable mid-run), attach drivers
(``sctpx.core`` endpoints, or your own objects with the ``Driver`` methods)
by SCTP port, and run it on a virtual clock::

    from sctpx.sim import ANY, Network

    net = Network(seed=7)
    client = net.add_host("client", ["198.18.0.1", "198.18.1.1"])
    server = net.add_host("server", ["198.18.0.2", "198.18.1.2"])
    net.link(ANY, ANY, delay=0.02)                 # the default of every link
    net.cut("198.18.0.1", "198.18.0.2")            # first path dead from the start
    server.attach(5000, server_endpoint)
    client.attach(40000, client_endpoint)
    client_endpoint.connectx(...); net.poke(client_endpoint)
    net.at(5.0, lambda: net.heal())
    assert net.run_until(lambda: client_endpoint.is_established, timeout=30)
    inits = net.packets(chunk=InitChunk, dst="198.18.0.2")
    net.write_pcap("setup.pcap")                   # open it in Wireshark

Modules: :mod:`~sctpx.sim.network` (the clock and event loop, the model in
full), :mod:`~sctpx.sim.host`, :mod:`~sctpx.sim.link`, :mod:`~sctpx.sim.trace`,
:mod:`~sctpx.sim.pcap` (a stand-alone pcap writer), :mod:`~sctpx.sim.events`.
"""

from .events import EventLimitExceeded, Scheduled, SimulationError
from .host import Host, UnclaimedHook
from .link import ANY, LinkChanges, LinkProps
from .network import DEFAULT_MAX_EVENTS, Network
from .pcap import PcapWriter, ip_packet
from .trace import Fate, TraceRecord

__all__ = [
    "ANY",
    "DEFAULT_MAX_EVENTS",
    "EventLimitExceeded",
    "Fate",
    "Host",
    "LinkChanges",
    "LinkProps",
    "Network",
    "PcapWriter",
    "Scheduled",
    "SimulationError",
    "TraceRecord",
    "UnclaimedHook",
    "ip_packet",
]
