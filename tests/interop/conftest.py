"""Interop with usrsctp on a network of namespaces: each test gets its own, always torn down.

Needs root, iproute2, iptables, tshark (dumpcap) and Debian's libusrsctp-examples
(``make test`` installs them when run as root, as in CI). Elsewhere these tests skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sctpx.testing import TestNet, require_root_tools

from .lab import Lab
from .usrsctp import USRSCTP_DIR, missing_programs


def _why_not() -> str | None:
    why = require_root_tools("iptables", "ip6tables", "tshark", "dumpcap", "ss", "stdbuf")
    if why:
        return why
    missing = missing_programs()
    if missing:
        return f"{missing} missing in {USRSCTP_DIR} (apt install libusrsctp-examples)"
    return None


WHY_NOT = _why_not()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    if WHY_NOT:
        pytest.skip(WHY_NOT)
    with TestNet() as net:
        world = Lab(net, tmp_path)
        try:
            yield world
        finally:
            world.stop()
