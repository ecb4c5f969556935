"""Request and response models of the operator's audit endpoints."""

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from ..kernel.models import Timestamp
from ..kernel.paging import ListQuery, page_model

# RFC 3339 date-time with a mandatory offset ("Z" or +hh:mm); nothing looser.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def parse_rfc3339(value):
    """A timezone-aware UTC datetime from an RFC 3339 string; ValueError otherwise."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time with a time zone, e.g. 2024-05-01T12:00:00Z")
    text = value.upper().replace(" ", "T")
    date_part, dot, rest = text.partition(".")
    if dot:  # Python keeps microseconds; drop extra digits of nanoseconds.
        digits = re.match(r"\d+", rest).group(0)
        text = f"{date_part}.{digits[:6].ljust(6, '0')}{rest[len(digits):]}"
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:  # e.g. year 1 with a positive offset
        raise ValueError(f"not a valid date-time: {exc}") from None


Rfc3339 = Annotated[dt.datetime, BeforeValidator(parse_rfc3339)]

_FILTERS = ("action", "actor", "target", "since", "until")


def _or_empty(schema):
    """An empty filter is ignored (_blank_is_absent), so the schema admits "" too."""
    schema["anyOf"] = [*schema.pop("anyOf", [{"type": "string"}]), {"type": "string", "maxLength": 0}]


class AuditQuery(ListQuery):
    """Filters of the audit list; all optional, combined with AND. Empty values are ignored."""

    action: str | None = Field(None, max_length=64, pattern=r"^[a-z_]+(\.[a-z_]+)*$",
                               json_schema_extra=_or_empty, description="Exact action, e.g. transfer.create.")
    actor: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_]+$", json_schema_extra=_or_empty,
                              description="A username (case-insensitive; `cli` for operator commands) "
                                          "or a user id (32 lowercase hex characters).")
    target: str | None = Field(None, max_length=300, description="Exact target, e.g. transfers/ID or users/ID.")
    since: Rfc3339 | None = Field(None, json_schema_extra=_or_empty,
                                  description="RFC 3339; events at or after this time.")
    until: Rfc3339 | None = Field(None, json_schema_extra=_or_empty,
                                  description="RFC 3339; events strictly before this time. `until` at or "
                                              "before `since` is an empty window: no events (a rule between "
                                              "two fields that a schema cannot state is not a 422).")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data):
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if not (k in _FILTERS and v in ("", None))}
        return data


class AuditEvent(BaseModel):
    id: str
    at: Timestamp
    actor_id: str | None
    actor_username: str | None
    action: str
    target: str | None
    request_id: str | None
    details: dict[str, Any]


AuditPage = page_model(AuditEvent, "AuditPage")


class Problem(BaseModel):
    kind: str = Field(description="e.g. hash_mismatch, chain_broken, posting_missing, balance_mismatch, "
                                  "books_unbalanced, transfer_postings_mismatch, transfer_without_audit, "
                                  "audit_without_transfer.")
    message: str
    documents: list[str] = Field(description="Paths of the documents involved, e.g. postings/ID.")


class VerifyReport(BaseModel):
    ok: bool
    accounts_checked: int
    postings_checked: int
    transfers_checked: int
    audit_events_checked: int
    problems: list[Problem] = Field(description="The first problems found (at most max_problems).")
    problem_count: int = Field(description="All problems found, including those not listed.")
    problems_truncated: bool
    problem_kinds: dict[str, int]
    snapshot_time: str | None = Field(description="The consistent point in time that was verified.")
    elapsed_seconds: float
