"""Rules for the text fields of every domain: one line of visible text, one spelling.

`LINE_PATTERN` accepts no control or format characters anywhere and no whitespace at either
end. It is a pattern, not a silent strip, so that the OpenAPI schema says exactly what the API
accepts and a client generating requests from it only sends what is accepted. `in_nfc` stores
the text in Unicode normalization form C: "é" typed as e + U+0301 becomes the one character
U+00E9, so equal-looking names are equal strings.
"""

import unicodedata
from itertools import chain

from pydantic import AfterValidator

NFC_DESCRIPTION = "Stored in Unicode normalization form C (NFC)."
# Format characters (category Cf) exist on these planes only (0, 1 and 14); a test of the
# running Python's tables (tests/harness/test_text.py) checks that the others still have none.
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
