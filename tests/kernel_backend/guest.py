"""Running sctpx inside the kvm-peer VM (Linux 6.1 with sctp.ko): ship the tree, run scripts.

The guest has python3 but neither sctpx nor its google-crc32c dependency nor
pytest: :func:`ship` copies ``src/sctpx``, the host's google_crc32c (the same
Debian bookworm and CPython 3.11 as the guest) and ``scenarios.py`` into
:data:`GUEST_DIR` as one tar over the agent; :func:`run_json` runs a program
there and returns the JSON objects it printed, one a line.

Everything runs on the guest's loopback (127.0.0.0/8, ::1), which the kernel
suite's path cuts (``path.sh cut A``) do not touch.
"""

from __future__ import annotations

import io
import json
import shlex
import tarfile
from pathlib import Path
from typing import Any

import google_crc32c

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
GUEST_DIR = "/tmp/sctpx-kb"
# A peer address that answers nothing: a blackhole route in the guest's local table
# (a loopback address, so that it has the scope of the live ones: Linux builds an
# association's address list from the scope of the first peer address, RFC 9260 §5.1.2).
DEAD = "127.0.0.77"


def _tree() -> bytes:
    buf = io.BytesIO()
    skip = lambda ti: None if "__pycache__" in ti.name else ti  # noqa: E731
    site = Path(google_crc32c.__file__).resolve().parents[1]
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(REPO / "src" / "sctpx", "sctpx", filter=skip)
        for name in ("google_crc32c", "google_crc32c.libs"):
            if (site / name).exists():
                tar.add(site / name, name, filter=skip)
        # the guest lacks libstdc++, which google_crc32c's C extension needs (RPATH: .libs)
        libstdcxx = Path("/lib/x86_64-linux-gnu/libstdc++.so.6")
        if libstdcxx.exists():
            tar.add(libstdcxx.resolve(), "google_crc32c.libs/libstdc++.so.6")
        for f in sorted(HERE.glob("g_*.py")):
            tar.add(f, f.name)
    return buf.getvalue()


def ship(vm: Any) -> None:
    """Copy the tree in and prepare the guest (the blackhole route for DEAD)."""
    r = vm.run(f"rm -rf {GUEST_DIR} && mkdir -p {GUEST_DIR} && tar xzf - -C {GUEST_DIR} && "
               f"ip route replace blackhole {DEAD}/32 table local && echo ok", stdin=_tree(),
               timeout=60)  # fmt: skip
    if r.rc != 0 or b"ok" not in r.stdout:
        raise RuntimeError(f"shipping sctpx to the VM: rc {r.rc}: {r.stdout!r} {r.stderr!r}")


def run_json(vm: Any, script: str, *args: str, timeout: float = 300.0,
             env: str = "") -> list[dict[str, Any]]:  # fmt: skip
    """Run ``python3 GUEST_DIR/script args`` in the guest; the JSON objects it printed."""
    cmd = (f"cd {GUEST_DIR} && {env} PYTHONPATH={GUEST_DIR} PYTHONDONTWRITEBYTECODE=1 "
           f"python3 {script} {' '.join(shlex.quote(a) for a in args)}")  # fmt: skip
    r = vm.run(cmd, timeout=timeout)
    out = []
    for line in r.stdout.decode(errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    if r.rc != 0 and not out:
        raise RuntimeError(f"{cmd}: rc {r.rc}: {r.stdout[-2000:]!r} {r.stderr[-3000:]!r}")
    return out
