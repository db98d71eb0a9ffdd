"""The app's engine under test: every connection it hands out is the test's own, in a savepoint.

Under the harness the app works with `TestConnectionEngine.engine`, a real `AsyncEngine` (the
app can `begin()`, `connect()` and bind sessions to it, as to its production engine) whose
pool lends the test's one connection to every checkout. Its dialect turns the transaction of
each checkout into a savepoint of the test's transaction: BEGIN is `SAVEPOINT`, COMMIT is
`RELEASE SAVEPOINT`, ROLLBACK is `ROLLBACK TO SAVEPOINT`. So request sessions, background
tasks and `engine.begin()` blocks all write into the test's transaction, which the harness
rolls back when the test ends.

Two requests gathered in one test would otherwise interleave on that one connection: each
would release the other's savepoints (`savepoint "sa_savepoint_2" does not exist`), and two
that read and then write could both read before either writes, where row locks (`SELECT ...
FOR UPDATE`) make one wait for the other in production. So checkouts take turns (`Turns`):
one asyncio task at a time holds the connection, from its first checkout to its last
checkin, and checkouts of the task holding it nest inside its turn. The requests of one test
are serialized at the database, where in production each has its own connection and
transaction. A task that waits longer than `TURN_TIMEOUT_SECONDS` fails, naming the task that
holds the connection, instead of deadlocking. Within a turn, and against the test's own
sessions (which take no turn, so that they never block a request), savepoints still end out
of order: one is released only once it is the innermost (`Savepoints`).
"""

import asyncio
import copy
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import URL, Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, Pool
from sqlalchemy.pool.base import _ConnectionRecord
from sqlalchemy.util.concurrency import await_

from src._template.database import Database, create_sessionmaker

# How long a request or task waits for another to give the test's connection back: far longer
# than any request of a test takes, far shorter than a hung run.
TURN_TIMEOUT_SECONDS = 10.0
HOW_TO_COMMIT = (
    "Ask for the `transactional_db` fixture in tests that need real commits "
    "(docs/testing.md, Committed tests)."
)


ENDED_BY_THE_TEST = (
    "This test ended the harness's transaction itself (a commit or rollback on "
    "async_connection; a commit is refused, its rows would outlive the test). Commit through "
    "async_session (a savepoint), or ask for `transactional_db` for real commits."
)


class HarnessTransactionError(RuntimeError):
    """A test tried to commit the transaction the harness rolls back after it."""


class TurnTimeoutError(RuntimeError):
    """A task waited too long for the test's connection, which another task holds. Not a
    TimeoutError: the app would answer 503 (the database unavailable), where this is a
    mistake of the test or the app, answered 500 and shown in the test's report."""


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

    def take_now(self) -> bool:
        """Take the turn if no one else holds it or waits for it (no waiting: no await)."""
        task = asyncio.current_task()
        if self.holder is not None and self.holder is task:
            self.depth += 1  # the same request or task again: nested inside its turn
            return True
        if self.holder is None and not self.waiting:
            self.holder, self.depth = task, 1
            return True
        return False

    async def take(self) -> None:
        if self.take_now():
            return
        task = asyncio.current_task()
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
        if not self.turns.take_now():
            await_(self.turns.take())
        record = _ConnectionRecord(self, connect=False)
        record.dbapi_connection = self.lent
        record.starttime = time.time()
        self.checked_out[record] = asyncio.current_task()
        return record

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        if record in self.checked_out:  # not one a test's end took back already
            del self.checked_out[record]
            self.turns.give_back()

    def _close_connection(self, connection: DBAPIConnection, *, terminate: bool = False) -> None:
        """Never closed here: the test's fixture decides what becomes of its connection."""


def wrong_loop_message() -> str:
    return (
        "The test database is bound to the test session's event loop, and this code runs on "
        "another one (a test marked `asyncio(loop_scope=...)` other than session, "
        "`@pytest.mark.anyio`, or TestClient's thread): remove the loop scope or the anyio "
        "marker (pytest.ini runs every test on the session's loop), and use `async_client`, "
        "or `client` in a sync test, instead of TestClient."
    )


def _run(dbapi_connection: Any, statement: str) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


@dataclass
class Savepoints:
    """The savepoints open on the lent connection, innermost last: the app's (one per
    transaction of a checkout) and those of the test's own sessions.

    A savepoint is released only once it is the innermost: releasing one with newer ones
    above it would release them too (a request's commit would end the savepoint the test's
    session, or an `engine.begin()` block of the same request, still works in). Until then its
    release waits, and happens with the release of the last one above it.
    """

    open: list[str] = field(default_factory=list)
    released: set[str] = field(default_factory=set)
    # The app's transactions committed into another of the app's, by the latter: if it rolls
    # back, they are lost with it, where in production each had a connection of its own.
    absorbed: dict[str, list[str]] = field(default_factory=dict)
    # What the harness noticed that a failing test's report shows (`lost_with_a_rollback`).
    notes: list[str] = field(default_factory=list)

    def opened(self, name: str) -> None:
        self.open.append(name)

    def release(self, name: str, release_now: Callable[[str], None]) -> None:
        if name in self.open and self.open[-1] != name:
            self.released.add(name)  # released with the last of those above it
            return
        release_now(name)
        if name in self.open:
            del self.open[self._innermost(name)]
            self._absorb(name)
        while self.open and self.open[-1] in self.released:
            waiting = self.open.pop()
            self.released.discard(waiting)
            release_now(waiting)
            self._absorb(waiting)

    def _absorb(self, name: str) -> None:
        """`name` is released into the savepoint below it, with what was committed into it."""
        carried = self.absorbed.pop(name, [])
        parent = self.open[-1] if self.open else None
        if parent is not None and _is_checkout(parent):
            self.absorbed.setdefault(parent, []).extend(
                [*carried, name] if _is_checkout(name) else carried
            )

    def lost_with_a_rollback(self, name: str) -> None:
        """The app's transaction `name` rolls back: say so if others were committed into it."""
        if lost := self.absorbed.pop(name, []):
            self.notes.append(
                f"The app committed {len(lost)} transaction(s) ({', '.join(lost)}) while "
                f"another of its transactions ({name}) was open, and that one then rolled "
                "back. Under the harness they share the test's connection, so the commits were "
                "lost with it; in production each has a connection of its own, and they are "
                "kept. A test of that asks for `transactional_db`."
            )

    def rolled_back_to(self, name: str) -> None:
        """ROLLBACK TO `name` ended every savepoint above it."""
        if name in self.open:
            above = self._innermost(name) + 1
            self.released.difference_update(self.open[above:])
            for gone in self.open[above:]:
                self.absorbed.pop(gone, None)
            del self.open[above:]

    def _innermost(self, name: str) -> int:
        """Where the savepoint a statement naming `name` means is: the newest of that name
        (the sessions of two connections both number theirs from sa_savepoint_1)."""
        return len(self.open) - 1 - self.open[::-1].index(name)

    def clear(self) -> None:
        self.open.clear()
        self.released.clear()
        self.absorbed.clear()


CHECKOUT_SAVEPOINT = "harness_"


def _is_checkout(name: str) -> bool:
    """Whether a savepoint is the transaction of one of the app's checkouts (not a nested one
    within it, nor one of the test's own sessions)."""
    return name.startswith(CHECKOUT_SAVEPOINT)


def _savepoint_dialect(dialect: Dialect, savepoints: Savepoints) -> Dialect:
    """A copy of the test engine's dialect (initialised: server version, quoting) whose
    transactions are savepoints of the connection they run on."""
    names: dict[int, str] = {}  # by checkout: the savepoint its transaction is

    def do_begin(dbapi_connection: Any) -> None:
        # Named after its depth, unique among the open ones (those below it stay while it is
        # open) and the same from test to test: asyncpg prepares each new statement text.
        name = f"{CHECKOUT_SAVEPOINT}{len(savepoints.open) + 1}"
        _run(dbapi_connection, f"SAVEPOINT {name}")
        names[id(dbapi_connection)] = name
        savepoints.opened(name)

    def do_commit(dbapi_connection: Any) -> None:
        name = names.pop(id(dbapi_connection), None)
        if name is not None:
            savepoints.release(
                name, lambda done: _run(dbapi_connection, f"RELEASE SAVEPOINT {done}")
            )

    def do_rollback(dbapi_connection: Any) -> None:
        name = names.pop(id(dbapi_connection), None)
        if name is not None:
            _run(dbapi_connection, f"ROLLBACK TO SAVEPOINT {name}")
            savepoints.lost_with_a_rollback(name)
            savepoints.rolled_back_to(name)
            savepoints.release(
                name, lambda done: _run(dbapi_connection, f"RELEASE SAVEPOINT {done}")
            )

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


def _track_savepoints(dialect: Dialect, pool: "LendingPool", savepoints: Savepoints) -> None:
    """Nested transactions (`begin_nested()`, and the test's own sessions, which the test
    engine's dialect serves) open savepoints on the lent connection: they take their place in
    `savepoints` too."""
    do_savepoint = dialect.do_savepoint
    do_release_savepoint = dialect.do_release_savepoint
    do_rollback_to_savepoint = dialect.do_rollback_to_savepoint

    def lent(connection: Connection) -> Any:
        dbapi_connection = connection.connection.dbapi_connection
        return dbapi_connection if dbapi_connection is pool.lent else None

    def savepoint(connection: Connection, name: str) -> None:
        do_savepoint(connection, name)
        if lent(connection) is not None:
            savepoints.opened(name)

    def release_savepoint(connection: Connection, name: str) -> None:
        dbapi_connection = lent(connection)
        if dbapi_connection is None:
            do_release_savepoint(connection, name)
            return

        def release_now(done: str) -> None:
            if done == name:
                do_release_savepoint(connection, name)
            else:
                _run(dbapi_connection, f"RELEASE SAVEPOINT {done}")

        savepoints.release(name, release_now)

    def rollback_to_savepoint(connection: Connection, name: str) -> None:
        do_rollback_to_savepoint(connection, name)
        if lent(connection) is not None:
            savepoints.rolled_back_to(name)
            savepoints.released.add(name)  # SQLAlchemy leaves it open: gone with the one below

    dialect.do_savepoint = savepoint  # type: ignore[method-assign]
    dialect.do_release_savepoint = release_savepoint  # type: ignore[method-assign]
    dialect.do_rollback_to_savepoint = rollback_to_savepoint  # type: ignore[method-assign]


class TestConnectionEngine:
    """The app's engine for a whole test run; each test lends it its connection."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, test_engine: AsyncEngine, url: URL) -> None:
        self.turns = Turns()
        self.pool = LendingPool(self._no_new_connections, self.turns)
        self.savepoints = Savepoints()
        dialect = _savepoint_dialect(test_engine.dialect, self.savepoints)
        for each in (dialect, test_engine.dialect):
            _track_savepoints(each, self.pool, self.savepoints)
        sync_engine = Engine(self.pool, dialect, url, hide_parameters=True)
        self.engine = AsyncEngine(sync_engine)
        self.database = Database(self.engine, create_sessionmaker(self.engine))

    @staticmethod
    def _no_new_connections() -> DBAPIConnection:
        raise NoTestConnectionError("The app's test engine only lends the test's connection.")

    def lends(self, connection: Connection) -> bool:
        """Whether `connection` is the one lent now (the running test's own)."""
        lent = self.pool.lent
        return lent is not None and connection.connection.dbapi_connection is lent

    def lend(self, connection: AsyncConnection) -> None:
        """From now on, every checkout gets `connection` (inside its transaction)."""
        assert connection.sync_connection is not None, "lend an open connection"
        self.pool.lent = connection.sync_connection.connection.dbapi_connection
        self.pool.loop = asyncio.get_running_loop()

    async def take_back(self, tasks_before: set[asyncio.Task[Any]]) -> list[str]:
        """Ends the loan. The tasks still holding or waiting for the connection, and any other
        started since `tasks_before` (a task a request started, asleep for now, would use the
        next test's connection) are cancelled, and awaited briefly; returns their names."""
        me = asyncio.current_task()
        started = {task for task in asyncio.all_tasks() - tasks_before if not task.done()}
        busy = [task for task in dict.fromkeys([*self._busy_tasks(), *started]) if task is not me]
        for task in busy:
            task.cancel()
        if busy:
            await asyncio.wait(busy, timeout=TURN_TIMEOUT_SECONDS)
        self.pool.lent = None
        self.savepoints.clear()
        self.pool.checked_out.clear()
        self.turns.holder, self.turns.depth = None, 0
        self.turns.waiting.clear()
        return [task_name(task) for task in busy]

    def _busy_tasks(self) -> list[asyncio.Task[Any]]:
        holding = [task for task in self.pool.checked_out.values() if task is not None]
        waiting = [task for task, _ in self.turns.waiting if task is not None]
        return [task for task in dict.fromkeys(holding + waiting) if not task.done()]
