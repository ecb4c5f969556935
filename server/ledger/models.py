"""Request and response models of the ledger."""

from typing import Literal

from pydantic import BaseModel, Field

from ..kernel.ids import DocId
from ..kernel.models import MAX_AMOUNT, SchemaCachedModel, StrictModel, Timestamp
from ..kernel.paging import page_model
from ..kernel.text import Username, single_line_field


class Account(BaseModel):
    id: str
    owner_id: str | None
    username: str
    currency: str
    balance: int = Field(description="Integer minor units.")
    updated_at: Timestamp


class Transfer(BaseModel):
    id: str
    from_account: str
    to_account: str
    from_username: str
    to_username: str
    amount: int
    currency: str
    memo: str | None
    kind: Literal["transfer", "deposit", "reversal"]
    status: Literal["posted", "reversed"]
    reverses: str | None
    created_at: Timestamp


class Posting(BaseModel):
    id: str
    account_id: str
    transfer_id: str
    amount: int = Field(description="Signed: negative for a debit.")
    balance_after: int
    created_at: Timestamp
    hash: str


class TransferEnvelope(BaseModel):
    transfer: Transfer


# Free text like every other text field: not blank, no control characters (API.md, small rules).
Memo = single_line_field(140)


class TransferRequest(StrictModel):
    to: Username = Field(description="Recipient username (case-insensitive).", examples=["bob"])
    amount: int = Field(ge=1, le=MAX_AMOUNT, examples=[1250],
                        description="Integer minor units (cents), as a JSON integer: 1.0 is refused.")
    memo: Memo | None = Field(None, examples=["lunch"])


class ReverseRequest(StrictModel):
    reason: str = Field(min_length=1, max_length=500, examples=["sent to the wrong person"])


# The value as the app sees it: HTTP servers drop the spaces around a header value
# (they are not part of it, RFC 9110 5.5), so it neither starts nor ends with one.
IDEMPOTENCY_KEY_VALUE = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"


class IdempotencyHeader(SchemaCachedModel):
    """Required on every money-moving POST: 1-255 printable ASCII characters."""

    idempotency_key: str = Field(alias="Idempotency-Key", min_length=1, max_length=255,
                                 pattern=r"^[\x20-\x7e]+$", json_schema_extra={"pattern": IDEMPOTENCY_KEY_VALUE})


class TransferPath(BaseModel):
    transfer_id: DocId


AccountPage = page_model(Account, "AccountPage")
TransferPage = page_model(Transfer, "TransferPage")
PostingPage = page_model(Posting, "PostingPage")
