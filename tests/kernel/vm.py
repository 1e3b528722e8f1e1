"""The kvm-peer VM (Debian's Linux 6.1 with its native SCTP) as the suite's peer.

:class:`KernelVM` is the session's VM: it boots it with the harness's
``start.sh`` (unless one is running already, which it then uses and leaves
running), copies the guest programs in, and stops it with ``stop.sh``.
:class:`KernelPeer` is one test's view of it: guest processes it started,
paths it cut and guest settings it changed are all undone at the end of the
test, whatever happened.

The harness lives beside the repository (``../shared/kvm-peer``); its Python
client ``kvmpeer.py`` talks to the VM's agent over virtio-serial, which does
not use the test network and so keeps working while a path is cut.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

HARNESS = Path(__file__).resolve().parents[2].parent / "shared" / "kvm-peer"
GUEST_SRC = Path(__file__).resolve().parent / "guest"
GUEST_DIR = "/tmp/sctpx-kernel"  # where the guest programs go in the VM
PROC_PREFIX = "sctpx-k"  # guest processes: /tmp/<prefix>-<n>.{pid,log}
BOOT_TIMEOUT = 300.0
LOCK_TIMEOUT = 900.0  # how long a session waits for another one to finish with the VM
KEEP_ENV = "SCTPX_KVM_KEEP"  # =1: leave a VM we booted running after the session

_NAMES = itertools.count(1)


class GuestError(RuntimeError):
    """A command in the VM failed or did not answer."""


def _load_kvmpeer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kvmpeer", HARNESS / "kvmpeer.py")
    if spec is None or spec.loader is None:
        raise GuestError(f"cannot load {HARNESS / 'kvmpeer.py'}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class GuestProcess:
    """A program started detached in the VM; its output (JSON lines) in /tmp/NAME.log."""

    def __init__(self, vm: KernelVM, name: str, pid: int, cmd: str) -> None:
        self.vm = vm
        self.name = name
        self.pid = pid
        self.cmd = cmd
        self.stopped = False

    @property
    def log_file(self) -> str:
        return f"/tmp/{self.name}.log"

    def log(self) -> str:
        out: bytes = self.vm.run(f"cat {self.log_file}", timeout=10).stdout
        return out.decode(errors="replace")

    def records(self) -> list[dict[str, Any]]:
        """The JSON objects the program printed so far (other lines are skipped)."""
        out = []
        for line in self.log().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def wait_for(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10.0, what: str = ""
    ) -> dict[str, Any]:
        """The first record for which ``pred`` is true; GuestError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            recs = self.records()
            for rec in recs:
                if pred(rec):
                    return rec
            if time.monotonic() > deadline:
                raise GuestError(
                    f"{self.cmd}: no {what or 'matching record'} within {timeout} s; log:\n"
                    + "\n".join(json.dumps(r) for r in recs[-40:])
                )
            time.sleep(0.1)

    def stop(self) -> bool:
        """End the program (SIGTERM); whether it was still running until then."""
        if self.stopped:
            return True
        self.stopped = True
        r = self.vm.run(f"kill {self.pid} 2>/dev/null && echo alive; true", timeout=10)
        return b"alive" in r.stdout


class KernelVM:
    """The session's VM."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._lock: Any = None
        self._qemu_pid = 0  # the QEMU our start.sh started (0: none)
        self.kvmpeer: ModuleType | None = None
        self.booted = False  # we started it (and so stop it)
        self.boot_seconds = 0.0
        self.sysctls: dict[str, str] = {}  # last value read or set, by name

    # -- life cycle ---------------------------------------------------------------------

    @staticmethod
    def _run_dir() -> Path:
        cache = Path(os.environ.get("KVMPEER_CACHE", "/var/tmp/kvm-peer"))
        return Path(os.environ.get("KVMPEER_RUN", cache / "run"))

    @classmethod
    def running(cls) -> bool:
        pidfile = cls._run_dir() / "qemu.pid"
        try:
            pid = int(pidfile.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return False
        return True

    @classmethod
    def lock_path(cls) -> Path:
        return Path(os.environ.get("KVMPEER_CACHE", "/var/tmp/kvm-peer")) / "sctpx-tests.lock"

    def _take_lock(self) -> None:
        """One test session at a time on the host's one VM.

        Two pytest sessions on one machine (two people, or two worktrees) would
        otherwise share the VM: one stopping it, cutting its paths or ending its
        guest programs under the other's tests. The lock (flock, released when the
        process ends) is held from before the boot until after the stop.
        """
        path = self.lock_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a+")  # noqa: SIM115 - kept open while the session holds the lock
        deadline = time.monotonic() + LOCK_TIMEOUT
        waited = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if f.seek(0) == 0 and f.read().strip() == str(os.getpid()):
                    f.close()  # another fixture of this very process holds it: share the VM
                    return
                if time.monotonic() > deadline:
                    f.close()
                    raise GuestError(f"another test session has held {path} for "
                                     f"{LOCK_TIMEOUT:.0f} s") from None  # fmt: skip
                if not waited:
                    waited = True
                    print(f"\nkernel tests: waiting for another session's VM ({path})")
                time.sleep(0.5)
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._lock = f

    def start(self) -> None:
        """Boot (building first if needed) and wait for the agent; GuestError on failure."""
        self._take_lock()
        t0 = time.monotonic()
        if not self.running():
            log = self.log_dir / "kvm-start.log"
            with open(log, "wb") as f:
                try:
                    r = subprocess.run([str(HARNESS / "start.sh")], stdout=f,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       timeout=BOOT_TIMEOUT, check=False)  # fmt: skip
                    rc = r.returncode
                except subprocess.TimeoutExpired:
                    rc = -1
            self.booted = self.running()
            m = re.search(r"qemu pid (\d+)", log.read_text(errors="replace"))
            self._qemu_pid = int(m.group(1)) if m else 0
            if rc != 0:
                tail = log.read_text(errors="replace")[-3000:]
                raise GuestError(f"kvm-peer start.sh failed (rc {rc}, log {log}):\n{tail}")
        self.kvmpeer = _load_kvmpeer()
        if not self.kvmpeer.wait_ready(60):
            raise GuestError("kvm-peer VM agent does not answer")
        self.boot_seconds = time.monotonic() - t0
        self.run(f"mkdir -p {GUEST_DIR}", timeout=10, check=True)
        for src in sorted(GUEST_SRC.glob("*.py")):
            self.run(f"cat > {GUEST_DIR}/{src.name}", stdin=src.read_bytes(), timeout=10,
                     check=True)  # fmt: skip
        if not self.booted:
            self._clean_leftovers()

    def _clean_leftovers(self) -> None:
        """A VM we did not boot: end guest processes of an earlier session, restore the paths."""
        self.run(f"for f in /tmp/{PROC_PREFIX}-*.pid; do [ -f \"$f\" ] && kill $(cat \"$f\") "
                 "2>/dev/null; rm -f \"$f\"; done; true", timeout=10)  # fmt: skip
        for path in ("A", "B"):
            self.path("restore", path)

    def stop(self) -> None:
        try:
            keep = os.environ.get(KEEP_ENV) == "1" and self.booted
            if self.booted and not keep:
                subprocess.run([str(HARNESS / "stop.sh")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=60, check=False)  # fmt: skip
                self.booted = False
            if self._qemu_pid and not keep:
                # A start.sh that failed (or a pid file someone removed) leaves stop.sh
                # blind: end the QEMU our start.sh reported, if it is still there.
                self._end_qemu(self._qemu_pid)
                self._qemu_pid = 0
        finally:
            if self._lock is not None:
                self._lock.close()  # releases the flock
                self._lock = None

    @staticmethod
    def _end_qemu(pid: int) -> None:
        try:
            if b"qemu-system" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                return
            os.kill(pid, signal.SIGTERM)
        except OSError:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return
            time.sleep(0.1)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)

    # -- commands -------------------------------------------------------------------------

    def run(self, cmd: str, timeout: float = 30.0, stdin: bytes | None = None,
            check: bool = False) -> Any:  # fmt: skip
        """Run ``cmd`` with /bin/sh in the VM: kvmpeer's Result(rc, stdout, stderr, timed_out)."""
        assert self.kvmpeer is not None, "VM not started"
        try:
            r = self.kvmpeer.run(cmd, timeout=timeout, stdin=stdin)
        except RuntimeError as e:
            raise GuestError(f"{cmd}: {e}") from e
        if check and r.rc != 0:
            raise GuestError(f"{cmd}: rc {r.rc}: {r.stderr.decode(errors='replace')}")
        return r

    def start_process(self, cmd: str) -> GuestProcess:
        name = f"{PROC_PREFIX}-{os.getpid()}-{next(_NAMES)}"
        q = shlex.quote(f"echo $$ > /tmp/{name}.pid; exec {cmd}")
        r = self.run(f"setsid -f sh -c {q} > /tmp/{name}.log 2>&1 < /dev/null; "
                     f"for i in 1 2 3 4 5 6 7 8 9 10; do [ -s /tmp/{name}.pid ] && break; "
                     f"sleep 0.05; done; cat /tmp/{name}.pid", timeout=15)  # fmt: skip
        try:
            pid = int(r.stdout.split()[-1])
        except (ValueError, IndexError) as e:
            raise GuestError(f"could not start {cmd!r} in the VM: {r!r}") from e
        return GuestProcess(self, name, pid, cmd)

    def path(self, op: str, path: str, *args: str) -> None:
        """``path.sh OP PATH [ARGS]`` (cut / restore / down / up / loss SPEC)."""
        r = subprocess.run([str(HARNESS / "path.sh"), op, path, *args], capture_output=True,
                           text=True, timeout=60, check=False)  # fmt: skip
        if r.returncode != 0:
            raise GuestError(f"path.sh {op} {path}: rc {r.returncode}: {r.stdout}{r.stderr}")

    def sysctl(self, name: str) -> str:
        value = self.run(f"sysctl -n {name}", timeout=10, check=True).stdout.decode().strip()
        self.sysctls[name] = value
        return str(value)

    def set_sysctl(self, name: str, value: str) -> None:
        if self.sysctls.get(name) == value:
            return
        self.run(f"sysctl -qw {name}={value}", timeout=10, check=True)
        self.sysctls[name] = value


class KernelPeer:
    """One test's use of the VM; :meth:`reset` undoes everything the test changed."""

    def __init__(self, vm: KernelVM, transport: str, sysctls: dict[str, str],
                 log_dir: Path | None = None) -> None:  # fmt: skip
        self.vm = vm
        self.transport = transport
        self.log_dir = log_dir  # where the guest programs' logs are copied at the end
        self._procs: list[GuestProcess] = []
        self._cut: list[str] = []
        self._saved: dict[str, str] = {}
        for name, value in sysctls.items():  # the transport's: kept for the next test
            vm.set_sysctl(name, value)

    # -- guest programs -----------------------------------------------------------------

    def server(self, port: int, bind: list[str], mode: str = "echo") -> GuestProcess:
        """The kernel server (guest/kserver.py) on ``port``, bound to ``bind``, once it listens."""
        proc = self.spawn(f"python3 {GUEST_DIR}/kserver.py -p {port} -b {','.join(bind)} "
                          f"--mode {mode}")  # fmt: skip
        try:
            proc.wait_for(lambda r: r.get("ev") == "listening", timeout=20, what="'listening'")
        except GuestError as e:
            ps = self.vm.run(f"ps -o pid,stat,etime,args -p {proc.pid}; uptime", timeout=10)
            raise GuestError(f"{e}\nin the VM: {ps.stdout.decode(errors='replace')}") from None
        return proc

    def client(self, to: list[str], port: int, *, bind: list[str] | None = None, count: int = 5,
               size: int = 100, stream: int = 0, ppid: int = 0,
               timeout: float = 10.0) -> dict[str, Any]:  # fmt: skip
        """Run the kernel client (guest/kclient.py) to the end; its JSON result."""
        cmd = (f"python3 {GUEST_DIR}/kclient.py --to {','.join(to)} -p {port} -n {count} "
               f"--size {size} --stream {stream} --ppid {ppid} --timeout {timeout}")  # fmt: skip
        if bind:
            cmd += f" --bind {','.join(bind)}"
        r = self.vm.run(cmd, timeout=timeout + 20)
        out = r.stdout.decode(errors="replace").strip().splitlines()
        if r.rc != 0 or not out:
            raise GuestError(f"{cmd}: rc {r.rc}: {r.stdout!r} {r.stderr!r}")
        result: dict[str, Any] = json.loads(out[-1])
        return result

    def spawn(self, cmd: str) -> GuestProcess:
        proc = self.vm.start_process(cmd)
        self._procs.append(proc)
        return proc

    # -- network and settings --------------------------------------------------------------

    def cut(self, path: str) -> None:
        """Black-hole path A or B (the VM drops everything on it, both ways)."""
        self._cut.append(path)
        self.vm.path("cut", path)

    def degrade(self, path: str, spec: str) -> None:
        """netem ``spec`` (e.g. ``"loss 20%"``) on the VM's egress of path A or B (VM -> host),
        undone by :meth:`restore` or at the end of the test."""
        self._cut.append(path)
        self.vm.path("loss", path, spec)

    def restore(self, path: str) -> None:
        self.vm.path("restore", path)
        if path in self._cut:
            self._cut.remove(path)

    def set_sysctl(self, name: str, value: str) -> None:
        """Change a guest sysctl for this test only (restored by :meth:`reset`)."""
        if name not in self._saved:
            self._saved[name] = self.vm.sysctls.get(name) or self.vm.sysctl(name)
        self.vm.set_sysctl(name, value)

    def reset(self) -> list[str]:
        """Undo what the test did; the problems met on the way (for the caller to report)."""
        problems = []
        for proc in self._procs:
            try:
                alive = proc.stop()
                log = proc.log()
                if self.log_dir is not None:
                    (self.log_dir / f"guest-{proc.name}.log").write_text(log)
                if not alive:  # a server must live until the test ends it
                    problems.append(f"{proc.cmd} ended before the test did; its log ends:\n"
                                    + "\n".join(log.splitlines()[-15:]))  # fmt: skip
            except GuestError as e:
                problems.append(str(e))
        self._procs.clear()
        for path in list(dict.fromkeys(self._cut)):
            try:
                self.restore(path)
            except GuestError as e:
                problems.append(str(e))
        self._cut.clear()
        for name, value in self._saved.items():
            try:
                self.vm.set_sysctl(name, value)
            except GuestError as e:
                problems.append(str(e))
        self._saved.clear()
        return problems
