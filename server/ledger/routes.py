"""HTTP routes of the ledger: accounts, transfers, deposits and reversals."""

from flask import current_app

from ..edge.caller import require_admin, require_user
from ..edge.openapi import BEARER, ERRORS, api_blueprint
from ..kernel.caller import requires
from ..kernel.errors import DomainError
from ..kernel.models import ErrorBody
from ..kernel.paging import ListQuery
from .models import (
    Account,
    AccountPage,
    IdempotencyHeader,
    PostingPage,
    ReverseRequest,
    TransferEnvelope,
    TransferPage,
    TransferPath,
    TransferRequest,
)
from .service import Ledger

LEDGER_ERRORS = {**ERRORS, 403: ErrorBody}
MONEY_ERRORS = {409: ErrorBody, 503: ErrorBody}

REPLAYED_HEADER = "Idempotent-Replayed"


def ledger() -> Ledger:
    return current_app.extensions["ledger"]


def _respond(outcome):
    """The HTTP response of a money call's outcome; a replay says so in a header, also on a refusal."""
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else {}
    if outcome.error:
        raise DomainError(outcome.error.status, outcome.error.code, outcome.error.message, headers=headers)
    return outcome.body, outcome.status, headers


bp = api_blueprint("ledger", __name__, security=BEARER, responses=LEDGER_ERRORS)


@bp.get("/accounts/me", responses={200: Account})
@requires("user")
def my_account():
    return ledger().my_account(require_user())


@bp.get("/accounts/me/postings", responses={200: PostingPage})
@requires("user")
def my_postings(query: ListQuery):
    return ledger().list_postings(require_user(), query)


@bp.post("/transfers", responses={201: TransferEnvelope, **MONEY_ERRORS})
@requires("user")
def create_transfer(header: IdempotencyHeader, body: TransferRequest):
    """Moves money from the caller to another user, exactly once per Idempotency-Key."""
    return _respond(ledger().create_transfer(require_user(), header.idempotency_key, body))


@bp.get("/transfers", responses={200: TransferPage})
@requires("user")
def list_transfers(query: ListQuery):
    return ledger().list_transfers(require_user(), query)


@bp.get("/transfers/<transfer_id>", responses={200: TransferEnvelope})
@requires("user")
def get_transfer(path: TransferPath):
    return ledger().get_transfer(require_user(), path.transfer_id)


admin_bp = api_blueprint("ledger_admin", __name__, "admin", admin=True, security=BEARER, responses=LEDGER_ERRORS)


@admin_bp.post("/deposits", responses={201: TransferEnvelope, **MONEY_ERRORS})
@requires("admin")
def create_deposit(header: IdempotencyHeader, body: TransferRequest):
    """Issues money from the treasury to a user."""
    return _respond(ledger().create_deposit(require_admin(), header.idempotency_key, body))


@admin_bp.post("/transfers/<transfer_id>/reverse", responses={201: TransferEnvelope, **MONEY_ERRORS})
@requires("admin")
def reverse_transfer(path: TransferPath, header: IdempotencyHeader, body: ReverseRequest):
    """Moves the money back in a new transfer; the original becomes `reversed`."""
    return _respond(ledger().reverse_transfer(require_admin(), header.idempotency_key, path.transfer_id,
                                              body.reason))


@admin_bp.get("/accounts", responses={200: AccountPage})
@requires("admin")
def list_accounts(query: ListQuery):
    require_admin()
    return ledger().list_accounts(query)
