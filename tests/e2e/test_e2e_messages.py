"""Messages in two browsers: what one sends appears in the other without a reload, as text."""

import pytest

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

XSS_MESSAGE = '<script>window.__xss=1</script>\n<img src=x onerror="window.__xss=1"> & "quotes"'


def test_a_message_sent_in_one_page_appears_in_the_other(new_page, ui, pair):
    alice, bob = pair
    a_name, b_name = alice["user"]["username"], bob["user"]["username"]
    bob_page = new_page()
    ui.login(bob_page, b_name)
    ui.go(bob_page, "/messages", "view-messages")
    expect(bob_page.get_by_test_id("conv-empty")).to_be_visible()
    bob_page.evaluate("() => { window.__sameDocument = true; }")  # gone if the page reloads

    alice_page = new_page()
    ui.login(alice_page, a_name)
    ui.go(alice_page, "/messages", "view-messages")
    alice_page.get_by_test_id("conv-start-with").fill(b_name.upper())
    alice_page.get_by_test_id("conv-start-submit").click()
    expect(alice_page.get_by_test_id("thread-title")).to_have_text(f"With {b_name}")
    alice_page.get_by_test_id("message-input").fill(XSS_MESSAGE)
    alice_page.get_by_test_id("message-submit").click()
    expect(alice_page.get_by_test_id("message-body")).to_have_count(1)
    alice_page.evaluate("() => { window.__sameDocument = true; }")

    # Bob's page learns of the new conversation by itself, then the message.
    conv_link = bob_page.get_by_test_id("conv-link")
    expect(conv_link).to_have_text(a_name)
    conv_link.click()
    body = bob_page.get_by_test_id("message-body")
    expect(body).to_have_count(1)
    assert body.text_content() == XSS_MESSAGE
    expect(bob_page.get_by_test_id("message-author")).to_have_text(a_name)

    bob_page.get_by_test_id("message-input").fill("hi alice 👋")
    bob_page.get_by_test_id("message-submit").click()
    # Alice's open thread shows the reply without a reload, once, after her message.
    expect(alice_page.get_by_test_id("message-body")).to_have_count(2)
    expect(alice_page.get_by_test_id("message-body").nth(1)).to_have_text("hi alice 👋")
    alice_page.wait_for_timeout(3000)  # a few more polls: still no duplicate
    expect(alice_page.get_by_test_id("message-body")).to_have_count(2)
    seqs = alice_page.get_by_test_id("thread-message").evaluate_all("els => els.map(e => e.dataset.seq)")
    assert seqs == ["1", "2"]
    expect(alice_page.get_by_test_id("conv-item")).to_contain_text("2 messages")
    for p in (alice_page, bob_page):
        assert p.evaluate("() => window.__sameDocument") is True  # no reload on either side
        assert p.evaluate("() => typeof window.__xss") == "undefined"
        assert p.locator("img[src=x]").count() == 0


def test_a_non_member_sees_no_thread(new_page, ui, pair, live_server):
    alice, bob = pair
    conv = live_server.api("POST", "/api/v1/conversations", alice["token"],
                           json={"with": bob["user"]["username"]}).json()["conversation"]
    mallory = live_server.signup()
    page = new_page()
    ui.login(page, mallory["user"]["username"])
    ui.go(page, f"/messages/{conv['id']}", "view-messages")
    expect(page.get_by_test_id("thread-error")).to_contain_text("does not exist or is not yours")
    expect(page.get_by_test_id("message-body")).to_have_count(0)
