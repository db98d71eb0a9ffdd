"""The app's engine under test: every connection it hands out is the test's own, in a savepoint.

Under the harness the app works with `TestConnectionEngine.engine`, a real `AsyncEngine` (the
app can `begin()`, `connect()` and bind sessions to it, as to its production engine) whose
pool lends the test's one connection to every checkout. Its dialect turns the transaction of
each checkout into a savepoint of the test's transaction: BEGIN is `SAVEPOINT`, COMMIT is
`RELEASE SAVEPOINT`, ROLLBACK is `ROLLBACK TO SAVEPOINT`. So request sessions, background
tasks and `engine.begin()` blocks all write into the test's transaction, which the harness
rolls back when the test ends.

Savepoints nest; they must not interleave. Two requests gathered in one test would otherwise
release each other's savepoints (`savepoint "sa_savepoint_2" does not exist`). So checkouts
take turns (`Turns`): one asyncio task at a time holds the connection, from its first
checkout to its last checkin, and checkouts of the task holding it nest inside its turn. The
requests of one test are serialized at the database, where in production each has its own
connection and transaction. A task that waits longer than `TURN_TIMEOUT_SECONDS` fails,
naming the task that holds the connection, instead of deadlocking.
"""

import asyncio
import copy
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import URL, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, Pool
from sqlalchemy.pool.base import _ConnectionRecord
from sqlalchemy.util.concurrency import await_

from src.database import Database, create_sessionmaker

# How long a request or task waits for another to give the test's connection back: far longer
# than any request of a test takes, far shorter than a hung run.
TURN_TIMEOUT_SECONDS = 10.0
HOW_TO_COMMIT = (
    "Ask for the `transactional_db` fixture in tests that need real commits "
    "(docs/testing.md, Committed tests)."
)


class TurnTimeoutError(TimeoutError):
    """A task waited too long for the test's connection, which another task holds."""


class WrongEventLoopError(RuntimeError):
    """The test's connection was asked for from an event loop other than the test session's."""


class NoTestConnectionError(RuntimeError):
    """The app's engine was used while no test lends it a connection."""


def task_name(task: asyncio.Task[Any] | None) -> str:
    if task is None:
        return "code outside any task"
    coroutine = task.get_coro()
    where = getattr(coroutine, "__qualname__", None) or repr(coroutine)
    return f"task {task.get_name()!r} ({where})"


@dataclass
class Turns:
    """Who may use the test's connection now: one asyncio task, the others in arrival order."""

    timeout: float = TURN_TIMEOUT_SECONDS
    holder: asyncio.Task[Any] | None = None
    depth: int = 0
    waiting: deque[tuple[asyncio.Task[Any] | None, asyncio.Future[None]]] = field(
        default_factory=deque
    )

    async def take(self) -> None:
        task = asyncio.current_task()
        if self.holder is not None and self.holder is task:
            self.depth += 1  # the same request or task again: nested inside its turn
            return
        if self.holder is None and not self.waiting:
            self.holder, self.depth = task, 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((task, turn))
        try:
            async with asyncio.timeout(self.timeout):
                await turn
        except TimeoutError:
            if turn.done() and not turn.cancelled():
                self.give_back()  # handed over just as the wait ran out
            else:
                self.waiting.remove((task, turn))
            raise TurnTimeoutError(
                f"{task_name(task)} waited {self.timeout:g} s for the test's database "
                f"connection, which {task_name(self.holder)} holds: under the harness the "
                "requests and tasks of one test take turns on one connection, and that one "
                "never gave it back (does it wait for the one now waiting?)."
            ) from None
        except BaseException:
            if turn.done() and not turn.cancelled():
                self.give_back()
            elif (task, turn) in self.waiting:
                self.waiting.remove((task, turn))
            raise

    def give_back(self) -> None:
        self.depth -= 1
        if self.depth > 0:
            return
        self.holder = None
        while self.waiting:
            task, turn = self.waiting.popleft()
            if not turn.done():
                self.holder, self.depth = task, 1
                turn.set_result(None)
                return


class LendingPool(Pool):
    """Hands out the connection lent to it (the test's), to every checkout, one task at a time.

    Each checkout gets a record of its own over the one DBAPI connection, so that checkins
    never mistake each other (StaticPool shares one record and warns of a double checkin).
    """

    def __init__(self, creator: Callable[[], DBAPIConnection], turns: Turns) -> None:
        super().__init__(creator, reset_on_return=None)
        self.turns = turns
        self.lent: DBAPIConnection | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.checked_out: dict[ConnectionPoolEntry, asyncio.Task[Any] | None] = {}

    def status(self) -> str:
        return f"LendingPool: {len(self.checked_out)} checked out"

    def recreate(self) -> "LendingPool":
        return self

    def dispose(self) -> None:
        """The connection is the test's: its owner closes it."""

    def _do_get(self) -> ConnectionPoolEntry:
        if self.lent is None:
            raise NoTestConnectionError(
                "The app's database is only there while a test that asked for it runs: ask for "
                "`async_client` (or `async_session`) in this test."
            )
        try:
            on_its_loop = asyncio.get_running_loop() is self.loop
        except RuntimeError:  # no loop at all: a thread of its own
            on_its_loop = False
        if not on_its_loop:
            raise WrongEventLoopError(wrong_loop_message())
        await_(self.turns.take())
        record = _ConnectionRecord(self, connect=False)
        record.dbapi_connection = self.lent
        record.starttime = time.time()
        self.checked_out[record] = asyncio.current_task()
        return record

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        if self.checked_out.pop(record, _NOT_CHECKED_OUT) is not _NOT_CHECKED_OUT:
            self.turns.give_back()

    def _close_connection(self, connection: DBAPIConnection, *, terminate: bool = False) -> None:
        """Never closed here: the test's fixture decides what becomes of its connection."""


_NOT_CHECKED_OUT = object()


def wrong_loop_message() -> str:
    return (
        "The test database is bound to the test session's event loop, and this code runs on "
        "another one (a test marked `asyncio(loop_scope=...)` other than session, "
        "`@pytest.mark.anyio`, or TestClient's thread): remove the loop scope or the anyio "
        "marker (pytest.ini runs every test on the session's loop), and use `async_client`, "
        "or `client` in a sync test, instead of TestClient."
    )


def _savepoint_dialect(dialect: Dialect) -> Dialect:
    """A copy of the test engine's dialect (initialised: server version, quoting) whose
    transactions are savepoints of the connection they run on."""
    savepoints: dict[int, str] = {}
    counter = iter(range(1, 1 << 62))

    def execute(dbapi_connection: Any, statement: str) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()

    def do_begin(dbapi_connection: Any) -> None:
        name = f"harness_{next(counter)}"
        execute(dbapi_connection, f"SAVEPOINT {name}")
        savepoints[id(dbapi_connection)] = name

    def do_commit(dbapi_connection: Any) -> None:
        name = savepoints.pop(id(dbapi_connection), None)
        if name is not None:
            execute(dbapi_connection, f"RELEASE SAVEPOINT {name}")

    def do_rollback(dbapi_connection: Any) -> None:
        name = savepoints.pop(id(dbapi_connection), None)
        if name is not None:
            execute(dbapi_connection, f"ROLLBACK TO SAVEPOINT {name}")
            execute(dbapi_connection, f"RELEASE SAVEPOINT {name}")

    def set_isolation_level(_dbapi_connection: Any, level: str) -> None:
        raise NotImplementedError(
            f"Isolation level {level} needs a connection of its own, and under the harness "
            f"the app shares the test's connection, inside its transaction. {HOW_TO_COMMIT}"
        )

    copied = copy.copy(dialect)
    copied.do_begin = do_begin  # type: ignore[method-assign]
    copied.do_commit = do_commit  # type: ignore[method-assign]
    copied.do_rollback = do_rollback  # type: ignore[method-assign]
    copied.set_isolation_level = set_isolation_level  # type: ignore[method-assign,assignment]
    return copied


class TestConnectionEngine:
    """The app's engine for a whole test run; each test lends it its connection."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, test_engine: AsyncEngine, url: URL) -> None:
        self.turns = Turns()
        self.pool = LendingPool(self._no_new_connections, self.turns)
        sync_engine = Engine(
            self.pool, _savepoint_dialect(test_engine.dialect), url, hide_parameters=True
        )
        self.engine = AsyncEngine(sync_engine)
        self.database = Database(self.engine, create_sessionmaker(self.engine))

    @staticmethod
    def _no_new_connections() -> DBAPIConnection:
        raise NoTestConnectionError("The app's test engine only lends the test's connection.")

    def lend(self, connection: AsyncConnection) -> None:
        """From now on, every checkout gets `connection` (inside its transaction)."""
        assert connection.sync_connection is not None, "lend an open connection"
        self.pool.lent = connection.sync_connection.connection.dbapi_connection
        self.pool.loop = asyncio.get_running_loop()

    async def take_back(self) -> list[str]:
        """Ends the loan. The tasks still holding or waiting for the connection are cancelled
        (and awaited, briefly); returns their names."""
        me = asyncio.current_task()
        busy = [task for task in self._busy_tasks() if task is not me]
        for task in busy:
            task.cancel()
        if busy:
            await asyncio.wait(busy, timeout=TURN_TIMEOUT_SECONDS)
        self.pool.lent = None
        self.pool.checked_out.clear()
        self.turns.holder, self.turns.depth = None, 0
        self.turns.waiting.clear()
        return [task_name(task) for task in busy]

    def _busy_tasks(self) -> list[asyncio.Task[Any]]:
        holding = [task for task in self.pool.checked_out.values() if task is not None]
        waiting = [task for task, _ in self.turns.waiting if task is not None]
        return [task for task in dict.fromkeys(holding + waiting) if not task.done()]
