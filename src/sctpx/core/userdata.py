"""The association's handlers for the chunks of the data path (RFC 9260 §6; RFC 3758; RFC
8260), moved out of :mod:`.association` to keep it a short conductor.

Each takes the association first, like its methods; the chunk table in association.py
points at them. DATA and I-DATA go to one handler: the data path checks which of the two
was negotiated (RFC 8260 §2.2.3) and turns the other into a Protocol Violation ABORT.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .. import wire as w
from .config import Config
from .states import DATA_IN_STATES, UP_STATES
from .types import Addr

if TYPE_CHECKING:
    from .association import Association

log = logging.getLogger("sctpx.core")


def on_data(a: Association, chunk: w.DataChunk | w.IDataChunk, src: Addr, dst: Addr,
            now: float) -> None:  # fmt: skip
    # §6: DATA is received in ESTABLISHED, SHUTDOWN-PENDING and SHUTDOWN-SENT.
    if a.data is not None and a.state in DATA_IN_STATES:
        a.data.on_data(chunk, src[0], now)


def on_sack(a: Association, chunk: w.SackChunk, src: Addr, dst: Addr, now: float) -> None:
    if a.data is not None and a.state in UP_STATES:
        a.data.on_sack(chunk, now)


def on_forward_tsn(a: Association, chunk: w.ForwardTsnChunk | w.IForwardTsnChunk, src: Addr,
                   dst: Addr, now: float) -> None:  # fmt: skip
    if a.data is not None and a.state in UP_STATES:
        a.data.on_forward_tsn(chunk, now)


def check_retrans_limits(assoc_id: int, cfg: Config, npaths: int) -> None:
    """FM-04 (§8.2 note): warn when the association could outlive all its paths.

    Only for a multi-homed peer: with one path the RFC's own defaults (10 > 5) would
    warn every time, and that path going inactive is the association's end anyway.
    """
    total = cfg.path_max_retrans * npaths
    if npaths > 1 and cfg.assoc_max_retrans > total:
        log.warning(
            "association %d: Association.Max.Retrans %d exceeds the sum of its paths' "
            "Path.Max.Retrans (%d): every path may be inactive while it lives on",
            assoc_id, cfg.assoc_max_retrans, total,
        )  # fmt: skip
