"""Rules for what users type: usernames and free text."""

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

USERNAME_PATTERN = re.compile(r"^[a-z0-9_]{3,32}$")
# What a client may send: the input is lower-cased first, so A-Z pass too, and
# U+212A KELVIN SIGN, the one other character whose lower case is in [a-z0-9_].
USERNAME_INPUT_PATTERN = r"^[A-Za-z0-9_\u212a]{3,32}$"


def is_username(value) -> bool:
    """A stored or normalised name follows the rule: the whole string (Python's `$` also
    matches before a final newline, so only fullmatch checks the whole string)."""
    return isinstance(value, str) and USERNAME_PATTERN.fullmatch(value) is not None


def normalize_username(value: str) -> str:
    """Lower-cases first, as the contract says, then checks the alphabet and length."""
    value = value.lower()
    if not is_username(value):
        raise ValueError("username must be 3-32 characters of a-z, 0-9 and _")
    return value


# Case-insensitive; normalised to lower case.
Username = Annotated[str, AfterValidator(normalize_username), WithJsonSchema(
    {"type": "string", "pattern": USERNAME_INPUT_PATTERN, "minLength": 3, "maxLength": 32})]


# Categories that show nothing on screen: whitespace (Z*), controls (Cc), format (Cf, e.g. U+200B).
_INVISIBLE = {"Zs", "Zl", "Zp", "Cc", "Cf"}


def check_text(value: str) -> str:
    """User text is kept as sent; only blank or unencodable (lone surrogates) text is refused."""
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        raise ValueError("text must not contain lone surrogates")
    if all(ch.isspace() or unicodedata.category(ch) in _INVISIBLE for ch in value):
        raise ValueError("text must not be blank")
    return value


# check_text's rule as a regular expression for the OpenAPI document, over code point
# ranges (scanning all of Unicode at start-up takes a second; a test checks them
# against unicodedata, and fails when a new Python brings a new Unicode version):
# isspace() or a category in _INVISIBLE.
INVISIBLE_RANGES = (
    (0x0000, 0x0020), (0x007f, 0x00a0), (0x00ad, 0x00ad), (0x0600, 0x0605), (0x061c, 0x061c),
    (0x06dd, 0x06dd), (0x070f, 0x070f), (0x0890, 0x0891), (0x08e2, 0x08e2), (0x1680, 0x1680),
    (0x180e, 0x180e), (0x2000, 0x200f), (0x2028, 0x202f), (0x205f, 0x2064), (0x2066, 0x206f),
    (0x3000, 0x3000), (0xfeff, 0xfeff), (0xfff9, 0xfffb), (0x110bd, 0x110bd), (0x110cd, 0x110cd),
    (0x13430, 0x13438), (0x1bca0, 0x1bca3), (0x1d173, 0x1d17a), (0xe0001, 0xe0001), (0xe0020, 0xe007f),
)


def char_class(ranges):
    """The inside of a regex character class: \\uXXXX escapes in the BMP (ECMA-262 and
    Python agree on them), the character itself above it (one code point in both)."""
    def char(code):
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)
    return "".join(char(a) if a == b else f"{char(a)}-{char(b)}" for a, b in ranges)


# At least one visible character (lone surrogates cannot be stated portably: described instead).
VISIBLE_TEXT_PATTERN = f"[^{char_class(INVISIBLE_RANGES)}]"
TEXT_RULES = ("Not blank: at least one character that is not white space, a control or a format "
              "character; no lone surrogates.")


def text_field(max_length, description, check=check_text, pattern=VISIBLE_TEXT_PATTERN):
    """A strict string of 1..max_length characters (code points) that passes `check`,
    documented with `pattern`, the same rule as a regular expression."""
    return Annotated[str, Field(min_length=1, max_length=max_length, description=f"{description} {TEXT_RULES}"),
                     AfterValidator(check), WithJsonSchema(
                         {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": pattern})]


_LINE_BREAKING = {"Cc", "Zl", "Zp"}


def check_single_line(value: str) -> str:
    """check_text, and no control character or line break anywhere (titles, memos)."""
    if any(unicodedata.category(ch) in _LINE_BREAKING for ch in value):
        raise ValueError("text must not contain control characters or line breaks")
    return check_text(value)


# check_single_line's rule as a regular expression (see INVISIBLE_RANGES): no control or
# line-breaking character anywhere, and one visible character.
LINE_BREAKING_RANGES = ((0x0000, 0x001f), (0x007f, 0x009f), (0x2028, 0x2029))
SINGLE_LINE_PATTERN = (f"^[^{char_class(LINE_BREAKING_RANGES)}]*[^{char_class(INVISIBLE_RANGES)}]"
                       f"[^{char_class(LINE_BREAKING_RANGES)}]*$")


def single_line_field(max_length):
    return text_field(max_length, f"1-{max_length} characters, no control characters or line breaks.",
                      check_single_line, SINGLE_LINE_PATTERN)
