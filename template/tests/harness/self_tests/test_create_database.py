"""`uv run python -m src.create_database`: creates the app's database, or says in one line why
it cannot; and the one line `alembic upgrade head` gives when that database is not there."""

from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
from sqlalchemy import make_url

from src._template import create_database
from src.config import get_settings
from tests.harness.db.database import database_name, database_under_test, drop_database

# Nothing listens on port 1 of this machine: the connection is refused at once.
UNREACHABLE = "postgresql+asyncpg://postgres:secret@127.0.0.1:1/shop"

UseDatabaseUrl = Callable[[str], None]


class DriverError(Exception):
    """What SQLAlchemy raises for a driver's error: the driver's own in `orig`."""

    def __init__(self, sqlstate: str | None) -> None:
        super().__init__("refused")
        self.orig = SimpleNamespace(sqlstate=sqlstate)


@pytest.fixture
def use_database_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[UseDatabaseUrl]:
    """Run `main` with another DATABASE_URL; the settings are read again after the test."""

    def use(url: str) -> None:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


async def test_creates_the_database_once() -> None:
    test_url = database_under_test().url
    if test_url.get_backend_name() == "sqlite":
        done = await create_database.create_database(make_url("sqlite+inline:///./app.db"))
        assert "nothing to do for SQLite" in done
        return
    # A database of this test's own on the test server, guarded like every other.
    name = f"{database_name(test_url).removesuffix('_test')}_created_test"
    url = database_under_test().guarded(test_url.set(database=name))
    try:
        assert (await create_database.create_database(url)).startswith("Created ")
        assert (await create_database.create_database(url)).endswith("exists already.")
    finally:
        await drop_database(url)


def test_an_unreachable_server_is_one_line_naming_the_command(
    use_database_url: UseDatabaseUrl, capsys: pytest.CaptureFixture[str]
) -> None:
    use_database_url(UNREACHABLE)

    assert create_database.main() == 1

    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "Cannot reach the PostgreSQL server of DATABASE_URL at 127.0.0.1:1" in error
    assert create_database.COMMAND in error
    assert "secret" not in error


def test_a_url_without_an_async_driver_is_one_line(
    use_database_url: UseDatabaseUrl, capsys: pytest.CaptureFixture[str]
) -> None:
    use_database_url(UNREACHABLE.replace("+asyncpg", ""))

    assert create_database.main() == 1

    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "DATABASE_URL uses postgresql:// without an async driver" in error


@pytest.mark.parametrize(
    ("url", "sqlstate", "expected"),
    [
        (UNREACHABLE, "3D000", "does not exist: create the database with `uv run python -m"),
        (UNREACHABLE, None, "Cannot connect to DATABASE_URL's database"),
        ("sqlite+inline:////no/such/folder/app.db", None, "Cannot open DATABASE_URL's database"),
    ],
    ids=["missing-database", "unreachable", "sqlite"],
)
def test_migrations_explain_a_database_they_cannot_open(
    url: str, sqlstate: str | None, expected: str
) -> None:
    message = create_database.cannot_connect(url, DriverError(sqlstate))

    assert expected in message
    assert "\n" not in message
    assert "secret" not in message
