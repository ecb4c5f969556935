"""The dashboard's numbers: the audit trail (and the ledger's stored refusals) counted per
minute or hour over a window, and the books' totals. Pure counting; the reads are store.py's."""

import datetime as dt

from ..kernel.clock import rfc3339
from .models import BUCKET_SECONDS, MAX_BUCKETS

# Which audit action counts where, and whether its details.amount adds to a sum.
COUNTED_ACTIONS = {
    "transfer.create": ("transfers", "volume"),
    "deposit.create": ("deposits", "deposited"),
    "transfer.reverse": ("reversals", None),
    "user.login_failed": ("login_failures", None),
    "user.signup": ("new_users", None),
    "photo.create": ("uploads", None),
    "message.create": ("messages", None),
    "post.create": ("posts", None),
}
# Refusals the ledger stores with their Idempotency-Key, by error code.
COUNTED_REFUSALS = {"insufficient_funds": "insufficient_funds", "conflict": "conflicts"}
SERIES = ("transfers", "volume", "deposits", "deposited", "reversals", "insufficient_funds", "conflicts",
          "login_failures", "new_users", "uploads", "messages", "posts")
DEFAULT_BUCKETS = {"minute": 60, "hour": 24}
NOT_RECORDED = ["rate_limited", "unavailable"]


def window(query, now):
    """(since, until, step) of a StatsQuery; the buckets start at since (the defaults: a whole
    number of buckets ending now). A window of more than MAX_BUCKETS buckets keeps its last
    MAX_BUCKETS (the answer's since says so); since ≥ until is an empty window."""
    step = dt.timedelta(seconds=BUCKET_SECONDS[query.bucket])
    until = query.until or now
    since = query.since or until - DEFAULT_BUCKETS[query.bucket] * step
    if until - since > MAX_BUCKETS * step:
        since = until - MAX_BUCKETS * step
    return since, until, step


class Buckets:
    def __init__(self, since, until, step):
        self.since, self.step = since, step
        count = -(-(until - since) // step)  # ceiling
        self.rows = [dict.fromkeys(SERIES, 0) for _ in range(count)]

    def add(self, at, name, amount=None):
        if not isinstance(at, dt.datetime):
            return
        index = (at - self.since) // self.step
        if 0 <= index < len(self.rows):
            row = self.rows[index]
            row[name] += 1 if amount is None else amount

    def view(self):
        return [{"start": rfc3339(self.since + i * self.step), **row} for i, row in enumerate(self.rows)]


def count(events, refusals, since, until, step):
    """Bucket rows from (action, at, amount) events and (code, at) refusals."""
    buckets = Buckets(since, until, step)
    for action, at, amount in events:
        counted = COUNTED_ACTIONS.get(action)
        if counted is None:
            continue
        name, total = counted
        buckets.add(at, name)
        if total and isinstance(amount, int) and not isinstance(amount, bool):
            buckets.add(at, total, amount)
    for code, at in refusals:
        if code in COUNTED_REFUSALS:
            buckets.add(at, COUNTED_REFUSALS[code])
    return buckets.view()


def totals_view(raw, default_currency):
    treasury = raw["treasury_balance"]
    return {
        "money_issued": -treasury,
        "in_circulation": raw["all_balances"] - treasury,
        "accounts": raw["accounts"],
        "users": raw["users"],
        "currency": raw["currency"] or default_currency,
    }
