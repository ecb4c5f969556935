"""The operator's console in the browser: the dashboard after a scripted scenario, the
audit log (details, URL filters, export), an account's statement (a chain that verifies,
a reversal, a tampered posting found), verify with progress and its kept run, and no
horizontal overflow at 1280 px or 390 px. With UPDATE_SCREENSHOTS=1 the screenshots
replace those in docs/screenshots/ (else they go to a temporary folder)."""

import csv
import datetime as dt
import io
import json
import os
from pathlib import Path

import pytest
from conftest import unique_name

from server.kernel.clock import rfc3339

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


class Scenario:
    """Deposits, transfers, a refused transfer and a reversal, after `start`."""

    def __init__(self, live):
        self.live = live
        self.admin = live.make_admin()
        self.admin_token = self.admin["token"]
        self.start = rfc3339(dt.datetime.now(dt.UTC))
        self.alice = live.signup(unique_name("alice"))
        self.bob = live.signup(unique_name("bob"))
        self.deposit(self.alice, 10_000)
        self.deposit(self.bob, 5_000)
        self.first = self.transfer(self.alice, self.bob, 1_234, "lunch")
        self.second = self.transfer(self.bob, self.alice, 500, "coffee")
        refused = self.call("POST", "/transfers", self.alice["token"], {"to": self.name(self.bob), "amount": 999_999})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "insufficient_funds"
        reversed_ = self.call("POST", f"/admin/transfers/{self.first['id']}/reverse", self.admin_token,
                              {"reason": "sent twice"})
        assert reversed_.status_code == 201, reversed_.text

    @staticmethod
    def name(user):
        return user["user"]["username"]

    def call(self, method, path, token, body=None, **params):
        return self.live.api(method, f"/api/v1{path}", token, json=body, params=params or None,
                             headers={"Idempotency-Key": unique_name("k")})

    def deposit(self, user, amount):
        resp = self.call("POST", "/admin/deposits", self.admin_token, {"to": self.name(user), "amount": amount})
        assert resp.status_code == 201, resp.text

    def transfer(self, source, target, amount, memo):
        body = {"to": self.name(target), "amount": amount, "memo": memo}
        resp = self.call("POST", "/transfers", source["token"], body)
        assert resp.status_code == 201, resp.text
        return resp.json()["transfer"]

    def account_id(self, user):
        return self.call("GET", "/accounts/me", user["token"]).json()["id"]

    def accounts(self):
        items, cursor = [], None
        while True:
            paging = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = self.call("GET", "/admin/accounts", self.admin_token, **paging)
            items += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if not cursor:
                return items


@pytest.fixture(scope="module")
def scenario(live_server):
    return Scenario(live_server)


@pytest.fixture
def console(new_page, ui, scenario):
    def open_console(viewport=None):
        page = new_page(viewport=viewport)
        ui.login(page, scenario.name(scenario.admin))
        return page
    return open_console


def _attr(locator, name):
    return int(locator.get_attribute(name))


def test_dashboard_totals_match_the_ledger_and_plots_hold_the_scenario(console, ui, scenario):
    page = console()
    ui.go(page, f"/admin?since={scenario.start}", "view-dashboard")
    expect(page.get_by_test_id("chart-transfers")).to_be_visible()
    accounts = scenario.accounts()
    treasury = next(a for a in accounts if a["owner_id"] is None)
    users = sum(a["balance"] for a in accounts if a["owner_id"] is not None)
    assert _attr(page.get_by_test_id("dash-issued"), "data-value") == -treasury["balance"]
    assert _attr(page.get_by_test_id("dash-circulation"), "data-value") == users
    assert _attr(page.get_by_test_id("dash-accounts"), "data-value") == len(accounts)

    transfers, volume = page.get_by_test_id("chart-transfers"), page.get_by_test_id("chart-volume")
    refusals, activity = page.get_by_test_id("chart-refusals"), page.get_by_test_id("chart-activity")
    assert (_attr(transfers, "data-sum-transfers"), _attr(transfers, "data-sum-deposits"),
            _attr(transfers, "data-sum-reversals")) == (2, 2, 1)
    assert (_attr(volume, "data-sum-volume"), _attr(volume, "data-sum-deposited")) == (1_234 + 500, 15_000)
    assert _attr(refusals, "data-sum-insufficient-funds") == 1
    assert _attr(activity, "data-sum-new-users") == 2
    assert _attr(transfers, "data-points-transfers") >= 1
    expect(transfers.locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("dash-not-recorded")).to_contain_text("429")


def test_audit_event_details_open_with_one_click_and_filters_live_in_the_url(console, ui, scenario):
    page = console()
    ui.go(page, f"/admin/audit?actor={scenario.name(scenario.alice)}&action=transfer.create", "view-audit")
    row = page.get_by_test_id("audit-row").first
    expect(row).to_have_attribute("data-action", "transfer.create")
    details = row.get_by_test_id("audit-details")
    expect(details).to_be_hidden()
    row.locator("summary").click()
    expect(details).to_be_visible()
    expect(details).to_contain_text("12.34")
    expect(details.locator(f'[data-full="{scenario.first["id"]}"]').first).to_be_attached()

    page.get_by_test_id("audit-action-filter").fill("deposit.create")
    page.get_by_test_id("audit-actor").fill("")
    page.get_by_test_id("audit-submit").click()
    page.wait_for_url("**/#/admin/audit?action=deposit.create")
    expect(page.locator("[data-testid=audit-row]:not([data-action='deposit.create'])")).to_have_count(0)
    expect(page.get_by_test_id("audit-row").first).to_be_visible()


def test_export_downloads_exactly_the_filtered_events(console, ui, scenario):
    page = console()
    ui.go(page, f"/admin/audit?action=transfer.create&since={scenario.start}", "view-audit")
    expect(page.get_by_test_id("audit-count")).to_have_attribute("data-count", "2")
    shown = [r.get_attribute("data-id") for r in page.get_by_test_id("audit-row").all()]
    with page.expect_download() as info:
        page.get_by_test_id("audit-export-jsonl").click()
    assert info.value.suggested_filename.endswith(".jsonl")
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == shown
    with page.expect_download() as info:
        page.get_by_test_id("audit-export-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert [r["id"] for r in rows] == shown


def test_account_view_verifies_reverses_and_shows_which_posting_broke(console, ui, scenario, live_server):
    page = console()
    account_id = scenario.account_id(scenario.alice)
    ui.go(page, f"/admin/account/{account_id}", "view-account")
    lines = page.get_by_test_id("stmt-line")
    expect(lines).to_have_count(4)  # deposit, 12.34 out, 5.00 in, the reversal of 12.34
    expect(page.locator("[data-testid=stmt-line][data-chain-ok=false]")).to_have_count(0)
    expect(page.get_by_test_id("stmt-head")).to_have_attribute("data-ok", "true")
    expect(lines.first.get_by_test_id("stmt-balance")).to_have_text("105.00 USD")

    incoming = page.locator("[data-testid=stmt-line][data-seq='3']")
    incoming.get_by_test_id("stmt-reverse").click()
    incoming.get_by_test_id("stmt-reverse-reason").fill("disputed by the sender")
    incoming.get_by_test_id("stmt-reverse-submit").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Reversed: 5.00 USD")
    expect(lines).to_have_count(5)
    expect(page.locator("[data-testid=stmt-line][data-seq='3']").get_by_test_id("stmt-reversed")).to_be_visible()
    expect(lines.first.get_by_test_id("stmt-balance")).to_have_text("100.00 USD")

    db = live_server.app.extensions["datastore"].client
    posting = db.collection("postings").document(f"{account_id}_000000000002")
    amount = posting.get().get("amount")
    posting.update({"amount": amount + 1})
    try:
        page.reload()
        expect(page.get_by_test_id("view-account")).to_be_visible()
        broken = page.locator("[data-testid=stmt-line][data-chain-ok=false]")
        expect(broken).to_have_count(1)
        expect(broken).to_have_attribute("data-seq", "2")
        expect(broken.get_by_test_id("stmt-problem")).to_contain_text("hash does not match")
    finally:
        posting.update({"amount": amount})  # the session's shared books verify again


def test_verify_shows_progress_and_keeps_its_last_run(console, ui, scenario):
    page = console()
    ui.go(page, "/admin/verify", "view-verify")
    page.get_by_test_id("verify-run").click()
    expect(page.locator("[data-testid=verify-result][data-source=this]")).to_be_visible()
    status = page.get_by_test_id("verify-status")
    expect(page.get_by_test_id("verify-phase")).to_have_count(5)
    last = scenario.call("GET", "/admin/audit/verify/last", scenario.admin_token).json()
    expect(status).to_have_attribute("data-ok", "true" if last["report"]["ok"] else "false")
    assert int(page.get_by_test_id("verify-accounts").text_content()) == last["report"]["accounts_checked"]
    page.reload()
    expect(page.locator("[data-testid=verify-result][data-source=last]")).to_be_visible()
    expect(page.get_by_test_id("verify-finished")).to_contain_text(scenario.name(scenario.admin))
    for link in page.get_by_test_id("verify-doc").all():  # every problem's documents are links or ids
        expect(link.get_by_test_id("short-id")).to_be_attached()


@pytest.mark.parametrize("viewport,suffix", [({"width": 1280, "height": 900}, ""), (PHONE, "-mobile")],
                         ids=["1280px", "390px"])
def test_no_console_screen_overflows_and_screenshots(console, ui, scenario, viewport, suffix, tmp_path):
    out = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    page = console(viewport)
    account_id = scenario.account_id(scenario.alice)
    screens = [
        ("/admin", "view-dashboard", "chart-activity", "admin-dashboard"),
        (f"/admin/audit?since={scenario.start}", "view-audit", "audit-row", "admin-audit"),
        (f"/admin/account/{account_id}", "view-account", "stmt-line", "admin-account"),
        ("/admin/verify", "view-verify", None, "admin-verify"),
        ("/admin/ledger", "view-ledger", "account-row", None),
    ]
    for route, view, ready, name in screens:
        ui.go(page, route, view)
        if ready:
            expect(page.get_by_test_id(ready).first).to_be_visible()
        if view == "view-audit":
            page.get_by_test_id("audit-row").first.locator("summary").click()
        if view == "view-verify":
            page.get_by_test_id("verify-run").click()
            expect(page.locator("[data-testid=verify-result][data-source=this]")).to_be_visible()
        widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], (route, viewport, widths)
        if name is None:
            continue  # measured, not photographed here (test_e2e_screenshots.py keeps its shot)
        page.evaluate("() => document.fonts.ready.then(() => null)")
        page.screenshot(path=str(out / f"{name}{suffix}.png"), full_page=True)
        assert (out / f"{name}{suffix}.png").stat().st_size > 5_000
