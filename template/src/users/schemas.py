from typing import Annotated, Any, Self

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from src.api_types import LINE_PATTERN, NFC_DESCRIPTION, UtcDatetime, in_nfc
from src.users.models import NAME_MAX_LENGTH

Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=NAME_MAX_LENGTH,
        pattern=LINE_PATTERN,
        description=NFC_DESCRIPTION,
    ),
    in_nfc(NAME_MAX_LENGTH),
]

# RFC 5321's limit on an address in a mail path.
SMTP_MAX_LENGTH = 254


def _canonical_email(address: str) -> str:
    """One spelling per mailbox: ASCII (internationalised domains in their xn-- form), lower case.

    What the OpenAPI `email` format (RFC 5321's Mailbox) allows is accepted, so that clients
    generating addresses from the schema get them accepted: test domains (ann@shop.test),
    single-label domains, quoted local parts, address literals. Only the names reserved for
    what can never receive mail are refused (.invalid, .local, .localhost, .onion, .arpa).

    Letter case is ignored: addresses are stored in lower case, which the database enforces too
    (see User.__table_args__), so its unique constraint covers every spelling.
    """
    try:
        validated = validate_email(
            address,
            check_deliverability=False,
            test_environment=True,  # accepts .test, and checks no DNS
            globally_deliverable=False,
            allow_quoted_local=True,
            allow_domain_literal=True,
        )
    except EmailNotValidError as error:
        raise ValueError(f"value is not a valid email address: {error}") from None
    if validated.ascii_email is None:
        raise ValueError("the part before the @ must be ASCII")
    return validated.ascii_email.lower()


Email = Annotated[
    str,
    Field(max_length=SMTP_MAX_LENGTH, json_schema_extra={"format": "email"}),
    AfterValidator(_canonical_email),
]


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
