"""make bench: the kernel backend beside the userspace stack, both in the kvm-peer VM.

Bulk throughput (1200-byte messages, SCTP_NODELAY on both) and set-up latency
(median connectx + accept) of ``sctpx.socket`` on the guest's loopback, on
Linux 6.1's SCTP (backend="kernel") and on sctpx's userspace stack over UDP
(backend="user"), in one run in the same VM. The VM is emulated (TCG), so only
the ratios mean anything. Boots the VM with the harness's start.sh when it is
not running (and leaves it as it found it: stopped again if it booted it).
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO.parent / "shared" / "kvm-peer"
sys.path.insert(0, str(REPO / "tests" / "kernel_backend"))

from guest import run_json, ship  # noqa: E402


class _VM:
    def __init__(self) -> None:
        spec = importlib.util.spec_from_file_location("kvmpeer", HARNESS / "kvmpeer.py")
        assert spec is not None and spec.loader is not None
        self.mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.mod)

    def run(self, cmd: str, timeout: float = 30.0, stdin: bytes | None = None) -> object:
        return self.mod.run(cmd, timeout=timeout, stdin=stdin)


LOCK = Path(os.environ.get("KVMPEER_CACHE", "/var/tmp/kvm-peer")) / "sctpx-tests.lock"


def _lock(timeout: float = 900.0) -> object:
    """The test sessions' VM lock (tests/kernel/vm.py): never boot or stop it under them."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    f = open(LOCK, "a+")  # noqa: SIM115 - held until the process ends
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise SystemExit(f"kernel_vm: {LOCK} held for {timeout:.0f} s") from None
            time.sleep(0.5)


def main() -> int:
    if not (HARNESS / "start.sh").exists():
        print(f"kernel_vm: no kvm-peer harness at {HARNESS}; skipped")
        return 0
    held = _lock()  # noqa: F841 - released at exit
    running = any((Path("/var/tmp/kvm-peer/run")).glob("agent*.sock"))
    if not running:
        subprocess.run([str(HARNESS / "start.sh")], stdout=subprocess.DEVNULL, check=True)
    try:
        vm = _VM()
        vm.mod.wait_ready(90)
        ship(vm)
        rows = {r["backend"]: r for r in run_json(vm, "g_bench.py", "--mb", "4", "--setups",
                                                   "10", timeout=600)}  # fmt: skip
    finally:
        if not running:
            subprocess.run([str(HARNESS / "stop.sh")], stdout=subprocess.DEVNULL, check=False)
    k, u = rows["kernel"], rows["user"]
    print("sctpx.socket in the kvm-peer VM (Linux 6.1, TCG), guest loopback, one run")
    print(f"{'':28}{'kernel':>12}{'user':>12}{'kernel/user':>14}")
    print(f"{'bulk 1200 B, MB/s':28}{k['bulk_MBps']:>12.3f}{u['bulk_MBps']:>12.3f}"
          f"{k['bulk_MBps'] / u['bulk_MBps']:>13.2f}x")  # fmt: skip
    print(f"{'set-up (connectx+accept), ms':28}{k['setup_ms']:>12.2f}{u['setup_ms']:>12.2f}"
          f"{k['setup_ms'] / u['setup_ms']:>13.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
