"""Health endpoints, the request id, and how failures are answered and logged
(src/_template/health.py, src/_template/request_context.py): in-process, with the database made
unavailable on purpose."""

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src._template.database import create_engine, create_sessionmaker, get_sessionmaker
from src._template.logs import JsonLineFormatter
from src._template.request_context import REQUEST_ID_HEADER
from src.config import Settings
from src.main import app, create_app


@pytest.fixture
async def unavailable_database(tmp_path: Path) -> AsyncIterator[None]:
    """The app's sessions come from a database file that cannot be opened (no such folder)."""
    engine = create_engine(f"sqlite+inline:///{tmp_path / 'missing' / 'app_test.db'}")

    async def unopenable() -> async_sessionmaker[AsyncSession]:
        return create_sessionmaker(engine)

    app.dependency_overrides[get_sessionmaker] = unopenable
    yield
    app.dependency_overrides.pop(get_sessionmaker, None)
    await engine.dispose()


def failure_lines(caplog: pytest.LogCaptureFixture, request_id: str) -> list[dict[str, object]]:
    formatter = JsonLineFormatter()
    lines = [json.loads(formatter.format(record)) for record in caplog.records]
    return [line for line in lines if line.get("request_id") == request_id]


async def test_liveness_does_not_touch_the_database(
    async_client: AsyncClient, unavailable_database: None
) -> None:
    response = await async_client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers_at_the_migrations_head(
    async_client: AsyncClient,
) -> None:
    response = await async_client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "schema": "ok"}


async def test_not_ready_names_a_schema_behind_the_migrations(
    async_client: AsyncClient, async_session: AsyncSession
) -> None:
    await async_session.execute(text("UPDATE alembic_version SET version_num = 'behind'"))
    await async_session.commit()

    response = await async_client.get("/health/ready")

    assert response.status_code == 503
    assert "schema is at revision behind" in response.json()["detail"]
    assert response.json()["errors"] == []


async def test_an_unavailable_database_is_503_with_retry_after_and_one_log_line(
    async_client: AsyncClient, unavailable_database: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="src"):
        response = await async_client.get("/health/ready", headers={REQUEST_ID_HEADER: "req-42"})

    assert response.status_code == 503
    assert response.json() == {
        "detail": "Service unavailable: the database is not answering",
        "errors": [],
        "error_count": 0,
    }
    assert response.headers["Retry-After"].isdigit()
    assert response.headers[REQUEST_ID_HEADER] == "req-42"
    (line,) = failure_lines(caplog, "req-42")
    assert line["status"] == 503
    assert line["method"] == "GET"
    assert line["path"] == "/health/ready"
    assert line["error"] == "OperationalError"
    assert "traceback" not in line  # not a bug: the class says what happened


@pytest.mark.parametrize("incoming", [None, "", "has space", "x" * 129, "line\nbreak"])
async def test_a_missing_or_malformed_request_id_is_replaced(
    async_client: AsyncClient, incoming: str | None
) -> None:
    headers = {} if incoming is None else {REQUEST_ID_HEADER: incoming}
    response = await async_client.get("/health/live", headers=headers)

    generated = response.headers[REQUEST_ID_HEADER]
    assert generated != incoming
    assert len(generated) == 32
    assert generated.isalnum()


async def test_every_response_carries_the_request_id(async_client: AsyncClient) -> None:
    for path in ("/health/live", "/no/such/path"):
        response = await async_client.get(path, headers={REQUEST_ID_HEADER: "trace-1.2:3"})
        assert response.headers[REQUEST_ID_HEADER] == "trace-1.2:3", path


async def test_a_bug_is_500_in_the_shared_shape_with_its_traceback_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    buggy: FastAPI = create_app(Settings(_env_file=None))

    @buggy.get("/bug")
    async def bug() -> None:
        raise RuntimeError("boom")

    transport = ASGITransport(app=buggy)
    with caplog.at_level(logging.ERROR, logger="src"):
        async with AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/bug", headers={REQUEST_ID_HEADER: "bug-1"})

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error", "errors": [], "error_count": 0}
    assert response.headers[REQUEST_ID_HEADER] == "bug-1"
    (line,) = failure_lines(caplog, "bug-1")
    assert line["status"] == 500
    assert line["error"] == "RuntimeError"
    assert "RuntimeError" in str(line["traceback"])
