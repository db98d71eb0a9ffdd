"""No connection to the test database outside the harness goes unnoticed.

While a test's body and its own function-scoped fixtures run, every connection any engine
opens on the test database is seen here (SQLAlchemy's `engine_connect` event, for every
engine), and all but those of the app's engine under test (tests/harness/db/shared_connection.py)
are refused (`EscapeError`) and remembered: an engine built from the settings, or the run's
engine kept from the lifespan's start, would commit for real beside the test's transaction.
The test then fails, naming the engine and the line of code that connected, even where the
code under test swallowed the error (a request answers it with a 500). The lifespan's start,
the harness's fixtures and session-scoped ones are not watched: the harness and session-wide
reference data connect there on purpose.
"""

import traceback
from functools import cache
from pathlib import Path

from greenlet import getcurrent  # type: ignore[import-untyped]
from sqlalchemy import URL, Connection, Engine, event

from tests.harness.db.current import RUN
from tests.harness.db.database import database_under_test
from tests.harness.paths import HARNESS_DIR, PROJECT_ROOT, SELF_TESTS_DIR

HOW_TO_REACH_IT = (
    "Under the harness, reach the database through `app_database(app)` (read when needed, "
    "not kept from the start) or the request's session; tests that need real commits ask "
    "for `transactional_db`."
)


class EscapeError(RuntimeError):
    """A connection to the test database outside the harness, refused."""


class EscapeWatch:
    """Refuses connections to the test database at `test_url` while the test's own code runs
    (`Run.own_code`), but for those of the engines it `allow`s."""

    def __init__(self, test_url: URL) -> None:
        self.test_url = test_url.render_as_string(hide_password=False)
        self.allowed: list[Engine] = []
        self.escapes: list[str] = []

    def install(self) -> None:
        event.listen(Engine, "engine_connect", self._on_connect)

    def allow(self, engine: Engine) -> None:
        """Connections of `engine` (the app's engine under test) are the harness's own."""
        self.allowed.append(engine)

    def _on_connect(self, connection: Connection) -> None:
        if not RUN.own_code:
            return
        engine = connection.engine
        allowed = any(engine is known for known in self.allowed)
        if allowed or engine.url.render_as_string(False) != self.test_url:
            return
        escape = f"{engine!r}, connected at {_caller()}"
        self.escapes.append(escape)
        connection.close()  # refused before any statement: nothing it would do is committed
        raise EscapeError(f"Refused a connection to the test database: {escape}. {HOW_TO_REACH_IT}")

    def take(self) -> list[str]:
        escapes, self.escapes = self.escapes, []
        return escapes


@cache
def escape_watch() -> EscapeWatch:
    """This process's watch over the test database, installed when first asked for."""
    watch = EscapeWatch(database_under_test().url)
    watch.install()
    return watch


def _caller() -> str:
    """The innermost frame of the project's own code that led here: the code that connected.

    Inside an async engine the connection is made in a greenlet, whose stack holds
    SQLAlchemy's frames only: the awaiting code's frames are those of its parent greenlet."""
    frames = list(traceback.extract_stack())
    parent = getcurrent().parent
    while parent is not None:
        if parent.gr_frame is not None:
            awaiting = traceback.StackSummary.extract(traceback.walk_stack(parent.gr_frame))
            frames = [*reversed(awaiting), *frames]
        parent = parent.parent
    for frame in reversed(frames):
        path = Path(frame.filename)
        harness_code = path.is_relative_to(HARNESS_DIR) and not path.is_relative_to(SELF_TESTS_DIR)
        installed = "site-packages" in path.parts
        if path.is_relative_to(PROJECT_ROOT) and not (harness_code or installed):
            return f"{path.relative_to(PROJECT_ROOT)}:{frame.lineno} ({frame.name})"
    return "a place outside the project's code"
