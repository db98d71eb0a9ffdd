"""Which database the tests run against, and how its engine is made."""

import os

from sqlalchemy.ext.asyncio import AsyncEngine

from src.database import create_engine

DEFAULT_TEST_DATABASE_URL = "sqlite+aiosqlite:///:memory:"


def test_database_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_TEST_DATABASE_URL


def create_test_engine(url: str) -> AsyncEngine:
    # The production engine factory, so the tests run with the app's own engine settings.
    return create_engine(url)
