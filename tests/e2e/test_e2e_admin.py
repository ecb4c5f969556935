"""Admin screens: hidden from users (and refused by the API), usable by admins."""

import pytest
from conftest import unique_name

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

ADMIN_ROUTES = ["/admin", "/admin/moderation", "/admin/ledger", "/admin/audit", "/admin/verify",
                "/admin/account/treasury"]


def test_non_admin_sees_no_admin_screens_and_the_api_refuses(page, ui, live_server):
    user = live_server.signup(unique_name("eve"))
    ui.login(page, user["user"]["username"])
    expect(page.get_by_test_id("nav-admin")).to_have_count(0)
    expect(page.locator("#nav a[href^='#/admin']")).to_have_count(0)
    for route in ADMIN_ROUTES:
        ui.go(page, route, "view-denied")

    token = user["token"]
    headers = {"Idempotency-Key": unique_name("k")}
    calls = [
        ("GET", "/api/v1/admin/posts?status=pending", None),
        ("POST", "/api/v1/admin/posts/whatever/approve", {}),
        ("POST", "/api/v1/admin/deposits", {"to": user["user"]["username"], "amount": 100}),
        ("POST", "/api/v1/admin/transfers/whatever/reverse", {"reason": "x"}),
        ("GET", "/api/v1/admin/accounts", None),
        ("GET", "/api/v1/admin/audit", None),
        ("GET", "/api/v1/admin/audit/verify", None),
        ("GET", "/api/v1/admin/stats", None),
        ("GET", "/api/v1/admin/audit/export", None),
        ("POST", "/api/v1/admin/audit/verify/runs", None),
        ("GET", "/api/v1/admin/audit/verify/last", None),
        ("GET", "/api/v1/admin/accounts/treasury/statement", None),
    ]
    for method, path, body in calls:
        resp = live_server.api(method, path, token, json=body, headers=dict(headers))
        assert resp.status_code == 403, (path, resp.status_code, resp.text)
        assert resp.json()["error"]["code"] == "forbidden"


def test_admin_audit_filters_and_verify(page, ui, api, live_server, admin_user):
    target = live_server.signup(unique_name("gus"))
    name = target["user"]["username"]
    deposit = api.deposit(name, 4200, memo="audit me")

    ui.login(page, admin_user["user"]["username"])
    expect(page.get_by_test_id("nav-admin")).to_be_visible()

    ui.go(page, "/admin/audit", "view-audit")
    expect(page.get_by_test_id("audit-row").first).to_be_visible()
    page.get_by_test_id("audit-action-filter").fill("deposit.create")
    page.get_by_test_id("audit-submit").click()
    rows = page.get_by_test_id("audit-row")
    expect(rows.first).to_be_visible()
    expect(page.locator("[data-testid=audit-row]:not([data-action='deposit.create'])")).to_have_count(0)
    expect(page.locator(f'[data-testid=audit-table] [data-full="{deposit["id"]}"]').first).to_be_attached()

    page.get_by_test_id("audit-action-filter").fill("")
    page.get_by_test_id("audit-since").fill("2999-01-01T00:00:00")
    page.get_by_test_id("audit-submit").click()
    expect(page.get_by_test_id("audit-empty")).to_be_visible()

    ui.go(page, "/admin/verify", "view-verify")
    page.get_by_test_id("verify-run").click()
    expect(page.locator("[data-testid=verify-result][data-source=this]")).to_be_visible()
    expect(page.get_by_test_id("verify-finished")).to_contain_text(admin_user["user"]["username"])
    status = page.get_by_test_id("verify-status")
    expect(status).to_be_visible()
    report = api.call("GET", "/admin/audit/verify/last", admin_user["token"]).json()["report"]
    # Other tests may damage the ledger on purpose; the page must say what the API says.
    expect(status).to_have_attribute("data-ok", "true" if report["ok"] else "false")
    assert int(page.get_by_test_id("verify-accounts").text_content()) >= 2

    ui.go(page, "/admin/ledger", "view-ledger")
    expect(page.locator(f'[data-testid="account-row"][data-username="{name}"]')).to_contain_text("42.00 USD")
