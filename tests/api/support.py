"""Shared pieces of the socket tests: two stacks, a server and a client (see conftest)."""

from __future__ import annotations

from dataclasses import dataclass

import sctpx
from sctpx.net import Stack

S1, S2, DEAD = "127.0.0.2", "127.0.0.3", "127.0.0.9"
PORT = 5000
WAIT = 5.0


@dataclass
class Net:
    server_stack: Stack
    client_stack: Stack

    def server(self, kind: int = sctpx.SOCK_STREAM, addrs: tuple[str, ...] = (S1, S2),
               port: int = PORT) -> sctpx.socket:  # fmt: skip
        s = sctpx.socket(sctpx.AF_INET, kind, stack=self.server_stack)
        s.bind((addrs[0], port))
        if addrs[1:]:
            s.bindx([(a, port) for a in addrs[1:]])
        s.listen()
        s.settimeout(WAIT)
        return s

    def client(self, kind: int = sctpx.SOCK_STREAM) -> sctpx.socket:
        c = sctpx.socket(sctpx.AF_INET, kind, stack=self.client_stack)
        c.setsockopt(sctpx.IPPROTO_SCTP, sctpx.SCTP_REMOTE_UDP_ENCAPS_PORT,
                     sctpx.UdpEncaps(port=self.server_stack.udp_port or 29899))  # fmt: skip
        c.settimeout(WAIT)
        return c

    def connected(
        self, ips: tuple[str, ...] = (S1,)
    ) -> tuple[sctpx.socket, sctpx.socket, sctpx.socket]:
        """A one-to-one server, a client connectx'ed to it at ``ips``, the accepted socket."""
        srv, cli = self.server(), self.client()
        cli.connectx([(ip, PORT) for ip in ips])
        conn, _ = srv.accept()
        conn.settimeout(WAIT)
        return srv, cli, conn
