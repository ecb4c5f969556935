"""The operator console's API, against the real emulator: the dashboard's statistics,
the filtered export, an account's statement with its chain checks, and the verifier's
streamed run and kept result. (The workload and the tampering come from test_audit.py.)"""

import datetime as dt
import json

import pytest
import test_audit
from test_audit import _edit_posting_amount, _parse_csv

from server.kernel.clock import rfc3339

ADMIN = "/api/v1/admin"
world = test_audit.world  # the same fixture: an app on a project of its own, after a mixed workload


def _get(w, path, **params):
    resp = w.client.get(path, headers={"Authorization": f"Bearer {w.admin}"}, query_string=params)
    return resp


def test_stats_count_the_workload_and_the_totals_match_the_ledger(world):
    since = rfc3339(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30))
    resp = _get(world, f"{ADMIN}/stats", since=since, bucket="minute")
    assert resp.status_code == 200, resp.json
    stats = resp.json
    assert 30 <= len(stats["buckets"]) <= 32
    total = {name: sum(b[name] for b in stats["buckets"]) for name in stats["buckets"][0] if name != "start"}
    assert (total["transfers"], total["volume"]) == (3, 2_500 + 1_000 + 300)
    assert (total["deposits"], total["deposited"], total["reversals"]) == (2, 15_000, 1)
    assert total["insufficient_funds"] == 1
    assert total["new_users"] == 4  # the admin and three users
    assert stats["not_recorded"] == ["rate_limited", "unavailable"]

    accounts = _get(world, f"{ADMIN}/accounts", limit=100).json["items"]
    treasury = next(a for a in accounts if a["owner_id"] is None)
    users = [a for a in accounts if a["owner_id"] is not None]
    assert stats["totals"] == {"money_issued": -treasury["balance"], "in_circulation": sum(a["balance"] for a in users),
                               "accounts": len(accounts), "users": 4, "currency": "USD"}
    assert stats["totals"]["money_issued"] == 15_000

    hourly = _get(world, f"{ADMIN}/stats", bucket="hour").json
    assert len(hourly["buckets"]) in (24, 25)
    assert sum(b["transfers"] for b in hourly["buckets"]) == 3


@pytest.mark.parametrize("params", [{"bucket": "day"}, {"since": "yesterday"}, {"until": "2024-01-01"}])
def test_stats_refuse_bad_windows(world, params):
    resp = _get(world, f"{ADMIN}/stats", **params)
    assert resp.status_code == 422, resp.json
    assert resp.json["error"]["code"] == "validation_error"


def test_stats_of_a_window_that_ends_before_it_starts_has_no_buckets(world):
    resp = _get(world, f"{ADMIN}/stats", since="2024-01-02T00:00:00Z", until="2024-01-01T00:00:00Z")
    assert resp.status_code == 200, resp.json
    assert resp.json["buckets"] == [] and resp.json["since"] == rfc3339(dt.datetime(2024, 1, 2, tzinfo=dt.UTC))


@pytest.mark.parametrize("bucket, step", [("minute", dt.timedelta(minutes=1)), ("hour", dt.timedelta(hours=1))])
def test_a_window_of_too_many_buckets_keeps_its_last_1440(world, bucket, step):
    """Every transfer of the world is in the last 1440 buckets before now: a longer window
    is cut at its start, and the answer's `since` says where it now starts."""
    until = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
    resp = _get(world, f"{ADMIN}/stats", bucket=bucket, since="2000-01-01T00:00:00Z",
                until=until.isoformat().replace("+00:00", "Z"))
    assert resp.status_code == 200, resp.json
    assert len(resp.json["buckets"]) == 1440
    assert resp.json["since"] == rfc3339(until - 1440 * step)
    assert sum(b["transfers"] for b in resp.json["buckets"]) == 3


def test_export_downloads_exactly_what_the_filter_lists(world):
    listed = _get(world, f"{ADMIN}/audit", action="transfer.create", limit=100).json["items"]
    assert len(listed) == 3
    jsonl = _get(world, f"{ADMIN}/audit/export", action="transfer.create")
    assert jsonl.status_code == 200
    assert jsonl.mimetype == "application/x-ndjson"
    assert "attachment" in jsonl.headers["Content-Disposition"]
    assert [json.loads(line) for line in jsonl.get_data(as_text=True).splitlines()] == listed
    as_csv = _get(world, f"{ADMIN}/audit/export", action="transfer.create", format="csv")
    assert as_csv.mimetype == "text/csv"
    assert _parse_csv(as_csv.get_data(as_text=True)) == listed
    everything = _get(world, f"{ADMIN}/audit/export").get_data(as_text=True).splitlines()
    assert len(everything) == len(world.audit_events())
    assert _get(world, f"{ADMIN}/audit/export", format="xml").status_code == 422

    cli = world.cli("audit", "export", "--action", "transfer.create")
    assert cli.exit_code == 0, cli.output
    assert [json.loads(line) for line in cli.stdout.splitlines()] == listed


def test_statement_checks_each_posting_and_shows_which_one_broke(world):
    account_id = world.bob["id"]
    resp = _get(world, f"{ADMIN}/accounts/{account_id}/statement")
    assert resp.status_code == 200, resp.json
    statement = resp.json
    lines = statement["items"]
    assert statement["head_ok"] is True
    assert [line["seq"] for line in lines] == list(range(len(lines), 0, -1))
    assert all(line["hash_ok"] and line["link_ok"] and line["balance_ok"] for line in lines)
    assert lines[0]["balance_after"] == statement["account"]["balance"]
    assert {line["transfer"]["kind"] for line in lines} == {"deposit", "transfer", "reversal"}

    # Paged: the oldest posting of a page is still checked against the one before it.
    first = _get(world, f"{ADMIN}/accounts/{account_id}/statement", limit=2).json
    second = _get(world, f"{ADMIN}/accounts/{account_id}/statement", limit=2, cursor=first["next_cursor"]).json
    assert first["items"] + second["items"] == lines[:4]

    edited = _edit_posting_amount(world)[0][1]  # bob's debit of bob_carol
    broken = _get(world, f"{ADMIN}/accounts/{account_id}/statement").json["items"]
    assert [f"postings/{line['id']}" for line in broken if not line["hash_ok"]] == [edited]
    assert _get(world, f"{ADMIN}/accounts/nobody/statement").status_code == 404


def test_verify_streams_progress_and_keeps_the_last_run(world):
    assert _get(world, f"{ADMIN}/audit/verify/last").status_code == 404
    resp = world.client.post(f"{ADMIN}/audit/verify/runs", headers={"Authorization": f"Bearer {world.admin}"})
    assert resp.status_code == 200
    assert resp.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in resp.get_data(as_text=True).splitlines()]
    progress = [line["progress"] for line in lines[:-1]]
    assert progress and all(p["final"] in (True, False) for p in progress)
    assert {p["phase"] for p in progress} >= {"accounts", "transfers"}
    run = lines[-1]["run"]
    assert run["report"]["ok"] is True and run["report"]["accounts_checked"] >= 4
    last = _get(world, f"{ADMIN}/audit/verify/last").json
    assert last == run

    _edit_posting_amount(world)
    world.verify()  # the plain endpoint keeps its run too
    last = _get(world, f"{ADMIN}/audit/verify/last").json
    assert last["report"]["ok"] is False and last["finished_at"] > run["finished_at"]
    assert "hash_mismatch" in last["report"]["problem_kinds"]


@pytest.mark.parametrize("method,path", [("GET", f"{ADMIN}/stats"), ("GET", f"{ADMIN}/audit/export"),
                                         ("GET", f"{ADMIN}/audit/verify/last"), ("POST", f"{ADMIN}/audit/verify/runs"),
                                         ("GET", f"{ADMIN}/accounts/treasury/statement")])
def test_console_endpoints_are_for_admins_only(live_server, user, method, path):
    assert live_server.api(method, path, user["token"]).status_code == 403
    assert live_server.api(method, path).status_code == 401
