"""Which database the tests run against, and how its engine is made."""

import os

from sqlalchemy.ext.asyncio import AsyncEngine

from src.database import create_engine
from tests.harness import sqlite_inline

sqlite_inline.register()

# In-memory SQLite through the inline driver (see sqlite_inline.py): same dialect, same sqlite3,
# no thread hop per statement. TEST_DATABASE_URL=sqlite+aiosqlite:///:memory: switches back.
DEFAULT_TEST_DATABASE_URL = f"sqlite+{sqlite_inline.DRIVER}:///:memory:"


def test_database_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_TEST_DATABASE_URL


def create_test_engine(url: str) -> AsyncEngine:
    # The production engine factory, so the tests run with the app's own engine settings.
    return create_engine(url)
