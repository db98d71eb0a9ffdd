"""Types the domains' APIs share: row ids and paging in plain digits within 64 bits, and
timestamps in UTC. Generated domains use them (docs/domains.md); src/users/ predates them."""

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

MAX_BIGINT = 2**63 - 1  # ids and offsets beyond a 64-bit integer are refused (422)
# The range of an integer in a JSON body (I-JSON, RFC 7493): what every JSON reader holds
# exactly, including those that read numbers as doubles (JavaScript, many schema tools), which
# would turn 2**63 - 1 into 2**63.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_PAGE_SIZE = 100


def _plain_digits(value: object) -> object:
    # Python would also read " 6", "+6", "6_0" or non-ASCII digits as integers; the schema
    # says integer, so only what JSON Schema calls one gets through.
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("must be a whole number written in plain digits")
    return value


# After Path/Query, or their bounds drop out of the OpenAPI schema.
PLAIN_DIGITS = BeforeValidator(_plain_digits)
RowId = Annotated[int, Path(ge=1, le=MAX_BIGINT), PLAIN_DIGITS]
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE), PLAIN_DIGITS]
PageOffset = Annotated[int, Query(ge=0, le=MAX_BIGINT), PLAIN_DIGITS]


def _text_only(value: object) -> object:
    # JSON has no dates, times or UUIDs: they arrive as strings, and only strings are read as
    # them (pydantic would also read a number as a Unix time, which the schema does not offer).
    if not isinstance(value, str):
        raise ValueError("must be a string")  # noqa: TRY004 (pydantic reports ValueError)
    return value


# Before a date, datetime or UUID type: only its text form is accepted.
TEXT_ONLY = BeforeValidator(_text_only)


def _number_only(value: object) -> object:
    # A JSON number, as the schema says: not a string of digits or a boolean. 3.0 is an
    # integer to JSON Schema, and is read as 3; 3.5 is refused by the int type after this.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")  # noqa: TRY004 (pydantic reports ValueError)
    return value


# Before an int or float type: only a JSON number is accepted.
NUMBER_ONLY = BeforeValidator(_number_only)


def _as_utc(value: datetime) -> datetime:
    # SQLite stores timestamps without their offset (CURRENT_TIMESTAMP is UTC); PostgreSQL
    # answers in the session's time zone. The API gives UTC, with its offset, either way.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# A timestamp the API answers with.
UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
# A timestamp the API accepts: its offset is required, and it is stored in UTC (SQLite keeps
# no offset, so a local time would otherwise read back as UTC).
AwareUtcDatetime = Annotated[AwareDatetime, AfterValidator(_as_utc)]
