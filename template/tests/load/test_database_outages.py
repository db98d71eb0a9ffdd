"""The real server while its database is away: 503 in the shared shape with a request id that
is found in exactly one log line, and the service heals by itself when the database is back.

Marked `load` like the load tests (`pytest -m load`). How the outage is made, without stopping
the shared test database server: tests/harness/outages.py.
"""

from pathlib import Path

import httpx
import pytest
from sqlalchemy import URL

from tests.harness.live_server import serve_app
from tests.harness.outages import database_outages, statuses_until_served
from tests.load.users_traffic import USERS

pytestmark = pytest.mark.load


async def test_an_unavailable_database_is_503_and_the_service_heals(
    live_database_url: URL, tmp_path: Path
) -> None:
    async with (
        database_outages(live_database_url) as outage,
        serve_app(outage.served_url, tmp_path / "server.log") as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=30) as http,
    ):
        created = await http.post(USERS, json={"email": "before@example.com", "name": "Before"})
        assert created.status_code == 201, created.text

        await outage.begin()
        response = await http.post(USERS, json={"email": "during@example.com", "name": "During"})
        live = await http.get("/health/live")
        await outage.end()

        assert response.status_code == 503, response.text
        assert response.json()["detail"].startswith("Service unavailable")
        assert response.json()["errors"] == []
        assert response.headers["Retry-After"].isdigit()
        request_id = response.headers["X-Request-ID"]
        logged = [line for line in server.log().splitlines() if request_id in line]
        assert len(logged) == 1, logged
        assert '"status": 503' in logged[0]
        assert live.status_code == 200  # liveness does not depend on the database

        statuses = await statuses_until_served(http, USERS)
        assert set(statuses) <= {200, 503}, statuses
        after = await http.get(f"{USERS}{created.json()['id']}")
        assert after.status_code == 200  # nothing acknowledged before the outage was lost


async def test_a_database_restart_while_idle_costs_no_request(
    live_database_url: URL, tmp_path: Path
) -> None:
    if live_database_url.get_backend_name() == "sqlite":
        pytest.skip("an embedded database has no server to restart")
    async with (
        database_outages(live_database_url) as outage,
        serve_app(outage.served_url, tmp_path / "server.log") as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=30) as http,
    ):
        assert (await http.get(USERS)).status_code == 200  # the pool holds a connection now
        await outage.begin()  # every pooled connection is closed under the app's feet
        await outage.end()

        assert (await http.get(USERS)).status_code == 200
