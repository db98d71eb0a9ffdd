"""The real server under concurrent traffic: nothing fails, nothing acknowledged is lost.

Marked `load`: `pytest -m load` runs these (CI does); the default run leaves them out. They
start uvicorn on a loopback port with a database of their own (see tests/harness/live_server.py)
and drive it for seconds. Their bounds are generous: they prove behaviour; throughput and
latency figures come from the template's benchmark, not from here.
"""

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest
from sqlalchemy import URL

from tests.harness.live_server import serve_app
from tests.harness.traffic import ClientFinished, TrafficClient, drive_traffic
from tests.load.users_traffic import USERS, UsersLedger

pytestmark = pytest.mark.load

CLIENTS = 100
SECONDS = 10.0


async def test_concurrent_mixed_traffic_is_served_and_kept(
    live_database_url: URL, tmp_path: Path
) -> None:
    ledger = UsersLedger()
    async with serve_app(live_database_url, tmp_path / "server.log", workers=2) as server:
        report = await drive_traffic(
            server.base_url, ledger.round, clients=CLIENTS, seconds=SECONDS
        )
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            problems = await ledger.verify(http)

    summary = report.summary()
    assert report.server_errors == 0, f"{summary}\n{report.unexpected[:10]}"
    assert report.dropped == [], f"{summary}\n{report.dropped[:10]}"
    assert report.unexpected == [], f"{summary}\n{report.unexpected[:10]}"
    assert problems == [], f"{summary}\n" + "\n".join(problems[:20])
    # Every client finished a full round, and every kind of request was served: the run
    # measured something. (How many rounds fit in the time depends on the machine.)
    unserved = [index for index in range(CLIENTS) if report.rounds[index] == 0]
    assert unserved == [], f"{summary}\nclients that finished no round: {unserved[:20]}"
    served = {label for label, status in report.statuses if status < 400}
    assert served >= {"create", "get", "update", "list", "delete"}, summary


async def test_acknowledged_writes_survive_a_killed_server(
    live_database_url: URL, tmp_path: Path
) -> None:
    acknowledged: dict[int, str] = {}

    async def create_until_dropped(client: TrafficClient, index: int, round_index: int) -> None:
        email = f"crash-{index}-{round_index}@example.com"
        response = await client.request(
            "POST", USERS, "create", {201}, json={"email": email, "name": "Crash"}
        )
        if response is None:  # the server is gone: this client is done
            raise ClientFinished
        acknowledged[response.json()["id"]] = email

    log = tmp_path / "server.log"
    async with serve_app(live_database_url, log) as server:

        async def kill_mid_burst() -> None:
            await asyncio.sleep(1.0)
            server.kill()

        _, report = await asyncio.gather(
            kill_mid_burst(),
            drive_traffic(server.base_url, create_until_dropped, clients=20, seconds=5),
        )
    assert report.dropped, "the server was killed while clients were writing"
    assert len(acknowledged) >= 20, report.summary()

    async with (
        serve_app(live_database_url, log) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=30) as http,
    ):
        for user_id, email in acknowledged.items():
            response = await http.get(f"{USERS}{user_id}")
            assert response.status_code == 200, f"acknowledged user {user_id} was lost"
            assert response.json()["email"] == email

    if live_database_url.get_backend_name() == "sqlite":
        with sqlite3.connect(live_database_url.database or "") as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
