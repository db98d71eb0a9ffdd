"""The app as the harness runs it: its lifespan (`lifespan_of`), the harness's clients, and the
check that tests call the app through them.

A client a test builds itself (FastAPI's `AsyncClient(transport=ASGITransport(app=app))`,
or `TestClient(app)`) skips the harness: no lifespan, and no test transaction, so its writes
would be committed for real and seen by later tests. `RequireHarnessClients` (added to the
app when the harness loads) refuses such requests while a test runs, with one line saying
which fixture to use instead. The harness's clients mark their requests (`HarnessTransport`).
"""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.harness.db.current import in_ordinary_test, phase

_FROM_THE_HARNESS = ContextVar("from_the_harness", default=False)
USE_THE_HARNESS_CLIENTS = (
    "This test calls the app through a client of its own, which skips the harness (no test "
    "transaction: its writes would outlive the test): ask for the `async_client` fixture, or "
    "`client` in a sync test, instead."
)


@asynccontextmanager
async def lifespan_of(asgi_app: ASGIApp) -> AsyncIterator[ASGIApp]:
    """The app, its lifespan started; stopped when the block ends. Neither is part of a test
    (current.phase): what they write is not the running test's."""
    manager = LifespanManager(asgi_app)
    with phase(lifespan=True):
        await manager.__aenter__()
    try:
        yield manager.app
    finally:
        with phase(lifespan=True):
            await manager.__aexit__(None, None, None)


class HarnessClientError(RuntimeError):
    """A test called the app with a client the harness did not give it."""


class HarnessTransport(httpx.ASGITransport):
    """ASGITransport whose requests the app knows as the harness's."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        token = _FROM_THE_HARNESS.set(True)
        try:
            return await super().handle_async_request(request)
        finally:
            _FROM_THE_HARNESS.reset(token)


class RequireHarnessClients:
    """Outermost middleware of the app under test: refuses requests of other clients."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and in_ordinary_test() and not _FROM_THE_HARNESS.get():
            raise HarnessClientError(USE_THE_HARNESS_CLIENTS)
        await self.app(scope, receive, send)


def require_harness_clients(app: FastAPI) -> None:
    app.add_middleware(RequireHarnessClients)


class _OnTheLoop(httpx.BaseTransport):
    """A sync transport that runs each request on `loop` (idle while a sync test runs)."""

    def __init__(self, transport: httpx.AsyncBaseTransport, loop: asyncio.AbstractEventLoop):
        self.transport = transport
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.loop.is_running():
            raise HarnessClientError(
                "The `client` fixture is for sync tests: in an async test, await `async_client`."
            )
        return self.loop.run_until_complete(self._send(request))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self.transport.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=content,
            extensions=response.extensions,
        )


@contextmanager
def sync_client(
    transport: httpx.AsyncBaseTransport, loop: asyncio.AbstractEventLoop
) -> Iterator[httpx.Client]:
    with httpx.Client(transport=_OnTheLoop(transport, loop), base_url="http://test") as client:
        yield client
