"""Test helpers for programs that use sctpx: a multi-homed network of namespaces, captures.

* :class:`TestNet` (:mod:`.netns`): two hosts in their own network namespaces
  joined by two veth links, with programs run inside, links cut and restored,
  random loss, and a guaranteed tear-down. Needs root.
* :class:`Capture` and :func:`check_capture` (:mod:`.capture`): dumpcap on the
  links, and tshark's SCTP dissector (CRC32c checked) over the result or over a
  ``sctpx.Stack(pcap=...)`` file.

Nothing here is imported by ``import sctpx``.
"""

from .capture import (
    KNOWN_CHUNK_TYPES,
    Capture,
    CaptureReport,
    SctpPacket,
    check_capture,
    tshark_fields,
)
from .netns import Host, Link, LinkSpec, NetnsError, TestNet, require_root_tools

__all__ = [
    "KNOWN_CHUNK_TYPES",
    "Capture",
    "CaptureReport",
    "Host",
    "Link",
    "LinkSpec",
    "NetnsError",
    "SctpPacket",
    "TestNet",
    "check_capture",
    "require_root_tools",
    "tshark_fields",
]
