"""A test network of network namespaces: two hosts joined by two independent links.

::

    from sctpx.testing import TestNet

    with TestNet() as net:                      # root only
        srv = net.spawn(net.b, ["/usr/lib/usrsctp/echo_server"], stdout=log)
        ...
        net.cut(net.links[0])                   # black hole link 1 (both directions)
        net.restore(net.links[0])
        net.loss(net.links[1], 0.02)            # 2 % random loss on link 2

Layout (the defaults; every name is unique per process and network)::

    netns <prefix><pid>-<n>a                    netns <prefix><pid>-<n>b
    +---------------------------+              +---------------------------+
    | l1  198.18.1.1/24         |==== veth ====| l1  198.18.1.2/24         |
    |     fd00:1::1/64          |              |     fd00:1::2/64          |
    | l2  198.18.2.1/24         |==== veth ====| l2  198.18.2.2/24         |
    +---------------------------+              +---------------------------+

Both ends of each veth pair are created directly inside their namespaces, so
nothing of the network ever exists in the caller's namespace and no packet can
leave it. Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking) and the
ULA range fd00::/8. Every namespace gets ``lo`` up, reverse-path filtering off
(a multi-homed SCTP host may answer from any of its addresses over any link),
IPv6 duplicate address detection off (addresses usable at once) and
``keep_addr_on_down`` (a link taken down keeps its IPv6 address).

Programs run inside with ``ip netns exec NAME``; :meth:`TestNet.spawn` tracks
them and :meth:`TestNet.close` ends them all (SIGTERM, then SIGKILL), kills
anything else still running in the namespaces, and deletes the namespaces,
which takes the veths and every iptables rule with them. ``close`` runs on
``__exit__`` whatever happened, and a new ``TestNet`` first removes namespaces
left behind by a process of the same prefix that no longer exists.

Requirements: root, iproute2, iptables/ip6tables (for :meth:`cut` in ``drop``
mode and :meth:`loss`), and ``dumpcap`` for :class:`~sctpx.testing.capture.Capture`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any, Literal

__all__ = ["Host", "Link", "LinkSpec", "NetnsError", "TestNet", "require_root_tools"]

DEFAULT_PREFIX = "sxt"
_COUNTER = itertools.count(1)
# Sysctls of every namespace, set before its veths exist so that "default" applies to them.
_SYSCTLS = (
    "net.ipv4.conf.all.rp_filter=0",
    "net.ipv4.conf.default.rp_filter=0",
    "net.ipv6.conf.all.accept_dad=0",
    "net.ipv6.conf.default.accept_dad=0",
    "net.ipv6.conf.all.keep_addr_on_down=1",
    "net.ipv6.conf.default.keep_addr_on_down=1",
)


class NetnsError(RuntimeError):
    """A command that builds or changes the test network failed."""


@dataclass(frozen=True)
class LinkSpec:
    """One link to build: its device name in both namespaces and its addresses."""

    dev: str
    a_ip: str
    b_ip: str
    prefix: int = 24
    a_ip6: str | None = None
    b_ip6: str | None = None
    prefix6: int = 64


DEFAULT_LINKS = (
    LinkSpec("l1", "198.18.1.1", "198.18.1.2", a_ip6="fd00:1::1", b_ip6="fd00:1::2"),
    LinkSpec("l2", "198.18.2.1", "198.18.2.2"),
)


@dataclass(frozen=True)
class Host:
    """One end of the network: a namespace and its addresses (IPv4 first, in link order)."""

    name: str  # "a" or "b"
    ns: str  # the namespace's name
    ips: tuple[str, ...]

    @property
    def ipv4(self) -> tuple[str, ...]:
        return tuple(ip for ip in self.ips if ":" not in ip)

    @property
    def ipv6(self) -> tuple[str, ...]:
        return tuple(ip for ip in self.ips if ":" in ip)


@dataclass(frozen=True)
class Link:
    """A built link: a veth pair named ``dev`` in both namespaces."""

    index: int  # 1, 2, ...
    spec: LinkSpec

    @property
    def dev(self) -> str:
        return self.spec.dev

    def ip(self, host: Host | str, family: int = 4) -> str:
        """This link's address of ``host`` (``"a"``/``"b"`` or a Host), IPv4 or IPv6."""
        name = host if isinstance(host, str) else host.name
        s = self.spec
        ip = (s.a_ip if name == "a" else s.b_ip) if family == 4 else (
            s.a_ip6 if name == "a" else s.b_ip6)  # fmt: skip
        if ip is None:
            raise ValueError(f"link {self.index} has no IPv{family} address")
        return ip


@dataclass
class _Rule:
    ns: str
    tool: str  # iptables / ip6tables
    spec: tuple[str, ...]


@dataclass
class _State:
    cuts: dict[int, list[_Rule] | Literal["down"]] = field(default_factory=dict)
    losses: dict[int, list[_Rule]] = field(default_factory=dict)


def require_root_tools(*tools: str) -> str | None:
    """Why a TestNet cannot run here (not root, a tool missing), or None if it can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", *tools):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class TestNet:
    """Two hosts ``a`` and ``b`` in their own namespaces, joined by two veth links.

    Use it as a context manager (or call :meth:`start` and :meth:`close`).
    """

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(
        self,
        *,
        prefix: str = DEFAULT_PREFIX,
        links: Sequence[LinkSpec] = DEFAULT_LINKS,
        command_timeout: float = 10.0,
    ) -> None:
        if not re.fullmatch(r"[a-z]{1,6}", prefix):
            raise ValueError("prefix: 1 to 6 lowercase letters")
        self.prefix = prefix
        self.id = f"{prefix}{os.getpid()}-{next(_COUNTER)}"
        self.links = tuple(Link(i + 1, s) for i, s in enumerate(links))
        self.a = Host("a", self.id + "a", self._ips("a"))
        self.b = Host("b", self.id + "b", self._ips("b"))
        self.timeout = command_timeout
        self._procs: list[subprocess.Popen[Any]] = []
        self._made: list[str] = []  # namespaces created so far
        self._state = _State()

    def _ips(self, name: str) -> tuple[str, ...]:
        v4 = [link.ip(name) for link in self.links]
        v6 = [ip for link in self.links for ip in
              [link.spec.a_ip6 if name == "a" else link.spec.b_ip6] if ip]  # fmt: skip
        return (*v4, *v6)

    @property
    def hosts(self) -> tuple[Host, Host]:
        return (self.a, self.b)

    def peer(self, host: Host) -> Host:
        return self.b if host is self.a else self.a

    # ----- building and tearing down -----

    def __enter__(self) -> TestNet:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> TestNet:
        """Build the network. On any failure everything built so far is removed."""
        why = require_root_tools()
        if why:
            raise NetnsError(why)
        self.sweep_stale(self.prefix)
        try:
            for h in self.hosts:
                self._ip("netns", "add", h.ns)
                self._made.append(h.ns)
                self._ip("-n", h.ns, "link", "set", "lo", "up")
                self.run(h, ["sysctl", "-q", "-w", *_SYSCTLS])
            for link in self.links:
                s = link.spec
                self._ip("link", "add", s.dev, "netns", self.a.ns, "type", "veth",
                         "peer", "name", s.dev, "netns", self.b.ns)  # fmt: skip
                for h in self.hosts:
                    self._ip("-n", h.ns, "addr", "add", f"{link.ip(h)}/{s.prefix}", "dev", s.dev)
                    ip6 = s.a_ip6 if h is self.a else s.b_ip6
                    if ip6:
                        self._ip("-n", h.ns, "addr", "add", f"{ip6}/{s.prefix6}", "dev", s.dev,
                                 "nodad")  # fmt: skip
                    self._ip("-n", h.ns, "link", "set", s.dev, "up")
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """End every process, then delete the namespaces (veths and rules go with them)."""
        for p in self._procs:
            self.stop(p)
        self._procs.clear()
        for ns in self._made:
            self._kill_ns_pids(ns)
        for ns in self._made:
            self._ip("netns", "del", ns, check=False)
        self._made.clear()
        self._state = _State()

    @classmethod
    def sweep_stale(cls, prefix: str = DEFAULT_PREFIX) -> list[str]:
        """Delete namespaces ``<prefix><pid>-<n>[ab]`` whose creating process is gone."""
        out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                             timeout=10, check=False).stdout  # fmt: skip
        gone: list[str] = []
        for line in out.splitlines():
            name = line.split()[0] if line.split() else ""
            m = re.fullmatch(rf"{re.escape(prefix)}(\d+)-\d+[ab]", name)
            if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
                cls._kill_ns_pids(name)
                subprocess.run(["ip", "netns", "del", name], capture_output=True,
                               timeout=10, check=False)  # fmt: skip
                gone.append(name)
        return gone

    @staticmethod
    def _kill_ns_pids(ns: str) -> None:
        """SIGKILL what still runs in our namespace ``ns`` (all started by this network)."""
        for _ in range(3):
            r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                               timeout=10, check=False)  # fmt: skip
            pids = [int(p) for p in r.stdout.split() if p.isdigit()]
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    # ----- running programs -----

    def _ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._cmd(["ip", *args], check=check)

    def _cmd(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout,
                           check=False)  # fmt: skip
        if check and r.returncode != 0:
            raise NetnsError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
        return r

    def argv(self, host: Host, argv: Sequence[str]) -> list[str]:
        """``argv`` prefixed to run inside ``host``'s namespace."""
        return ["ip", "netns", "exec", host.ns, *argv]

    def run(self, host: Host, argv: Sequence[str], *, check: bool = True,
            timeout: float | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """Run a short command inside ``host`` and return its result (output captured)."""
        r = subprocess.run(self.argv(host, argv), capture_output=True, text=True,
                           timeout=timeout or self.timeout, check=False)  # fmt: skip
        if check and r.returncode != 0:
            raise NetnsError(f"[{host.name}] {' '.join(argv)}: exit {r.returncode}: "
                             f"{r.stderr.strip()}")  # fmt: skip
        return r

    def spawn(
        self,
        host: Host,
        argv: Sequence[str],
        *,
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        stdout: int | IO[Any] | None = subprocess.DEVNULL,
        stderr: int | IO[Any] | None = subprocess.STDOUT,
        env: dict[str, str] | None = None,
        text: bool = False,
    ) -> subprocess.Popen[Any]:
        """Start a program inside ``host``; :meth:`close` ends it if nobody else has.

        Output defaults to /dev/null. Give a file for output you want to read; a
        pipe is only safe if you drain it (a program blocked on a full pipe hangs
        the test).
        """
        p: subprocess.Popen[Any] = subprocess.Popen(
            self.argv(host, argv), stdin=stdin, stdout=stdout, stderr=stderr, env=env,
            text=text, start_new_session=True)  # fmt: skip
        self._procs.append(p)
        return p

    @staticmethod
    def stop(p: subprocess.Popen[Any], timeout: float = 2.0,
             sig: int = signal.SIGTERM) -> int | None:  # fmt: skip
        """End ``p``: ``sig``, then SIGKILL after ``timeout`` seconds; its exit code."""
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout)
        for f in (p.stdin, p.stdout, p.stderr):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()
        return p.returncode

    # ----- faults -----

    def _rules(self, link: Link, hosts: Sequence[Host], match: Sequence[str]) -> list[_Rule]:
        rules = []
        for h in hosts:
            tools = ["iptables"] + (["ip6tables"] if link.spec.a_ip6 else [])
            for tool in tools:
                spec = ("INPUT", "-i", link.dev, *match, "-j", "DROP")
                self.run(h, [tool, "-w", "-I", *spec])
                rules.append(_Rule(h.ns, tool, spec))
        return rules

    def _unrule(self, rules: list[_Rule]) -> None:
        for r in rules:
            self._cmd(["ip", "netns", "exec", r.ns, r.tool, "-w", "-D", *r.spec], check=False)

    def cut(self, link: Link, mode: Literal["drop", "down"] = "drop") -> None:
        """Cut ``link`` until :meth:`restore`.

        ``drop``: a black hole, both directions dropped where they arrive (INPUT on
        the link's device in both namespaces): senders see nothing, as when a
        router on the path dies. ``down``: both ends administratively down: the
        routes go away and senders get ENETUNREACH at once.
        """
        if link.index in self._state.cuts:
            return
        if mode == "drop":
            self._state.cuts[link.index] = self._rules(link, self.hosts, ())
        else:
            for h in self.hosts:
                self._ip("-n", h.ns, "link", "set", link.dev, "down")
            self._state.cuts[link.index] = "down"

    def restore(self, link: Link) -> None:
        """Undo :meth:`cut` of ``link``."""
        how = self._state.cuts.pop(link.index, None)
        if how == "down":
            for h in self.hosts:
                self._ip("-n", h.ns, "link", "set", link.dev, "up")
        elif how is not None:
            self._unrule(how)

    def loss(self, link: Link, probability: float, hosts: Sequence[Host] | None = None) -> None:
        """Drop each packet arriving over ``link`` with ``probability`` (iptables statistic).

        ``hosts``: where packets are dropped on arrival (both, by default: each
        direction loses that share). Replaces an earlier loss on the link.
        """
        if not 0 <= probability <= 1:
            raise ValueError("probability must be within 0..1")
        self.clear_loss(link)
        match = ("-m", "statistic", "--mode", "random", "--probability", f"{probability:.6f}")
        self._state.losses[link.index] = self._rules(link, hosts or self.hosts, match)

    def drop_every(self, link: Link, n: int, hosts: Sequence[Host] | None = None) -> None:
        """Drop every ``n``-th packet arriving over ``link`` (iptables statistic, nth mode).

        Deterministic loss: the same packets of a run are lost every time. Replaces an
        earlier loss on the link; :meth:`clear_loss` ends it.
        """
        if n < 2:
            raise ValueError("n must be at least 2")
        self.clear_loss(link)
        match = ("-m", "statistic", "--mode", "nth", "--every", str(n), "--packet", "0")
        self._state.losses[link.index] = self._rules(link, hosts or self.hosts, match)

    def clear_loss(self, link: Link) -> None:
        self._unrule(self._state.losses.pop(link.index, []))

    @contextlib.contextmanager
    def cut_during(self, link: Link, mode: Literal["drop", "down"] = "drop") -> Iterator[None]:
        """``with net.cut_during(link): ...`` cuts the link for the block only."""
        self.cut(link, mode)
        try:
            yield
        finally:
            self.restore(link)
