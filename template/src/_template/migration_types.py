"""How alembic writes the app's own column types into a migration."""

from typing import Any, Literal

from alembic.autogenerate.api import AutogenContext
from sqlalchemy import TypeDecorator, make_url


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """A column type of the app's own (a TypeDecorator, such as a generated domain's
    ExactDecimal) is written into a migration as the SQLAlchemy types it stands for on
    PostgreSQL and on SQLite: alembic would write its module's path, without importing it, and
    a migration must not import the app's code anyway, which changes after it."""
    if kind != "type" or not isinstance(item, TypeDecorator):
        return False  # alembic's own rendering
    on_postgresql, on_sqlite = (
        item.load_dialect_impl(make_url(f"{name}://").get_dialect()())
        for name in ("postgresql", "sqlite")
    )
    if not all(type(t).__module__ == "sqlalchemy.sql.sqltypes" for t in (on_postgresql, on_sqlite)):
        return False  # a dialect's own type: alembic's rendering, to review by hand
    prefix = autogen_context.opts["sqlalchemy_module_prefix"]
    rendered = f"{prefix}{on_postgresql!r}"
    if repr(on_sqlite) != repr(on_postgresql):
        rendered += f'.with_variant({prefix}{on_sqlite!r}, "sqlite")'
    return rendered
