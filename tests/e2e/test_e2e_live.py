"""Live reads in the browser: money arrives on screen without a reload or a click;
a Firebase-native user signs up through the Auth emulator and gets a wallet."""

import re

import pytest
from conftest import PASSWORD, unique_name

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

LIVE_MS = 10_000  # "within a few seconds": no reload, no click in between


def test_money_arrives_live_on_the_other_users_screens(new_page, ui, api, pair):
    alice, bob = pair
    a_name, b_name = alice["user"]["username"], bob["user"]["username"]
    api.deposit(a_name, 2000)

    a = new_page()
    ui.login(a, a_name)
    expect(a.get_by_test_id("balance")).to_have_text("20.00 USD")
    b_wallet = new_page()
    ui.login(b_wallet, b_name)
    expect(b_wallet.get_by_test_id("live-status")).to_have_attribute("data-live", "true")
    expect(b_wallet.get_by_test_id("balance")).to_have_text("0.00 USD")
    b_history = new_page()
    ui.login(b_history, b_name)
    ui.go(b_history, "/history", "view-history")
    expect(b_history.get_by_test_id("transfers-empty")).to_be_visible()
    b_wallet_url, b_history_url = b_wallet.url, b_history.url

    ui.send(a, "transfer", b_name, "4.25", "live coffee")
    expect(a.get_by_test_id("transfer-success")).to_contain_text(f"Sent 4.25 USD to {b_name}")

    # Bob touched nothing: both of his screens change by themselves.
    expect(b_wallet.get_by_test_id("balance")).to_have_text("4.25 USD", timeout=LIVE_MS)
    row = b_history.get_by_test_id("transfer-row").filter(has_text=a_name)
    expect(row).to_have_count(1, timeout=LIVE_MS)
    expect(row).to_have_attribute("data-direction", "in")
    expect(row.get_by_test_id("transfer-amount")).to_have_text("+4.25 USD")
    expect(row.get_by_test_id("transfer-memo")).to_have_text("live coffee")
    expect(b_history.get_by_test_id("posting-row")).to_have_count(1, timeout=LIVE_MS)
    # The sender's own balance follows the same way (no reload after sending).
    expect(a.get_by_test_id("balance")).to_have_text("15.75 USD", timeout=LIVE_MS)
    assert (b_wallet.url, b_history.url) == (b_wallet_url, b_history_url)
    assert b_wallet.get_by_test_id("balance-refresh").count() == 0  # the Refresh button is gone


def test_firebase_native_user_signs_up_and_gets_a_wallet(page, ui, api, live_server):
    name = unique_name("fb")
    email = f"{name}@example.com"
    ui.open(page, "/firebase")
    page.get_by_test_id("firebase-email").fill(email)
    page.get_by_test_id("firebase-password").fill(PASSWORD)
    page.get_by_test_id("firebase-create").check()
    page.get_by_test_id("firebase-submit").click()
    # A new Firebase user without a username: the API asks for one.
    expect(page.get_by_test_id("firebase-error")).to_contain_text(re.compile("username", re.IGNORECASE))
    page.get_by_test_id("firebase-username").fill(name)
    page.get_by_test_id("firebase-submit").click()
    expect(page.get_by_test_id("view-wallet")).to_be_visible()
    expect(page.get_by_test_id("nav-user")).to_contain_text(name)
    expect(page.get_by_test_id("balance")).to_have_text("0.00 USD")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-live", "true")

    api.deposit(name, 321)
    expect(page.get_by_test_id("balance")).to_have_text("3.21 USD", timeout=LIVE_MS)

    events = api.call("GET", "/admin/audit", live_server.admin_token(),
                      params={"action": "user.signup", "actor": name}).json()["items"]
    assert [e["details"]["provider"] for e in events] == ["firebase"]

    # Signing in again later: no username needed, same wallet.
    page.get_by_test_id("nav-logout").click()
    expect(page.get_by_test_id("view-login")).to_be_visible()
    ui.open(page, "/firebase")
    page.get_by_test_id("firebase-email").fill(email)
    page.get_by_test_id("firebase-password").fill(PASSWORD)
    page.get_by_test_id("firebase-submit").click()
    expect(page.get_by_test_id("view-wallet")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text("3.21 USD")
