# Template-owned (kept current by `copier update`), like everything in tests/harness/
"""The guard that keeps the suite away from databases that are not clearly for tests."""

from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.harness.db.database import (
    UnsafeTestDatabaseError,
    check_is_test_database,
    resolve_test_database,
    worker_database_url,
)

APP = make_url("postgresql+asyncpg://app:secret@localhost:5432/shop")


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite:////tmp/shop_test.db",
        "postgresql+asyncpg://app:secret@localhost:5432/shop_test",
        "postgresql+asyncpg://app:secret@127.0.0.1/shop_test",
    ],
)
def test_accepts_test_databases(url: str) -> None:
    check_is_test_database(make_url(url), APP)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql+asyncpg://app:secret@localhost/shop", "does not end in '_test'"),
        ("sqlite+aiosqlite:///./app.db", "does not end in '_test'"),
        ("postgresql+asyncpg://app:secret@db.internal/shop_test", "is not this machine"),
        ("mysql+aiomysql://app:secret@localhost/shop_test", "supports SQLite and PostgreSQL"),
    ],
)
def test_refuses_other_databases_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(UnsafeTestDatabaseError, match=reason):
        check_is_test_database(make_url(url), APP)


def test_refuses_the_apps_own_database() -> None:
    app = make_url("postgresql+asyncpg://app:secret@localhost:5432/shop_test")
    same = make_url("postgresql+asyncpg://tester:other@127.0.0.1/shop_test")
    with pytest.raises(UnsafeTestDatabaseError, match="app's own database"):
        check_is_test_database(same, app)


def test_a_remote_server_needs_explicit_permission() -> None:
    remote = make_url("postgresql+asyncpg://app:secret@db.internal/shop_test")
    check_is_test_database(remote, APP, allow_remote=True)


def test_a_malformed_test_database_url_is_refused() -> None:
    with pytest.raises(UnsafeTestDatabaseError, match="not a database URL"):
        resolve_test_database({"TEST_DATABASE_URL": "localhost/shop_test"})


def test_each_worker_works_in_its_own_guarded_copy() -> None:
    environ = {"TEST_DATABASE_URL": "postgresql+asyncpg://u@localhost/shop_test"}
    database = resolve_test_database(environ | {"PYTEST_XDIST_WORKER": "gw1"})
    assert (database.configured.database, database.url.database) == ("shop_test", "shop_gw1_test")
    assert database.has_own_copy
    assert database.live(Path("unused")).database == "shop_live_gw1_test"
    assert not resolve_test_database(environ).has_own_copy


def test_the_refusal_does_not_show_the_password() -> None:
    with pytest.raises(UnsafeTestDatabaseError) as refusal:
        check_is_test_database(make_url("postgresql+asyncpg://app:secret@localhost/shop"), APP)
    assert "secret" not in str(refusal.value)


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        ("postgresql+asyncpg://u@localhost/shop_test", None, "shop_test"),
        ("postgresql+asyncpg://u@localhost/shop_test", "gw1", "shop_gw1_test"),
        ("sqlite+aiosqlite:////tmp/shop_test.db", "gw0", "/tmp/shop_gw0_test.db"),
        ("sqlite+aiosqlite:///:memory:", "gw0", ":memory:"),
    ],
)
def test_each_worker_gets_its_own_test_database(
    url: str, worker: str | None, expected: str
) -> None:
    worker_url = worker_database_url(make_url(url), worker)
    assert worker_url.database == expected
    check_is_test_database(worker_url, APP)
