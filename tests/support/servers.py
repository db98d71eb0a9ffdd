"""Loopback ports and the meta-suite's PostgreSQL server, as the tests reach them."""

import asyncio
import socket
from typing import Any

import asyncpg


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def is_listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def execute(server_url: str, *statements: str) -> None:
    """Run `statements` in turn on the server (`postgresql://` URL), outside a transaction."""

    async def run() -> None:
        connection = await asyncpg.connect(server_url)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def fetch_column(server_url: str, query: str, *arguments: Any) -> list[Any]:
    """The first column of every row `query` returns."""

    async def fetch() -> list[Any]:
        connection = await asyncpg.connect(server_url)
        try:
            return [row[0] for row in await connection.fetch(query, *arguments)]
        finally:
            await connection.close()

    return asyncio.run(fetch())


def database_names(server_url: str) -> set[str]:
    return set(fetch_column(server_url, "SELECT datname FROM pg_database"))
