"""The outage figures of one rendered project (bench/outage_figures.py copies this file into it
and runs it there): how fast a real server answers 503 when its database goes away, and how
fast it serves again when the database is back. Prints one JSON object.

    python outage_driver.py '{"database_url": "sqlite+inline:///placeholder.db"}'

It uses the project's own harness: tests/harness/live_server.py (server and database) and
tests/harness/outages.py (PostgreSQL: a loopback proxy that drops every connection; SQLite:
another connection holding the write lock).
"""

# A command-line tool: printing is its output.
# ruff: noqa: T201

import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import URL, make_url

from tests.harness.db.database import create_database, drop_database
from tests.harness.live_server import migrate, serve_app
from tests.harness.outages import database_outages, statuses_until_served

USERS = "/api/v1/users/"
OK = 200
HOLDERS = 20  # more than the pool's 15 connections


async def timed(http: httpx.AsyncClient, path: str) -> tuple[int, float, str]:
    started = time.perf_counter()
    response = await http.get(path)
    return response.status_code, time.perf_counter() - started, response.headers["X-Request-ID"]


async def outage(url: URL, scratch: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with (
        database_outages(url) as database,
        serve_app(database.served_url, scratch / "outage.log") as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=60) as http,
    ):
        if (await http.get(USERS)).status_code != OK:
            raise RuntimeError(f"the server does not serve before the outage:\n{server.log()}")
        await database.begin()
        status, seconds, request_id = await timed(http, USERS)
        figures["during_outage"] = {"status": status, "seconds": seconds}
        figures["log_lines_with_request_id"] = sum(
            request_id in line for line in server.log().splitlines()
        )
        await database.end()
        started = time.perf_counter()
        statuses = await statuses_until_served(http, USERS)
        seconds = time.perf_counter() - started
        figures["after_outage"] = {
            "seconds_to_200": seconds,
            "statuses_meanwhile": sorted(set(statuses)),
        }
        if url.get_backend_name() != "sqlite":
            await database.begin()  # a restart while the app is idle: every pooled connection dies
            await database.end()
            figures["first_request_after_idle_restart"] = (await http.get(USERS)).status_code
    return figures


async def pool_exhausted(url: URL, scratch: Path) -> dict[str, Any]:
    """PostgreSQL: a table held locked, so requests hold their connections and the rest wait."""
    admin = await asyncpg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        async with (
            serve_app(url, scratch / "pool.log") as server,
            httpx.AsyncClient(
                base_url=server.base_url,
                timeout=60,
                limits=httpx.Limits(max_connections=HOLDERS + 5),
            ) as http,
        ):
            transaction = admin.transaction()
            await transaction.start()
            await admin.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            started = time.perf_counter()
            holders = [asyncio.create_task(http.get(USERS)) for _ in range(HOLDERS)]
            await asyncio.sleep(0.5)
            live = [await timed(http, "/health/live") for _ in range(5)]
            responses = await asyncio.gather(*holders)
            await transaction.rollback()
            return {
                "statuses": sorted({response.status_code for response in responses}),
                "slowest_answer_seconds": time.perf_counter() - started,
                "health_live_ms_meanwhile": [round(seconds * 1000, 1) for _, seconds, _ in live],
            }
    finally:
        await admin.close()


async def unmigrated_ready(scratch: Path) -> dict[str, Any]:
    url = make_url(f"sqlite+inline:///{scratch / 'unmigrated_test.db'}")
    sqlite3.connect(url.database or "").close()  # an empty database file, never migrated
    async with (
        serve_app(url, scratch / "ready.log", ready_path="/health/live") as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        response = await http.get("/health/ready")
    return {"status": response.status_code, "detail": response.json()["detail"]}


async def measure(cell: dict[str, Any]) -> dict[str, Any]:
    url = make_url(cell["database_url"])
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        if url.get_backend_name() == "sqlite":
            url = url.set(database=str(scratch / "outage_test.db"))
        await create_database(url, replace=True)
        try:
            await migrate(url)
            figures = {"outage": await outage(url, scratch)}
            if url.get_backend_name() == "sqlite":
                figures["ready_on_unmigrated_file"] = await unmigrated_ready(scratch)
            else:
                figures["pool_exhausted"] = await pool_exhausted(url, scratch)
        finally:
            await drop_database(url)
    return figures


def main() -> None:
    print(json.dumps(asyncio.run(measure(json.loads(sys.argv[1])))))


if __name__ == "__main__":
    main()
