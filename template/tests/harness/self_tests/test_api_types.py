"""The types the domains' APIs share (src/api_types.py): ids and paging in plain digits within
64 bits, with their bounds in the OpenAPI schema; JSON numbers and strings taken only as such;
timestamps answered and stored in UTC."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter, ValidationError

from src.api_types import (
    MAX_BIGINT,
    MAX_PAGE_SIZE,
    NUMBER_ONLY,
    TEXT_ONLY,
    AwareUtcDatetime,
    PageLimit,
    PageOffset,
    RowId,
    UtcDatetime,
)

ROW_ID = TypeAdapter(RowId)
PAGE_LIMIT = TypeAdapter(PageLimit)
PAGE_OFFSET = TypeAdapter(PageOffset)
WHOLE_NUMBER = TypeAdapter(Annotated[int, NUMBER_ONLY])
TIMESTAMP_TEXT = TypeAdapter(Annotated[datetime, TEXT_ONLY])
ANSWERED = TypeAdapter(UtcDatetime)
ACCEPTED = TypeAdapter(AwareUtcDatetime)


def refused(adapter: TypeAdapter[Any], value: object) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return True
    return False


@pytest.mark.parametrize("text", ["6", "0006", str(MAX_BIGINT)])
def test_an_id_in_plain_digits_within_64_bits_is_read(text: str) -> None:
    assert ROW_ID.validate_python(text) == int(text)


@pytest.mark.parametrize(
    "text",
    [" 6", "6 ", "+6", "6_0", "\u0666", "6.0", "0x6", "", "0", "-1", str(MAX_BIGINT + 1)],
)
def test_an_id_written_otherwise_or_out_of_range_is_refused(text: str) -> None:
    # Python's int() reads " 6", "+6", "6_0" and Arabic-Indic digits; the schema's integer does not.
    assert refused(ROW_ID, text)


@pytest.mark.parametrize(
    ("adapter", "lowest", "highest"),
    [(PAGE_LIMIT, 1, MAX_PAGE_SIZE), (PAGE_OFFSET, 0, MAX_BIGINT)],
    ids=["limit", "offset"],
)
def test_paging_is_read_within_its_bounds_only(
    adapter: TypeAdapter[int], lowest: int, highest: int
) -> None:
    assert adapter.validate_python(str(lowest)) == lowest
    assert adapter.validate_python(str(highest)) == highest
    assert refused(adapter, str(lowest - 1))
    assert refused(adapter, str(highest + 1))
    assert refused(adapter, f"+{lowest}")


def test_the_bounds_are_in_the_openapi_schema() -> None:
    app = FastAPI()

    @app.get("/rows/{row_id}")
    async def read(row_id: RowId, limit: PageLimit = 10, offset: PageOffset = 0) -> int:
        return row_id

    parameters = app.openapi()["paths"]["/rows/{row_id}"]["get"]["parameters"]
    bounds = {p["name"]: (p["schema"]["minimum"], p["schema"]["maximum"]) for p in parameters}

    assert bounds == {
        "row_id": (1, MAX_BIGINT),
        "limit": (1, MAX_PAGE_SIZE),
        "offset": (0, MAX_BIGINT),
    }


def test_a_number_field_takes_json_numbers_only() -> None:
    assert WHOLE_NUMBER.validate_python(3) == 3
    assert WHOLE_NUMBER.validate_python(3.0) == 3  # an integer to JSON Schema
    for value in ("3", True, None, 3.5):
        assert refused(WHOLE_NUMBER, value), value


def test_a_timestamp_field_takes_text_only() -> None:
    expected = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    assert TIMESTAMP_TEXT.validate_python("2026-01-02T03:04:05Z") == expected
    assert refused(TIMESTAMP_TEXT, expected.timestamp())  # not a Unix time


def test_timestamps_are_answered_in_utc_with_their_offset() -> None:
    in_utc = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    stored_without_offset = in_utc.replace(tzinfo=None)  # as SQLite gives it back
    in_another_zone = in_utc.astimezone(timezone(timedelta(hours=2)))

    for value in (stored_without_offset, in_another_zone):
        answered = ANSWERED.validate_python(value)
        assert answered == in_utc
        assert answered.tzinfo is UTC


def test_an_accepted_timestamp_needs_its_offset_and_is_kept_in_utc() -> None:
    accepted = ACCEPTED.validate_python("2026-01-02T05:04:05+02:00")

    assert accepted == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert accepted.tzinfo is UTC
    assert refused(ACCEPTED, "2026-01-02T05:04:05")  # a local time would read back as UTC
