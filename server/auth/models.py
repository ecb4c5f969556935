"""Request and response models of users and sessions (they also feed the OpenAPI document)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema

from ..kernel.models import StrictModel, Timestamp
from ..kernel.text import Username
from ..ledger.models import Account


def _password_bytes(value: str) -> str:
    size = len(value.encode("utf-8"))
    if not 8 <= size <= 72:
        raise ValueError("password must be 8-72 bytes in UTF-8")
    return value


# JSON Schema counts characters, the rule counts UTF-8 bytes. A character is 1-4
# bytes, so 8-72 bytes is 2-72 characters at the widest: the closest bound the
# schema can state without refusing a valid password; the description says the rest.
Password = Annotated[str, AfterValidator(_password_bytes), WithJsonSchema(
    {"type": "string", "format": "password", "minLength": 2, "maxLength": 72,
     "description": "8-72 bytes in UTF-8 (8-72 ASCII characters; fewer characters outside ASCII)."})]


class Credentials(StrictModel):
    username: Username = Field(description="3-32 of [a-z0-9_] after lower-casing; compared case-insensitively.",
                               examples=["alice"])
    password: Password = Field(examples=["correct horse"])


class FirebaseSignIn(StrictModel):
    id_token: str = Field(min_length=1, max_length=16_384, description="A Firebase Auth ID token.")
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
