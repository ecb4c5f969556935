"""Request and response models of users and sessions (they also feed the OpenAPI document)."""

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from ..common import StrictModel, normalize_username
from ..ledger.models import Account


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
