"""Request and response models of the operator's audit endpoints."""

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..kernel.ids import DocId
from ..kernel.models import SchemaCachedModel, Timestamp
from ..kernel.paging import ListQuery, page_model

# RFC 3339 date-time with a mandatory offset ("Z" or +hh:mm); nothing looser.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def parse_rfc3339(value):
    """A timezone-aware UTC datetime from an RFC 3339 string; ValueError otherwise."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
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


class _Window(BaseModel):
    """What a query with `since` and `until` shares: empty values are absent; a window that
    ends before it starts is empty (not an error: nothing happened in it)."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data):
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if not (k in _FILTERS and v in ("", None))}
        return data

    @property
    def empty_window(self):
        return self.since is not None and self.until is not None and self.since >= self.until


class AuditFilters(_Window):
    """Filters of the audit list and its export; all optional, combined with AND. Empty values are ignored."""

    action: str | None = Field(None, max_length=64, pattern=r"^[a-z_]+(\.[a-z_]+)*$",
                               json_schema_extra=_or_empty, description="Exact action, e.g. transfer.create.")
    actor: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_]+$", json_schema_extra=_or_empty,
                              description="A username (case-insensitive; `cli` for operator commands) "
                                          "or a user id (32 lowercase hex characters).")
    target: str | None = Field(None, max_length=300, description="Exact target, e.g. transfers/ID or users/ID.")
    since: Rfc3339 | None = Field(None, json_schema_extra=_or_empty,
                                  description="RFC 3339; events at or after this time.")
    until: Rfc3339 | None = Field(None, json_schema_extra=_or_empty,
                                  description="RFC 3339; events strictly before this time "
                                              "(not after `since`: no events).")


class AuditQuery(ListQuery, AuditFilters):
    """Filters of the audit list; all optional, combined with AND. Empty values are ignored."""


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


# ---- Export ---------------------------------------------------------------------

class AuditExportQuery(SchemaCachedModel, AuditFilters):
    """The list's filters (the same semantics), and the file format; no paging."""

    model_config = ConfigDict(extra="ignore")

    format: Literal["jsonl", "csv"] = Field("jsonl", description="JSON Lines (one AuditEvent a line) or CSV.")


# ---- Verify runs ------------------------------------------------------------------

class VerifyRun(BaseModel):
    """A finished run of the verifier, kept as the last one."""

    finished_at: str
    by: str | None = Field(description="Who ran it: an admin's username, or `cli`.")
    report: VerifyReport


# ---- Dashboard statistics -----------------------------------------------------------

BUCKET_SECONDS = {"minute": 60, "hour": 3600}
MAX_BUCKETS = 1440


class StatsQuery(SchemaCachedModel, _Window):
    """A window [since, until) cut into buckets from since on. Defaults: until now, 60 minutes or
    24 hours back."""

    model_config = ConfigDict(extra="ignore")

    bucket: Literal["minute", "hour"] = Field("minute", description=(
        f"Bucket size. A window of more than {MAX_BUCKETS} buckets is cut to its last {MAX_BUCKETS} (the "
        "answer's `since` says where it starts); one that ends before it starts has none."))
    since: Rfc3339 | None = Field(None, json_schema_extra=_or_empty, description="RFC 3339; window start (inclusive).")
    until: Rfc3339 | None = Field(None, json_schema_extra=_or_empty, description="RFC 3339; window end (exclusive).")


class StatsTotals(BaseModel):
    money_issued: int = Field(description="Minus the treasury's balance: all money deposited, less reversed deposits.")
    in_circulation: int = Field(description="The sum of all user balances (money_issued when the books balance).")
    accounts: int = Field(description="Accounts, the treasury included.")
    users: int
    currency: str


class BucketCounts(BaseModel):
    start: str = Field(description="RFC 3339; the bucket covers [start, start + bucket).")
    transfers: int = Field(description="transfer.create events.")
    volume: int = Field(description="Sum of their amounts (minor units).")
    deposits: int
    deposited: int = Field(description="Sum of deposit amounts.")
    reversals: int
    insufficient_funds: int = Field(description="Transfers and reversals refused with 409 insufficient_funds.")
    conflicts: int = Field(description="Reversals refused with 409 conflict (already reversed).")
    login_failures: int = Field(description="user.login_failed events (401).")
    new_users: int = Field(description="user.signup events.")
    uploads: int = Field(description="photo.create events.")
    messages: int = Field(description="message.create events.")
    posts: int = Field(description="post.create events.")


class StatsReport(BaseModel):
    since: str
    until: str
    bucket: Literal["minute", "hour"]
    totals: StatsTotals
    buckets: list[BucketCounts] = Field(description="Every bucket of the window, oldest first, empty ones included.")
    not_recorded: list[str] = Field(description="Refusals the server keeps no record of, so not counted here: "
                                                "429 rate_limited and 503 unavailable.")


# ---- Account statement ---------------------------------------------------------------

class StatementAccountPath(BaseModel):
    account_id: DocId


class StatementTransfer(BaseModel):
    id: str
    kind: Literal["transfer", "deposit", "reversal"]
    status: Literal["posted", "reversed"]
    from_account: str
    to_account: str
    from_username: str
    to_username: str
    amount: int
    memo: str | None
    reverses: str | None
    reversed_by: str | None
    created_at: str


class StatementLine(BaseModel):
    id: str
    seq: int
    transfer_id: str
    amount: int = Field(description="Signed: negative for a debit.")
    balance_after: int = Field(description="The running balance after this posting.")
    created_at: str
    hash: str
    prev_hash: str
    hash_ok: bool = Field(description="The stored hash is the hash of the posting's content.")
    link_ok: bool | None = Field(description="prev_hash is the previous posting's hash (None: the previous "
                                             "posting is missing).")
    balance_ok: bool | None = Field(description="balance_after is the previous balance_after plus amount.")
    transfer: StatementTransfer | None = Field(description="The transfer that made the posting (None: missing).")


class StatementAccount(BaseModel):
    id: str
    owner_id: str | None
    username: str
    kind: str | None
    currency: str
    balance: int
    posting_count: int
    head_hash: str
    updated_at: str


class Statement(BaseModel):
    account: StatementAccount
    head_ok: bool = Field(description="The newest posting's hash is the account's head_hash and its "
                                      "balance_after the account's balance (only on the first page).")
    items: list[StatementLine] = Field(description="Postings, newest first.")
    next_cursor: str | None
