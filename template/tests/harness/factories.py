"""Test-data factories (polyfactory) bound to the running test's transaction.

`Factory` is the base of the project's factories (tests/factories/, one module per domain).
`await UserFactory.create_async()` adds a row with the harness's session factory: the row is
flushed and committed inside the test's savepoint, so the app's requests see it, and it is
gone when the test ends with everything else; a factory never ends the test's transaction.
A foreign key left out is filled with a new row of the table it references, made by that
table's factory (found in tests/factories/<table>.py): `await NoteFactory.create_async()`
makes its author too. Only tests that import a factory load polyfactory.
"""

import importlib
from typing import Any, TypeVar

from polyfactory.factories.sqlalchemy_factory import SQLAASyncPersistence, SQLAlchemyFactory
from polyfactory.persistence import AsyncPersistenceProtocol
from sqlalchemy import Column, inspect

from tests.harness.db.current import running_sessionmaker

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
    def for_table(cls, table: str) -> "type[Factory[Any]]":
        """The factory of the model whose table is `table`, from tests/factories/<table>.py."""
        importlib.import_module(f"tests.factories.{table}")
        for factory in _subclasses(Factory):
            model = getattr(factory, "__model__", None)
            if getattr(model, "__tablename__", None) == table:
                return factory
        raise LookupError(f"No factory of the {table!r} table in tests/factories/{table}.py")

    @classmethod
    async def create_async(cls, **kwargs: Any) -> Model:
        for column, referenced in cls._references_left_out(kwargs):
            referent = await cls.for_table(referenced.table.name).create_async()
            kwargs[column] = getattr(referent, referenced.key)
        return await super().create_async(**kwargs)

    @classmethod
    async def create_batch_async(cls, size: int, **kwargs: Any) -> list[Model]:
        if not cls._references_left_out(kwargs):
            return await super().create_batch_async(size, **kwargs)
        return [await cls.create_async(**kwargs) for _ in range(size)]  # a referent per row

    @classmethod
    def _references_left_out(cls, kwargs: dict[str, Any]) -> list[tuple[str, Column[Any]]]:
        """(attribute, referenced column) of each foreign key that `kwargs` does not give."""
        return [
            (column.key, foreign_key.column)
            for column in inspect(cls.__model__).columns
            for foreign_key in column.foreign_keys
            if column.key not in kwargs
        ]

    @classmethod
    def _get_async_persistence(cls) -> AsyncPersistenceProtocol[Model]:
        session = running_sessionmaker()()
        return SQLAASyncPersistence(session, cleanup_callback=session.close)


def _subclasses(factory: type[Factory[Any]]) -> list[type[Factory[Any]]]:
    found = []
    for subclass in factory.__subclasses__():
        found += [subclass, *_subclasses(subclass)]
    return found
