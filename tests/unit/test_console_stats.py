"""The dashboard's counting (server/audit/stats.py): windows and buckets, no datastore."""

import datetime as dt

import pytest

from server.audit import stats
from server.audit.models import StatsQuery
from server.kernel.clock import rfc3339

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def at(minutes, seconds=0):
    return T0 + dt.timedelta(minutes=minutes, seconds=seconds)


def test_default_windows_end_now_and_hold_whole_buckets():
    since, until, step = stats.window(StatsQuery(), at(30))
    assert (since, until, step) == (at(-30), at(30), dt.timedelta(minutes=1))
    since, until, step = stats.window(StatsQuery(bucket="hour"), at(30))
    assert until - since == 24 * step == dt.timedelta(hours=24)


def test_a_window_that_starts_after_it_ends_is_empty():
    since, until, _ = stats.window(StatsQuery(since="2026-01-01T13:00:00Z"), at(1))  # after now
    assert since > until and stats.Buckets(since, until, dt.timedelta(minutes=1)).view() == []


@pytest.mark.parametrize("params, step", [({"since": "2025-12-31T12:00:00Z"}, dt.timedelta(minutes=1)),  # 1441 min
                                          ({"since": "2025-11-01T00:00:00Z", "bucket": "hour"}, dt.timedelta(hours=1))])
def test_a_window_of_more_than_1440_buckets_keeps_its_last_1440(params, step):
    since, until, got_step = stats.window(StatsQuery(**params), at(1))
    assert (until, got_step, since) == (at(1), step, at(1) - 1440 * step)


def test_events_and_refusals_land_in_their_buckets_and_the_edges_are_exact():
    since, until, step = at(0), at(3), dt.timedelta(minutes=1)
    events = [("transfer.create", at(0), 100), ("transfer.create", at(0, 59), 50), ("deposit.create", at(2), 1_000),
              ("transfer.create", at(3), 7),  # until is exclusive
              ("transfer.create", at(-1), 7),  # before since
              ("user.signup", at(1), None), ("message.create", at(1), None), ("post.update", at(1), None),
              ("transfer.create", at(1), True)]  # a bool is no amount
    refusals = [("insufficient_funds", at(2)), ("conflict", at(2)), ("idempotency_conflict", at(2))]
    rows = stats.count(events, refusals, since, until, step)
    assert [r["start"] for r in rows] == [rfc3339(at(m)) for m in range(3)]
    assert [(r["transfers"], r["volume"]) for r in rows] == [(2, 150), (1, 0), (0, 0)]
    assert [(r["deposits"], r["deposited"]) for r in rows] == [(0, 0), (0, 0), (1, 1_000)]
    assert [r["new_users"] + r["messages"] for r in rows] == [0, 2, 0]
    assert sum(r["posts"] for r in rows) == 0
    assert [(r["insufficient_funds"], r["conflicts"]) for r in rows] == [(0, 0), (0, 0), (1, 1)]


def test_totals_read_the_treasury_as_money_issued():
    raw = {"treasury_balance": -15_000, "all_balances": 0, "accounts": 4, "users": 3, "currency": None}
    assert stats.totals_view(raw, "EUR") == {"money_issued": 15_000, "in_circulation": 15_000, "accounts": 4,
                                             "users": 3, "currency": "EUR"}
