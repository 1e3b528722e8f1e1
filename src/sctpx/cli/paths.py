"""The path table of an association, read with getsockopt(SCTP_GET_PEER_ADDR_INFO)."""

from __future__ import annotations

import contextlib

from ..api import constants as C
from ..api.options import PeerAddrInfo
from ..api.socket import socket

STATE_NAMES = {
    C.SCTP_ACTIVE: "ACTIVE",
    C.SCTP_INACTIVE: "INACTIVE",
    C.SCTP_UNCONFIRMED: "UNCONFIRMED",
    C.SCTP_PF: "PF",
}


def read_paths(sock: socket, assoc_id: int = 0) -> tuple[list[PeerAddrInfo], str | None]:
    """Every peer address of the association with its state, and the primary's IP.

    Raises OSError when the association is gone.
    """
    rows = [
        sock.getsockopt(C.IPPROTO_SCTP, C.SCTP_GET_PEER_ADDR_INFO, (assoc_id, addr))
        for addr in sock.getpaddrs(assoc_id)
    ]
    primary = None
    with contextlib.suppress(OSError):
        status = sock.getsockopt(C.IPPROTO_SCTP, C.SCTP_STATUS, assoc_id)
        if status.primary is not None:
            primary = status.primary.address[0]
    return rows, primary


def format_paths(
    rows: list[PeerAddrInfo], primary: str | None, notes: dict[str, str] | None = None
) -> list[str]:
    """The table as lines: address, state, srtt, rto, cwnd, and a note per address."""
    notes = notes or {}
    lines = [f"{'address':<24} {'state':<12} {'srtt':>7} {'rto':>7} {'cwnd':>8}"]
    for info in sorted(rows, key=lambda r: r.address):
        ip = info.address[0]
        state = STATE_NAMES.get(info.state, str(info.state))
        note = ", ".join(n for n in ("primary" if ip == primary else "", notes.get(ip, "")) if n)
        lines.append(
            f"{ip:<24} {state:<12} {info.srtt:>5}ms {info.rto:>5}ms {info.cwnd:>8}  {note}".rstrip()
        )
    return lines
