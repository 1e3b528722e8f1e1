"""Fixtures for the socket tests: each test gets its own two stacks, always closed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sctpx.net import Stack

from .support import Net


@pytest.fixture
def net() -> Iterator[Net]:
    a, b = Stack(udp_port=0), Stack(udp_port=0)
    try:
        yield Net(a, b)
    finally:
        b.close()
        a.close()
