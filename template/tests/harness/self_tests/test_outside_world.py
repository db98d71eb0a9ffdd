"""Tests reach nothing real beyond the test database: the network is blocked unless mocked
(the network guard, `mock_http`), and dependency overrides never outlive their test
(`override_dependency`, and the guard of `app.dependency_overrides`)."""

import socket
from collections.abc import Iterator

import httpx
import pytest
import respx
from httpx import AsyncClient
from respx.models import AllMockedAssertionError

from src._template.database import get_sessionmaker
from src.main import app
from tests.harness.fixtures import OverrideDependency
from tests.harness.live_server import free_port
from tests.harness.network import NetworkBlockedError, NetworkGuard


@pytest.fixture
def nothing_allowed() -> Iterator[NetworkGuard]:
    """A guard that allows not even loopback, so that its refusal can be shown with loopback
    addresses only: if it failed, the connection would still stay on this machine."""
    guard = NetworkGuard((), allow_loopback=False)
    guard.install()
    yield guard
    guard.uninstall()


def test_a_connection_elsewhere_is_refused_before_it_leaves(
    nothing_allowed: NetworkGuard,
) -> None:
    port = free_port()  # closed again: a connection there is refused, on this machine
    with socket.socket() as sock, pytest.raises(NetworkBlockedError, match="mock_http"):
        sock.connect(("127.0.0.1", port))
    assert nothing_allowed.blocked == [f"a connection to 127.0.0.1:{port}"]


def test_a_name_lookup_elsewhere_is_refused(nothing_allowed: NetworkGuard) -> None:
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("localhost", 80)
    assert nothing_allowed.blocked == ["a name lookup of 'localhost'"]


def test_the_harness_guard_allows_loopback_and_refuses_other_hosts(
    _network_guard: NetworkGuard,  # noqa: PT019 (its value is used)
) -> None:
    assert _network_guard.allows_connection("127.0.0.1")
    assert _network_guard.allows_connection("::1")
    assert not _network_guard.allows_connection("10.1.2.3")
    assert not _network_guard.allows_lookup("api.payments.example")


async def test_mock_http_answers_the_declared_call(mock_http: respx.MockRouter) -> None:
    charge = mock_http.post("https://payments.example/charges").respond(201, json={"id": "ch_1"})

    async with httpx.AsyncClient() as client:
        response = await client.post("https://payments.example/charges", json={"amount": 5})

    assert response.json() == {"id": "ch_1"}
    assert charge.call_count == 1


async def test_mock_http_refuses_a_call_nobody_declared(mock_http: respx.MockRouter) -> None:
    mock_http.get("https://payments.example/health").respond(200)
    async with httpx.AsyncClient() as client:
        await client.get("https://payments.example/health")
        with pytest.raises(AllMockedAssertionError):
            await client.get("https://payments.example/refunds")


async def test_override_dependency_lasts_for_the_test(
    override_dependency: OverrideDependency, async_client: AsyncClient
) -> None:
    # The harness overrides no dependency (it hands the app its database instead): the
    # test's own override is the only one, and it is gone when the test ends.
    assert get_sessionmaker not in app.dependency_overrides

    async def no_database() -> None:
        raise ConnectionRefusedError("the database is away")

    override_dependency(get_sessionmaker, no_database)

    assert (await async_client.get("/health/ready")).status_code == 503
    assert app.dependency_overrides[get_sessionmaker] is no_database
