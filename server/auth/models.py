"""Request and response models of users and sessions (they also feed the OpenAPI document)."""

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from ..common import StrictModel
from ..ledger.models import Account

USERNAME_PATTERN = re.compile(r"^[a-z0-9_]{3,32}$")


def normalize_username(value: str) -> str:
    """Lower-cases first, as the contract says, then checks the alphabet and length."""
    value = value.lower()
    if not USERNAME_PATTERN.match(value):
        raise ValueError("username must be 3-32 characters of a-z, 0-9 and _")
    return value


class Credentials(StrictModel):
    username: str = Field(description="3-32 of [a-z0-9_]; compared case-insensitively.",
                          examples=["alice"])
    password: str = Field(description="8-72 bytes in UTF-8.", examples=["correct horse"])

    _username = field_validator("username")(normalize_username)

    @field_validator("password")
    @classmethod
    def _password_bytes(cls, value: str) -> str:
        size = len(value.encode("utf-8"))
        if not 8 <= size <= 72:
            raise ValueError("password must be 8-72 bytes in UTF-8")
        return value


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
