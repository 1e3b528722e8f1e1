"""Interop with usrsctp on a network of namespaces: each test gets its own, always torn down.

Needs root, iproute2, iptables, tshark (dumpcap) and Debian's libusrsctp-examples
(``make test`` installs them when run as root, as in CI). Elsewhere these tests skip.

A test's captures and logs stay in its temporary directory; those of a test that
passed are deleted when larger than :data:`KEEP_BYTES` (the 50 MB transfers leave
about 150 MB each).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from sctpx.testing import TestNet, require_root_tools

from .lab import Lab
from .usrsctp import USRSCTP_DIR, missing_programs

KEEP_BYTES = 4 << 20


def _why_not() -> str | None:
    why = require_root_tools("iptables", "ip6tables", "tshark", "dumpcap", "ss", "stdbuf")
    if why:
        return why
    missing = missing_programs()
    if missing:
        return f"{missing} missing in {USRSCTP_DIR} (apt install libusrsctp-examples)"
    return None


WHY_NOT = _why_not()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call":
        item.stash[_PASSED] = rep.passed


_PASSED = pytest.StashKey[bool]()


@pytest.fixture
def lab(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Lab]:
    if WHY_NOT:
        pytest.skip(WHY_NOT)
    with TestNet() as net:
        world = Lab(net, tmp_path)
        try:
            yield world
        finally:
            world.stop()
    if request.node.stash.get(_PASSED, False):
        for f in tmp_path.iterdir():
            if f.is_file() and f.stat().st_size > KEEP_BYTES:
                f.unlink()
