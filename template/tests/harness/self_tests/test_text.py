"""The shared text rules (src/api_types.py): no control or format characters, no whitespace at
either end, one spelling (NFC), with a pattern that every regex dialect reads the same."""

import re
import sys
import unicodedata
from typing import Annotated

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from src.api_types import LINE_PATTERN, in_nfc

MAX_LENGTH = 10
Line = TypeAdapter(
    Annotated[
        str, Field(min_length=1, max_length=MAX_LENGTH, pattern=LINE_PATTERN), in_nfc(MAX_LENGTH)
    ]
)
FORMAT_CHARACTERS = [
    chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cf"
]


def accepted(text: str) -> bool:
    try:
        Line.validate_python(text)
    except ValidationError:
        return False
    return True


def test_every_format_character_is_refused_anywhere() -> None:
    # All of them, as this Python's Unicode tables list them: the pattern is read from the
    # same tables, on the planes that have them; a new plane with one would fail here.
    assert len(FORMAT_CHARACTERS) > 150
    refused = [char for char in FORMAT_CHARACTERS if not accepted(f"a{char}b")]

    assert [f"U+{ord(c):04X}" for c in FORMAT_CHARACTERS if c not in refused] == []


@pytest.mark.parametrize(
    "text",
    ["\u200b", "\u200b\u200b", "a\u202eb", "\ufeffname", "name\u00ad", "a\U000e0041b"],
    ids=["zero-width-space", "only-invisible", "rtl-override", "bom", "soft-hyphen", "tag"],
)
def test_invisible_characters_are_refused(text: str) -> None:
    assert not accepted(text)


def test_visible_text_in_any_script_is_accepted() -> None:
    for text in ["Zoë", "名前 🙂", "a b", "Łódź-1"]:
        assert accepted(text), text


def test_text_is_stored_in_nfc() -> None:
    decomposed = "Zoe\u0308"  # e + combining diaeresis

    assert Line.validate_python(decomposed) == "Zo\u00eb"


def test_text_that_grows_past_the_limit_under_nfc_is_refused() -> None:
    # U+0958 is one character that NFC writes as two (a composition exclusion).
    grows = "\u0958" * MAX_LENGTH
    assert len(unicodedata.normalize("NFC", grows)) > MAX_LENGTH

    with pytest.raises(ValidationError, match="in Unicode NFC"):
        Line.validate_python(grows)


def test_the_pattern_reads_the_same_in_python_regex() -> None:
    # pydantic checks the pattern with its Rust engine; schemathesis and other generators
    # read it with Python's `re`: both must agree on what it refuses.
    python_pattern = re.compile(LINE_PATTERN)
    for char in FORMAT_CHARACTERS:
        assert not python_pattern.match(f"a{char}b"), f"U+{ord(char):04X}"
    assert python_pattern.match("Zoë")
