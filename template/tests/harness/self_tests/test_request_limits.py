"""Limits at the edge (src/_template/limits.py, src/_template/error_handlers.py): a body too
large is refused before it is read or parsed, one too slow is cut, and a 422 stays small
whatever the body held.

The in-process tests use an app of their own with small limits and one route that reads a
body; those marked `load` send the same requests to uvicorn over a socket, as clients do.
"""

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import URL

from src.config import Settings
from src.errors import MAX_REPORTED_ERRORS, ErrorResponse
from src.main import app as service_app
from src.main import create_app
from tests.harness.live_server import serve_app

LIMIT = 1000
BODY_TIMEOUT = 0.2


def limited_app() -> FastAPI:
    app = create_app(Settings(max_request_body_bytes=LIMIT, request_body_timeout=BODY_TIMEOUT))

    @app.post("/counts")
    async def counts(payload: dict[str, int]) -> int:
        return sum(payload.values())

    return app


@pytest.fixture
async def client() -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=limited_app())
    json_bodies = {"Content-Type": "application/json"}
    async with AsyncClient(
        transport=transport, base_url="http://test", headers=json_bodies
    ) as client:
        yield client


def error_of(response: Response, status_code: int) -> ErrorResponse:
    assert response.status_code == status_code, response.text
    return ErrorResponse.model_validate_json(response.content, strict=True)


def body_of_size(size: int) -> bytes:
    """A valid body of exactly `size` bytes: {"a": 1} with the key padded."""
    body = b'{"a": 1}'
    return body[:2] + b"a" * (size - len(body)) + body[2:]


async def test_a_body_at_the_limit_is_accepted(client: AsyncClient) -> None:
    response = await client.post("/counts", content=body_of_size(LIMIT))

    assert response.status_code == 200, response.text


def counted(body: bytes, received: list[int]) -> AsyncIterator[bytes]:
    """The body as a stream (chunked over HTTP), noting each chunk the app asked for."""

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            received.append(100)
            yield body[start : start + 100]

    return stream()


async def test_a_declared_length_over_the_limit_is_refused_unread(client: AsyncClient) -> None:
    received: list[int] = []
    body = body_of_size(LIMIT * 10)

    response = await client.post(
        "/counts", content=counted(body, received), headers={"Content-Length": str(len(body))}
    )

    error = error_of(response, 413)
    assert f"{LIMIT} bytes" in error.detail
    assert received == []
    assert "connection" not in response.headers  # uvicorn reads and drops the rest


async def test_a_streamed_body_is_refused_once_past_the_limit(client: AsyncClient) -> None:
    received: list[int] = []

    response = await client.post("/counts", content=counted(body_of_size(LIMIT * 10), received))

    error_of(response, 413)
    assert LIMIT < sum(received) <= LIMIT + 100, "read on past the limit"


async def test_a_body_that_stops_arriving_is_answered_408_and_closed(
    client: AsyncClient,
) -> None:
    async def stalled() -> AsyncIterator[bytes]:
        yield b'{"a": '
        await asyncio.sleep(BODY_TIMEOUT * 20)  # never reached: the app gives up first
        yield b"1}"

    started = time.monotonic()
    response = await client.post("/counts", content=stalled())

    error = error_of(response, 408)
    assert f"{BODY_TIMEOUT:g} seconds" in error.detail
    assert response.headers["connection"] == "close"
    assert time.monotonic() - started < BODY_TIMEOUT * 10


async def test_a_422_lists_a_bounded_number_of_errors_and_counts_them(
    client: AsyncClient,
) -> None:
    wrong = {f"k{index}": "x" for index in range(60)}  # each value fails to parse

    response = await client.post("/counts", json=wrong)

    error = error_of(response, 422)
    assert len(error.errors) == MAX_REPORTED_ERRORS
    assert error.error_count == len(wrong)
    assert error.errors[0].loc == ["body", "k0"]


async def test_other_errors_count_theirs(client: AsyncClient) -> None:
    error = error_of(await client.post("/counts", json={"a": "x"}), 422)
    assert (len(error.errors), error.error_count) == (1, 1)

    assert error_of(await client.get("/nowhere"), 404).error_count == 0


def test_the_schema_documents_the_count_as_always_present() -> None:
    schema = service_app.openapi()["components"]["schemas"]["ErrorResponse"]

    assert set(schema["required"]) == {"detail", "errors", "error_count"}
    assert schema["properties"]["errors"]["maxItems"] == MAX_REPORTED_ERRORS


# Over a socket, through uvicorn: what only a real server shows.

# 1 second for the body: shorter than the default, so that the test is quick.
LIVE_SETTINGS = {"REQUEST_BODY_TIMEOUT": "1"}


def body_route() -> str:
    """The path of an operation of the service that reads a JSON body, from its schema."""
    for path, operations in service_app.openapi()["paths"].items():
        if "{" not in path and "requestBody" in operations.get("post", {}):
            return str(path)
    pytest.skip("no operation of the service takes a body")


def exchange(base_url: str, request: bytes, timeout: float) -> tuple[bytes, float]:
    """Sends raw bytes and reads until the server closes; (what came back, seconds taken)."""
    host, port = base_url.removeprefix("http://").split(":")
    received = b""
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(request)
        while chunk := connection.recv(65536):
            received += chunk
    return received, time.monotonic() - started


def raw_post(path: str, content_length: int) -> bytes:
    """A POST declaring `content_length` bytes of body and sending two."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {content_length}\r\nConnection: close\r\n\r\n"
    ).encode() + b"{}"


@pytest.mark.load
async def test_uvicorn_refuses_large_bodies_and_cuts_lying_ones(
    live_database_url: URL, tmp_path: Path
) -> None:
    path = body_route()
    timeout = float(LIVE_SETTINGS["REQUEST_BODY_TIMEOUT"])

    async def streamed() -> AsyncIterator[bytes]:
        for _ in range(160):
            yield b" " * 65536

    async with (
        serve_app(live_database_url, tmp_path / "server.log", settings=LIVE_SETTINGS) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as http,
    ):
        declared = await http.post(path, content=b"{" + b" " * 10_000_000 + b"}")
        chunked = await http.post(path, content=streamed())
        live = await http.get("/health/live")
        refused, refused_after = await asyncio.to_thread(
            exchange, server.base_url, raw_post(path, 10**12), timeout * 10
        )
        cut, cut_after = await asyncio.to_thread(
            exchange, server.base_url, raw_post(path, 1000), timeout * 10
        )

    for response in (declared, chunked):
        assert error_of(response, 413).detail.startswith("Request body too large")
    assert live.status_code == 200
    assert refused.startswith(b"HTTP/1.1 413 "), refused
    assert refused_after < timeout
    assert cut.startswith(b"HTTP/1.1 408 "), cut
    body = cut.partition(b"\r\n\r\n")[2]
    assert json.loads(body)["detail"] == f"Request body not received within {timeout:g} seconds"
    assert timeout <= cut_after < timeout * 5
