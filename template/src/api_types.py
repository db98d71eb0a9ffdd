"""Types the domains' APIs share (docs/domains.md): row ids and paging in plain digits within
64 bits, timestamps in UTC, and one line of visible text in one spelling.

`LINE_PATTERN` accepts no control or format characters anywhere and no whitespace at either
end. It is a pattern, not a silent strip, so that the OpenAPI schema says exactly what the API
accepts and a client generating requests from it only sends what is accepted. `in_nfc` stores
the text in Unicode normalization form C: "é" typed as e + U+0301 becomes the one character
U+00E9, so equal-looking names are equal strings.
"""

import re
import unicodedata
from datetime import UTC, datetime
from itertools import chain
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


NFC_DESCRIPTION = "Stored in Unicode normalization form C (NFC)."
# Format characters (category Cf) exist on these planes only (0, 1 and 14); a test of the
# running Python's tables (tests/harness/self_tests/test_text.py) checks that the others still
# have none.
_PLANES_WITH_FORMAT_CHARACTERS = (range(0x20000), range(0xE0000, 0xF0000))
_LAST_FOUR_DIGIT_CODE = 0xFFFF


def _regex_char(code: int) -> str:
    # \uXXXX reads the same in every regex dialect (Python, Rust, ECMA-262); a character past
    # it is written as itself, which every Unicode-aware dialect reads.
    return f"\\u{code:04X}" if code <= _LAST_FOUR_DIGIT_CODE else chr(code)


def _format_characters() -> str:
    """A regex class body of the Unicode format characters of the running Python: invisible
    characters that change how the text around them reads (U+200B zero width space, U+202E
    right-to-left override, U+FEFF byte order mark...)."""
    ranges: list[list[int]] = []
    for code in chain.from_iterable(_PLANES_WITH_FORMAT_CHARACTERS):
        if unicodedata.category(chr(code)) == "Cf":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"{_regex_char(low)}-{_regex_char(high)}" for low, high in ranges)


FORMAT_CHARACTERS = _format_characters()
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_VISIBLE = rf"[^\s{_CONTROLS}{FORMAT_CHARACTERS}]"
_PRINTABLE = rf"[^{_CONTROLS}{FORMAT_CHARACTERS}]"
LINE_PATTERN = rf"^{_VISIBLE}(?:{_PRINTABLE}*{_VISIBLE})?$"


def in_nfc(max_length: int) -> AfterValidator:
    """Normalizes to NFC, and checks `max_length` again: a few characters grow under NFC."""

    def normalize(text: str) -> str:
        normalized = unicodedata.normalize("NFC", text)
        if len(normalized) > max_length:
            raise ValueError(f"must be at most {max_length} characters in Unicode NFC")
        return normalized

    return AfterValidator(normalize)
