"""The app's SQLite driver and settings (src/_template/sqlite_inline.py,
src/_template/database.py) hold up when connections meet: WAL on a file, and a locked database
waited for without stalling the loop."""

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from src._template.database import create_engine

HOLD_SECONDS = 0.3


def database_file(tmp_path: Path) -> str:
    return f"sqlite+inline:///{tmp_path / 'driver_test.db'}"


async def ticks_while(work: asyncio.Future[object]) -> int:
    """How many 10 ms timer ticks the event loop served until `work` finished."""
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


async def test_a_database_file_is_in_wal_mode(tmp_path: Path) -> None:
    engine = create_engine(database_file(tmp_path))
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
    finally:
        await engine.dispose()


async def test_a_transaction_holds_the_write_lock_from_its_start(tmp_path: Path) -> None:
    # BEGIN IMMEDIATE: a transaction that reads and then writes can never fail to upgrade its
    # lock, because no other writer gets in between; that writer waits instead.
    engine = create_engine(database_file(tmp_path))
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE items (id INTEGER)"))
        async with engine.begin() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM items")) == 0
            other = sqlite3.connect(tmp_path / "driver_test.db", timeout=0)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("INSERT INTO items VALUES (1)")
            finally:
                other.close()
            await connection.execute(text("INSERT INTO items VALUES (2)"))
    finally:
        await engine.dispose()


async def test_a_locked_database_is_waited_for_while_the_loop_runs(tmp_path: Path) -> None:
    engine = create_engine(database_file(tmp_path))
    holder = sqlite3.connect(tmp_path / "driver_test.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process's write transaction

        async def write() -> object:
            async with engine.begin() as connection:
                return await connection.scalar(text("SELECT 1"))

        started = time.monotonic()
        writer = asyncio.ensure_future(write())
        await asyncio.sleep(HOLD_SECONDS)
        assert not writer.done(), "the transaction must wait for the lock"
        holder.execute("COMMIT")
        ticks = await ticks_while(writer)

        assert await writer == 1
        assert time.monotonic() - started >= HOLD_SECONDS
        assert ticks >= 1  # the loop ran while the driver waited
    finally:
        holder.close()
        await engine.dispose()


async def test_a_lock_held_past_the_timeout_is_database_is_locked(tmp_path: Path) -> None:
    engine = create_engine(database_file(tmp_path) + "?timeout=0.2")
    holder = sqlite3.connect(tmp_path / "driver_test.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            async with engine.begin() as connection:
                await connection.execute(text("SELECT 1"))
        # It waited (up to the timeout, not past it) instead of failing at once.
        assert 0.15 <= time.monotonic() - started < 2
    finally:
        holder.close()
        await engine.dispose()
