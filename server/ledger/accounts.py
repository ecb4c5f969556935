"""Account documents: one per user plus the system treasury."""

from ..kernel.clock import utcnow
from ..kernel.views import document_view
from .models import Account

TREASURY_ID = "treasury"
GENESIS_HASH = "0" * 64


def new_account(owner_id, username, currency, kind="user"):
    now = utcnow()
    return {
        "owner_id": owner_id,
        "username": username,
        "kind": kind,
        "currency": currency,
        "balance": 0,
        # Head of this account's posting hash chain, and its length.
        "head_hash": GENESIS_HASH,
        "posting_count": 0,
        "created_at": now,
        "updated_at": now,
    }


def account_view(account_id, doc):
    return document_view(Account, doc, id=account_id)
