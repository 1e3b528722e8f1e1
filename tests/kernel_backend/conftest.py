"""The kernel backend's suite: the session VM of tests/kernel (booted once, stopped at the end).

The ``kvm`` fixture is tests/kernel's own (imported, so one VM serves both
suites; a VM that was already running is used and left running). The
scenarios run once per session in the guest (:func:`scenarios`); every test
asserts on its scenario's result.
"""

from __future__ import annotations

from typing import Any

import pytest
from kernel.conftest import kvm  # noqa: F401 - the session VM fixture, shared
from kernel.vm import KernelVM

from .guest import run_json, ship


@pytest.fixture(scope="session")
def guest(kvm: KernelVM) -> KernelVM:  # noqa: F811
    """The VM with sctpx shipped into it."""
    ship(kvm)
    return kvm


@pytest.fixture(scope="session")
def scenarios(guest: KernelVM) -> dict[str, Any]:
    """Every scenario of g_scenarios.py, run once in the guest on the kernel backend."""
    return {r["scenario"]: r for r in run_json(guest, "g_scenarios.py", timeout=240)}
