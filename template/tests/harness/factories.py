"""Test-data factories (polyfactory) bound to the running test's transaction.

`Factory` is the base of the project's factories (tests/factories/, one module per domain).
`await UserFactory.create_async()` adds a row with the harness's session factory: the row is
flushed and committed inside the test's savepoint, so the app's requests see it, and it is
gone when the test ends with everything else; a factory never ends the test's transaction.
Only tests that import a factory load polyfactory.
"""

from typing import Any, TypeVar

from polyfactory.factories.sqlalchemy_factory import SQLAASyncPersistence, SQLAlchemyFactory
from polyfactory.persistence import AsyncPersistenceProtocol
from sqlalchemy import Column

from tests.harness.current import running_sessionmaker

Model = TypeVar("Model")


class Factory(SQLAlchemyFactory[Model]):
    __is_base_factory__ = True
    # The database numbers rows and fills server defaults (created_at), as for the API.
    __set_primary_key__ = False

    @classmethod
    def should_column_be_set(cls, column: Any) -> bool:
        if isinstance(column, Column) and column.server_default is not None:
            return False
        return super().should_column_be_set(column)

    @classmethod
    def _get_async_persistence(cls) -> AsyncPersistenceProtocol[Model]:
        session = running_sessionmaker()()
        return SQLAASyncPersistence(session, cleanup_callback=session.close)
