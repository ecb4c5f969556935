"""Request and response models of users and sessions (they also feed the OpenAPI document)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema

from ..kernel.models import StrictModel, Timestamp
from ..kernel.text import Username
from ..ledger.models import Account

MIN_PASSWORD_BYTES = 8
MAX_PASSWORD_CHARACTERS = 72
MAX_PASSWORD_BYTES = 72


def _password_rule(value: str) -> str:
    # The contract: 8-72 bytes in UTF-8 (bcrypt reads 72 bytes, no more).
    if not MIN_PASSWORD_BYTES <= len(value.encode("utf-8")) <= MAX_PASSWORD_BYTES:
        raise ValueError(f"password must be {MIN_PASSWORD_BYTES}-{MAX_PASSWORD_BYTES} bytes in UTF-8")
    return value


def at_least_bytes_pattern(n):
    """A regular expression for "at least n bytes in UTF-8", for JSON Schema, which counts
    characters. A string's UTF-8 size is its length plus one for each character from
    U+0080, one more for each from U+0800 and one more for each from U+10000: an
    alternation of the minimal (at least k1, k2, k3 such characters, at least m in all)
    lookaheads whose sum reaches n."""
    wider = (r"\x7f", r"\u07ff", r"\uffff")
    options = set()
    for k1 in range(n + 1):
        for k2 in range(k1 + 1):
            for k3 in range(k2 + 1):
                if k1 + k2 + k3 <= n:
                    options.add((k1, k2, k3, max(k1, n - k1 - k2 - k3, 1)))
    minimal = sorted(o for o in options if not any(p != o and all(p[i] <= o[i] for i in range(4)) for p in options))
    alternatives = []
    for *counts, total in minimal:
        parts = [rf"(?=[\s\S]{{{total}}})"]
        parts += [rf"(?=(?:[\x00-{top}]*[^\x00-{top}]){{{k}}})" for top, k in zip(wider, counts, strict=True) if k]
        alternatives.append("".join(parts))
    return f"^(?:{'|'.join(alternatives)})"


# JSON Schema counts characters: 2-72 of them, at least 8 bytes in UTF-8 (the pattern); the
# 72-byte upper bound is a rule no pattern states simply, so the description says it.
Password = Annotated[str, AfterValidator(_password_rule), WithJsonSchema(
    {"type": "string", "format": "password", "minLength": 2, "maxLength": MAX_PASSWORD_CHARACTERS,
     "pattern": at_least_bytes_pattern(MIN_PASSWORD_BYTES),
     "description": f"{MIN_PASSWORD_BYTES}-{MAX_PASSWORD_BYTES} bytes in UTF-8 (8-72 ASCII characters; "
                    "fewer characters outside ASCII)."}),
    Field(max_length=MAX_PASSWORD_CHARACTERS)]


class Credentials(StrictModel):
    username: Username = Field(description="3-32 of [a-z0-9_] after lower-casing; compared case-insensitively.",
                               examples=["alice"])
    password: Password = Field(examples=["correct horse"])


class FirebaseSignIn(StrictModel):
    # A JWT is base64url and dots: one byte a character, so 16384 of them stay within the
    # 64 KiB body limit however a client escapes them (a fuzzer's 16384 emoji would not: 413).
    id_token: str = Field(min_length=1, max_length=16_384, pattern=r"^[A-Za-z0-9_.=-]+$",
                          description="A Firebase Auth ID token (a JWT: base64url and dots).")
    username: Username | None = Field(default=None, description=(
        "Required the first time this Firebase user comes: 3-32 of [a-z0-9_] after lower-casing."),
        examples=["alice"])


class PasswordChange(StrictModel):
    # Any string up to bcrypt's 72 bytes: a wrong one is 401, not 422.
    current_password: str = Field(min_length=1, max_length=72)
    new_password: Password


class CustomToken(BaseModel):
    custom_token: str = Field(description="A Firebase custom token whose uid is the caller's user id.")


class User(BaseModel):
    id: str
    username: str
    role: Literal["user", "admin"]
    created_at: Timestamp




class Session(BaseModel):
    user: User
    token: str
    expires_at: Timestamp


class Me(BaseModel):
    user: User
    account: Account
