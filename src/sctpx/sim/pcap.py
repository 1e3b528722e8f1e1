"""The pcap writer lives in :mod:`sctpx.pcap` (the simulator and the real stack share it)."""

from ..pcap import PcapWriter, internet_checksum, ip_packet

__all__ = ["PcapWriter", "internet_checksum", "ip_packet"]
