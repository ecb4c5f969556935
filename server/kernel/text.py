"""Rules for what users type: usernames and free text."""

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

USERNAME_PATTERN = re.compile(r"^[a-z0-9_]{3,32}$")


def normalize_username(value: str) -> str:
    """Lower-cases first, as the contract says, then checks the alphabet and length."""
    value = value.lower()
    if not USERNAME_PATTERN.match(value):
        raise ValueError("username must be 3-32 characters of a-z, 0-9 and _")
    return value


# Categories that show nothing on screen: whitespace (Z*), controls (Cc), format (Cf, e.g. U+200B).
_INVISIBLE = {"Zs", "Zl", "Zp", "Cc", "Cf"}


def check_text(value: str) -> str:
    """User text is kept as sent; only blank or unencodable (lone surrogates) text is refused."""
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        raise ValueError("text must not contain lone surrogates")
    if all(ch.isspace() or unicodedata.category(ch) in _INVISIBLE for ch in value):
        raise ValueError("text must not be blank")
    return value


def text_field(max_length, description, check=check_text):
    """A strict string of 1..max_length characters (code points) that passes `check`."""
    return Annotated[str, Field(min_length=1, max_length=max_length, description=description),
                     AfterValidator(check)]
