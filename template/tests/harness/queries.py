"""Counting the SQL statements a block of code runs, to catch N+1 queries in tests."""

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, event

# Transaction control: the harness's savepoints and the app's commits, not queries.
TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


@dataclass
class QueryLog:
    statements: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.statements)


# The fixtures' types, for annotating tests: count_queries() and assert_max_queries(limit).
CountQueries = Callable[[], AbstractContextManager[QueryLog]]
AssertMaxQueries = Callable[[int], AbstractContextManager[QueryLog]]


@contextmanager
def count_statements(*sources: Connection | Engine) -> Iterator[QueryLog]:
    """Record every statement the `sources` send to the database while the block runs."""
    log = QueryLog()

    def record(*args: Any) -> None:
        statement: str = args[2]  # (connection, cursor, statement, parameters, context, many)
        if not TRANSACTION_CONTROL.match(statement):
            log.statements.append(" ".join(statement.split()))

    for source in sources:
        event.listen(source, "before_cursor_execute", record)
    try:
        yield log
    finally:
        for source in sources:
            event.remove(source, "before_cursor_execute", record)
