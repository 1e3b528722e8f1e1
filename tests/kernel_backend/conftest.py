"""The kernel backend's suite: the session VM of tests/kernel (booted once, stopped at the end).

The VM is tests/kernel's :class:`KernelVM` (imported, not copied): booted with the
harness's start.sh unless it runs already, stopped at the end if this session
booted it, under tests/kernel's host-wide session lock. When tests/kernel's own
``kvm`` fixture holds that lock in this same pytest process (both suites in one
``make test``), this suite uses the VM under it instead of waiting for itself.
The scenarios run once per session in the guest (:func:`scenarios`); every test
asserts on its scenario's result.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from typing import Any

import pytest
from kernel.conftest import WHY_NOT
from kernel.vm import GuestError, KernelVM

from .guest import run_json, ship


class SharedVM(KernelVM):
    """tests/kernel's VM; its session lock taken unless this process holds it already."""

    def _take_lock(self) -> None:
        path = self.lock_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path) if path.exists() else open(os.devnull) as f:
            holder = f.read().strip()
        if holder == str(os.getpid()):
            probe = open(path, "a+")  # noqa: SIM115 - closed at once below
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                probe.close()
                return  # held by tests/kernel's fixture, in this process: share it
            probe.close()  # a stale pid: nobody holds it; take it as tests/kernel does
        super()._take_lock()


@pytest.fixture(scope="session")
def guest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelVM]:
    """The VM with sctpx shipped into it."""
    if WHY_NOT:
        pytest.skip(WHY_NOT)
    vm = SharedVM(tmp_path_factory.mktemp("kvm-kb"))
    try:
        try:
            vm.start()
            ship(vm)
        except (GuestError, RuntimeError) as e:  # an error of every test here, never a skip
            pytest.fail(f"the kvm-peer VM did not come up: {e}", pytrace=False)
        yield vm
    finally:
        vm.stop()


@pytest.fixture(scope="session")
def scenarios(guest: KernelVM) -> dict[str, Any]:
    """Every scenario of g_scenarios.py, run once in the guest on the kernel backend."""
    return {r["scenario"]: r for r in run_json(guest, "g_scenarios.py", timeout=240)}
