"""Request and response models of users and sessions (they also feed the OpenAPI document)."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, WithJsonSchema, field_validator

from ..common import StrictModel, Username
from ..ledger.models import Account

# JSON Schema counts characters, the rule counts UTF-8 bytes. A character is 1-4
# bytes, so 8-72 bytes is 2-72 characters at the widest: the closest bound the
# schema can state without refusing a valid password; the description says the rest.
Password = Annotated[str, WithJsonSchema(
    {"type": "string", "format": "password", "minLength": 2, "maxLength": 72})]


class Credentials(StrictModel):
    username: Username = Field(description="3-32 of [a-z0-9_] after lower-casing; compared case-insensitively.",
                               examples=["alice"])
    password: Password = Field(description="8-72 bytes in UTF-8 (8-72 ASCII characters; fewer "
                                           "characters outside ASCII).", examples=["correct horse"])

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
