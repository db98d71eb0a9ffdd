"""Database outages a test can switch on and off while a real server runs (tests marked
`load`), without touching the shared test database server:

- PostgreSQL: the server reaches the database through a loopback TCP proxy owned by the test;
  an outage closes every proxied connection and refuses new ones, as a stopped server does.
- SQLite: another connection holds the write lock, as another process writing would; every
  transaction waits for it (the URL's `?timeout=`, shortened here) and then gives up.
"""

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from http import HTTPStatus

import httpx
from sqlalchemy import URL

from tests.harness.live_server import free_port

# How long the served app waits for a locked SQLite database before answering 503.
SQLITE_LOCK_TIMEOUT_SECONDS = 1.0
PIPE_CHUNK = 65536
RECOVERY_SECONDS = 15.0


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port` until it is cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._forward, "127.0.0.1", self.port, reuse_address=True
        )

    async def cut(self) -> None:
        """Refuse new connections and reset every open one."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _forward(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self.target)
        except OSError:
            client.transport.abort()
            return
        self._writers |= {client, upstream}
        await asyncio.gather(
            self._pipe(client_reader, upstream), self._pipe(upstream_reader, client)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(OSError):
            while data := await reader.read(PIPE_CHUNK):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._writers.discard(writer)


class DatabaseOutage:
    """`served_url` is what the server must use; `begin()` and `end()` switch the outage."""

    def __init__(self, served_url: URL, proxy: TcpProxy | None) -> None:
        self.served_url = served_url
        self._proxy = proxy
        self._lock_holder: sqlite3.Connection | None = None

    async def begin(self) -> None:
        if self._proxy is not None:
            await self._proxy.cut()
            return
        self._lock_holder = sqlite3.connect(self.served_url.database or "", isolation_level=None)
        self._lock_holder.execute("BEGIN IMMEDIATE")

    async def end(self) -> None:
        if self._proxy is not None:
            await self._proxy.start()
            return
        if self._lock_holder is not None:
            self._lock_holder.execute("ROLLBACK")
            self._lock_holder.close()
            self._lock_holder = None


@asynccontextmanager
async def database_outages(url: URL) -> AsyncIterator[DatabaseOutage]:
    """Outages for the database at `url` (see the module's docstring); none is on at first."""
    if url.get_backend_name() == "sqlite":
        outage = DatabaseOutage(
            url.update_query_dict({"timeout": str(SQLITE_LOCK_TIMEOUT_SECONDS)}), None
        )
        try:
            yield outage
        finally:
            await outage.end()
        return
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    try:
        yield DatabaseOutage(url.set(host="127.0.0.1", port=proxy.port), proxy)
    finally:
        await proxy.cut()


async def statuses_until_served(http: httpx.AsyncClient, path: str) -> list[int]:
    """Statuses of GET `path`, repeated until the first 200 (at most RECOVERY_SECONDS)."""
    statuses: list[int] = []
    async with asyncio.timeout(RECOVERY_SECONDS):
        while (status := (await http.get(path)).status_code) != HTTPStatus.OK:
            statuses.append(status)
            await asyncio.sleep(0.05)
    return [*statuses, status]
