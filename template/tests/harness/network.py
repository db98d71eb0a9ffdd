"""No test reaches the network: outgoing connections go to loopback and the test database only.

`NetworkGuard` replaces `socket.socket.connect` (which asyncio, httpx, asyncpg and every other
client end up calling) and `socket.getaddrinfo` while it is installed. A connection elsewhere,
or a name lookup of any other host, raises `NetworkBlockedError` before a packet leaves, and
is remembered so that the test fails naming it even when the code under test swallowed the
error (an app turns it into a 500 or a 503). Unix sockets (the event loop's own wake-up pair)
are left alone.
"""

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
HOW_TO_MOCK = (
    "Tests reach only loopback and the test database. Mock outgoing HTTP with the `mock_http` "
    "fixture (respx), or replace the client with `override_dependency`."
)


class NetworkBlockedError(Exception):
    """A test tried to reach a host other than loopback or the test database.

    Not an OSError on purpose: code that retries or degrades on connection errors must not
    mistake a test's missing mock for a network outage.
    """


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class NetworkGuard:
    """While installed, refuses connections and name lookups outside `allowed_hosts` (names
    or addresses) and, with `allow_loopback`, loopback."""

    def __init__(self, allowed_hosts: Iterable[str], *, allow_loopback: bool = True) -> None:
        self.allowed_hosts = frozenset(allowed_hosts)
        self.allow_loopback = allow_loopback
        self.blocked: list[str] = []
        self._real_connect: Any = None
        self._real_getaddrinfo: Any = None

    def allows_connection(self, host: str) -> bool:
        if host in self.allowed_hosts:
            return True
        return self.allow_loopback and _is_ip(host) and ipaddress.ip_address(host).is_loopback

    def allows_lookup(self, name: str) -> bool:
        # An address needs no lookup (and its connection is judged on its own).
        if _is_ip(name) or name in self.allowed_hosts:
            return True
        return self.allow_loopback and name in LOCAL_NAMES

    def _refuse(self, what: str) -> NetworkBlockedError:
        self.blocked.append(what)
        return NetworkBlockedError(f"Blocked {what}. {HOW_TO_MOCK}")

    def install(self) -> None:
        real_connect = self._real_connect = socket.socket.connect
        real_getaddrinfo = self._real_getaddrinfo = socket.getaddrinfo

        def connect(sock: Any, address: Any) -> None:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                host, port = str(address[0]), address[1]
                if not self.allows_connection(host):
                    raise self._refuse(f"a connection to {host}:{port}")
            real_connect(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name is not None and not self.allows_lookup(str(name)):
                raise self._refuse(f"a name lookup of {name!r}")
            return real_getaddrinfo(host, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo

    def uninstall(self) -> None:
        socket.socket.connect = self._real_connect  # type: ignore[method-assign]
        socket.getaddrinfo = self._real_getaddrinfo
