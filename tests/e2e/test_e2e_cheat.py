"""The "Try to cheat" page: direct Firestore writes from the browser are refused."""

import base64
import json

import pytest
from conftest import unique_name

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e


def decode(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_direct_firestore_writes_are_refused(page, ui, api, live_server):
    user = live_server.signup(unique_name("mel"))
    api.deposit(user["user"]["username"], 100)
    ui.login(page, user["user"]["username"])
    ui.go(page, "/cheat", "view-cheat")
    page.get_by_test_id("cheat-run").click()
    verdict = page.get_by_test_id("cheat-verdict")
    expect(verdict).to_be_visible()

    for testid in ("cheat-patch-result", "cheat-create-result"):
        result = page.get_by_test_id(testid)
        expect(result).to_have_attribute("data-status", "403")
        expect(result).to_have_attribute("data-accepted", "false")
        expect(result).to_contain_text("PERMISSION_DENIED")
    expect(verdict).to_have_attribute("data-unchanged", "true")
    expect(page.get_by_test_id("cheat-balance-after")).to_contain_text("1.00 USD")
    assert api.balance(user["token"]) == 100

    header, payload, signature = page.get_by_test_id("cheat-token").text_content().split(".")
    assert decode(header) == {"alg": "none", "typ": "JWT"}
    claims = decode(payload)
    assert claims["sub"] == claims["user_id"] == user["user"]["id"]
    assert signature == ""
