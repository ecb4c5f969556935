"""Screenshots of the main screens.

They go to a temporary folder, so a test run leaves the checkout clean; with
UPDATE_SCREENSHOTS=1 they replace the ones in docs/screenshots/.
"""

import os
from pathlib import Path

import photo_samples as samples
import pytest
from conftest import unique_name

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_screenshots_of_the_main_screens(new_page, ui, api, live_server, admin_user, tmp_path):
    out = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    alice = live_server.signup(unique_name("alice"))
    bob = live_server.signup(unique_name("bob"))
    a_name, b_name = alice["user"]["username"], bob["user"]["username"]
    api.deposit(a_name, 25_000, memo="welcome bonus")
    for amount, memo in ((1234, "lunch"), (500, "coffee beans"), (9999, "concert tickets")):
        resp = api.call("POST", "/transfers", alice["token"], json={"to": b_name, "amount": amount, "memo": memo},
                        headers={"Idempotency-Key": unique_name("shot")})
        assert resp.status_code == 201, resp.text
    post = api.post(alice["token"], "Welcome to the trusted backend",
                    "Every balance change here goes through the API.\nThe browser never writes Firestore.")
    api.call("POST", f"/posts/{post['id']}/comments", bob["token"], json={"body": "Nice, no more cheating!"})
    api.post(bob["token"], "Is my post pending?", "Yes: a moderator has to approve it first.", approve=False)
    conv = api.call("POST", "/conversations", alice["token"], json={"with": b_name}).json()["conversation"]
    for token, body in ((alice["token"], "Sent you the concert money"), (bob["token"], "Got it, thanks!")):
        assert api.call("POST", f"/conversations/{conv['id']}/messages", token, json={"body": body}).status_code == 201
    upload = api.call("POST", "/photos", alice["token"], data={"caption": "Evening at the lake", "tags": "lake,sunset"},
                      files={"image": ("lake.jpg", samples.encode(samples.marked(), "JPEG"), "image/jpeg")})
    assert upload.status_code == 201, upload.text
    approved = api.call("POST", f"/admin/photos/{upload.json()['photo']['id']}/approve", live_server.admin_token())
    assert approved.status_code == 200, approved.text

    def shot(page, name):
        # Not "networkidle": the live views keep a Firestore listen channel open.
        page.wait_for_load_state("load")
        page.evaluate("() => document.fonts.ready.then(() => null)")
        page.screenshot(path=str(out / f"{name}.png"), full_page=True)
        assert (out / f"{name}.png").stat().st_size > 5_000  # a rendered page, not a blank one

    page = new_page()
    ui.open(page, "/login")
    shot(page, "login")
    ui.login(page, a_name)
    expect(page.get_by_test_id("balance")).to_have_text("132.67 USD")
    shot(page, "wallet")
    ui.go(page, "/history", "view-history")
    expect(page.get_by_test_id("transfer-row")).to_have_count(4)
    shot(page, "history")
    ui.go(page, "/feed", "view-feed")
    shot(page, "feed")
    ui.go(page, f"/post/{post['id']}", "view-post")
    expect(page.get_by_test_id("comment-item")).to_have_count(1)
    shot(page, "post")
    ui.go(page, f"/messages/{conv['id']}", "view-messages")
    expect(page.get_by_test_id("message-body")).to_have_count(2)
    shot(page, "messages")
    ui.go(page, "/photos", "view-gallery")
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=gallery-thumb]')]"
                           ".some(img => img.complete && img.naturalWidth > 0)")
    shot(page, "photos")
    ui.go(page, "/cheat", "view-cheat")
    page.get_by_test_id("cheat-run").click()
    expect(page.get_by_test_id("cheat-verdict")).to_be_visible()
    shot(page, "try-to-cheat")

    admin = new_page()
    ui.login(admin, admin_user["user"]["username"])
    ui.go(admin, "/admin/moderation", "view-moderation")
    expect(admin.get_by_test_id("mod-item").first).to_be_visible()
    shot(admin, "admin-moderation")
    ui.go(admin, "/admin/ledger", "view-ledger")
    expect(admin.get_by_test_id("account-row").first).to_be_visible()
    shot(admin, "admin-deposits")
    # The console's screens (dashboard, audit, account, verify) are shot by test_e2e_console.py.

    phone = new_page(viewport={"width": 390, "height": 844})
    ui.login(phone, a_name)
    shot(phone, "wallet-mobile")
