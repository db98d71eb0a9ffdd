from datetime import UTC, datetime
from typing import Annotated, Any, Self

from email_validator import validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from src.users.models import NAME_MAX_LENGTH

# No control characters anywhere, no whitespace at either end. Written as a pattern, not
# stripped silently, so that the OpenAPI schema says exactly what the API accepts.
_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f]"
_PRINTABLE = r"[^\x00-\x1f\x7f-\x9f]"
NAME_PATTERN = rf"^{_VISIBLE}(?:{_PRINTABLE}*{_VISIBLE})?$"

Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH, pattern=NAME_PATTERN)]


def _canonical_email(address: str) -> str:
    """One spelling per mailbox: ASCII (internationalised domains in their xn-- form), lower case.

    Letter case is ignored: addresses are stored in lower case, which the database enforces too
    (see User.__table_args__), so its unique constraint covers every spelling.
    """
    ascii_address = validate_email(address, check_deliverability=False).ascii_email
    if ascii_address is None:
        raise ValueError("the part before the @ must be ASCII")
    return ascii_address.lower()


Email = Annotated[EmailStr, AfterValidator(_canonical_email)]


def _as_utc(value: datetime) -> datetime:
    # SQLite returns naive timestamps (its CURRENT_TIMESTAMP is UTC); the API always gives an
    # offset, as the OpenAPI `date-time` format requires.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    name: Name


def _update_schema(schema: dict[str, Any]) -> None:
    # `null` is refused (see UserUpdate), so the OpenAPI schema must not offer it either.
    schema["minProperties"] = 1
    for field, definition in schema["properties"].items():
        (accepted,) = [kind for kind in definition.pop("anyOf") if kind != {"type": "null"}]
        definition.pop("default")
        schema["properties"][field] = definition | accepted


class UserUpdate(BaseModel):
    """The fields to change: at least one, none of them null (a missing field stays as it is)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_update_schema)

    email: Email | None = None
    name: Name | None = None

    @field_validator("email", "name", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must not be null; leave the field out to keep its value")
        return value

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: Email
    name: str
    created_at: UtcDatetime
