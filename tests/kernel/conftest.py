"""Interop with the Linux kernel's own SCTP: the kvm-peer VM (../shared/kvm-peer).

The VM is booted once per session (``start.sh``: ~45 s the first time, when it
builds its image, then ~13 s) and stopped at the end (``stop.sh``), also when
tests fail. A VM that was already running is used as it is and left running.
Each test gets a :class:`~.vm.KernelPeer` (fixture ``kernel``): the guest
programs it starts are killed, the paths it cut restored and the guest
settings it changed put back when it ends. Every test runs once per transport
in :data:`.support.TRANSPORTS`.

Needs root (tap devices, QEMU, packet capture), the harness beside the
repository, and tshark (``make test`` installs it as root; the harness's
``build.sh`` installs QEMU and mmdebstrap itself). Elsewhere these tests skip;
as root with the harness present they run, and a VM that does not boot is an
error of every test here, never a skip.

``SCTPX_KVM_KEEP=1`` leaves a VM that the session booted running afterwards,
so that the next run starts in seconds; ``../shared/kvm-peer/stop.sh`` ends it.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import GUEST_SYSCTLS, HOST, TRANSPORTS, check_udp_port_free
from .vm import HARNESS, GuestError, KernelPeer, KernelVM

_PORTS = itertools.count(5101)


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "the kvm-peer VM needs root (tap devices)"
    if not (HARNESS / "start.sh").exists():
        return f"the kvm-peer harness is not there ({HARNESS})"
    for tool in ("ip", "tshark"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


WHY_NOT = _why_not()


_BOOT_FAILED: list[str] = []  # one attempt per session: a failed boot is not retried


@pytest.fixture(scope="session")
def kvm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelVM]:
    if WHY_NOT:
        pytest.skip(WHY_NOT)
    if _BOOT_FAILED:
        pytest.fail(_BOOT_FAILED[0], pytrace=False)
    vm = KernelVM(tmp_path_factory.mktemp("kvm"))
    try:
        try:
            vm.start()
        except GuestError as e:  # an error of every test here, never a skip
            _BOOT_FAILED.append(f"the kvm-peer VM did not come up: {e}")
            pytest.fail(_BOOT_FAILED[0], pytrace=False)
        yield vm
    finally:
        vm.stop()


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def kernel(kvm: KernelVM, transport: str, tmp_path: Path) -> Iterator[KernelPeer]:
    if transport == "udp":
        check_udp_port_free([*HOST["ipv4"], *HOST["ipv6"]])
    peer = KernelPeer(kvm, transport, GUEST_SYSCTLS[transport], log_dir=tmp_path)
    try:
        yield peer
    finally:
        problems = peer.reset()
    assert not problems, f"cleaning up the VM after the test: {problems}"


@pytest.fixture
def port() -> int:
    """An SCTP port no other test of the session uses."""
    return next(_PORTS)
