"""Request and response models of users and sessions (they also feed the OpenAPI document)."""

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from ..common import StrictModel, normalize_username
from ..ledger.models import Account


def _password_bytes(value: str) -> str:
    size = len(value.encode("utf-8"))
    if not 8 <= size <= 72:
        raise ValueError("password must be 8-72 bytes in UTF-8")
    return value


class Credentials(StrictModel):
    username: str = Field(description="3-32 of [a-z0-9_]; compared case-insensitively.",
                          examples=["alice"])
    password: str = Field(description="8-72 bytes in UTF-8.", examples=["correct horse"])

    _username = field_validator("username")(normalize_username)
    _password = field_validator("password")(_password_bytes)


class FirebaseSignIn(StrictModel):
    id_token: str = Field(min_length=1, max_length=16_384, description="A Firebase Auth ID token.")
    username: str | None = Field(default=None, description=(
        "Required the first time this Firebase user comes: 3-32 of [a-z0-9_]."), examples=["alice"])

    @field_validator("username")
    @classmethod
    def _username(cls, value):
        return None if value is None else normalize_username(value)


class PasswordChange(StrictModel):
    # Any string up to bcrypt's 72 bytes: a wrong one is 401, not 422.
    current_password: str = Field(min_length=1, max_length=72)
    new_password: str = Field(description="8-72 bytes in UTF-8.")

    _new_password = field_validator("new_password")(_password_bytes)


class CustomToken(BaseModel):
    custom_token: str = Field(description="A Firebase custom token whose uid is the caller's user id.")


class User(BaseModel):
    id: str
    username: str
    role: Literal["user", "admin"]
    created_at: str




class Session(BaseModel):
    user: User
    token: str
    expires_at: str


class Me(BaseModel):
    user: User
    account: Account
