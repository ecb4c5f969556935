"""Model bases shared by every domain, the money bound and the one error shape."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, create_model

# Bounds of the contract: 1 <= amount <= 1_000_000_000_00 minor units.
MAX_AMOUNT = 1_000_000_000_00


class StrictModel(BaseModel):
    """Request bodies: unknown fields are refused, strings are not stripped."""

    model_config = ConfigDict(extra="forbid", strict=True)


# Every instant the server answers with (kernel/clock.py: UTC, microseconds, `Z`).
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]

Amount = StrictInt
AmountField = Field(ge=1, le=MAX_AMOUNT, description="Integer minor units (cents).")


class ErrorDetail(BaseModel):
    """One offending field of a 422."""

    field: str = Field(description="The field, dotted for nested ones (`body` for the body as a whole).")
    message: str
    type: str | None = Field(None, description="The kind of rule broken (e.g. `string_too_short`), when known.")


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable, machine-readable (e.g. `validation_error`, `insufficient_funds`).")
    message: str = Field(description="For people; may change.")
    details: list[ErrorDetail] | None = Field(None, description="The offending fields (422 only).")


class ErrorBody(BaseModel):
    """The one error shape of every non-2xx response."""

    error: ErrorInfo


_SCHEMAS = {}


class SchemaCachedModel(BaseModel):
    """For header and query models: flask-openapi3 asks them for their JSON
    schema on every request (about a tenth of a transfer's CPU); it never changes."""

    @classmethod
    def model_json_schema(cls, *args, **kwargs):
        if args or kwargs:  # the spec generator's calls: rare, leave them alone
            return super().model_json_schema(*args, **kwargs)
        if cls not in _SCHEMAS:
            _SCHEMAS[cls] = super().model_json_schema()
        return _SCHEMAS[cls]


def envelope_model(name, field_name, item_model):
    """A response `{field_name: item}` for one item model, e.g. PostEnvelope {"post": Post}."""
    return create_model(name, **{field_name: (item_model, ...)})


class AuthoredText(BaseModel):
    """What every comment and message shares; each adds the id of what it belongs to."""

    id: str
    author_id: str
    author_username: str
    body: str
    created_at: Timestamp
