"""Posts and comments: moderation in the UI, and user text always rendered as text."""

import pytest
from conftest import unique_name

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

XSS_TITLE = '<img src=x onerror="window.__xss=1">'
XSS_BODY = '<script>window.__xss=1</script>\n<img src=x onerror="window.__xss=1"> & "quotes"'
XSS_COMMENT = '<svg onload="window.__xss=1"></svg><script>window.__xss=1</script>'


def assert_no_xss(*pages):
    for p in pages:
        assert p.evaluate("() => typeof window.__xss") == "undefined"


def test_script_payloads_are_displayed_as_text(new_page, ui, api, live_server, admin_user):
    author = live_server.signup(unique_name("mallory"))
    name = author["user"]["username"]
    writer = new_page()
    ui.login(writer, name)
    ui.go(writer, "/feed", "view-feed")
    writer.get_by_test_id("newpost-title").fill(XSS_TITLE)
    writer.get_by_test_id("newpost-body").fill(XSS_BODY)
    writer.get_by_test_id("newpost-submit").click()
    expect(writer.get_by_test_id("newpost-pending-notice")).to_contain_text("pending")
    post_id = writer.get_by_test_id("newpost-link").get_attribute("href").rsplit("/", 1)[-1]

    writer.get_by_test_id("newpost-link").click()
    expect(writer.get_by_test_id("post-status")).to_contain_text("pending")
    expect(writer.get_by_test_id("post-title")).to_have_text(XSS_TITLE)
    assert api.call("GET", f"/posts/{post_id}").status_code == 404  # not public yet

    admin = new_page()
    ui.login(admin, admin_user["user"]["username"])
    ui.go(admin, "/admin/moderation", "view-moderation")
    item = admin.locator(f'[data-testid="mod-item"][data-post-id="{post_id}"]')
    expect(item.get_by_test_id("mod-title")).to_have_text(XSS_TITLE)
    assert item.get_by_test_id("mod-body").text_content() == XSS_BODY
    expect(item.get_by_test_id("mod-status")).to_have_text("pending")
    item.get_by_test_id("mod-approve").click()
    expect(item.get_by_test_id("mod-outcome")).to_contain_text("Approved")
    expect(item.get_by_test_id("mod-status")).to_have_text("approved")  # the card's badge follows

    reader = new_page()  # signed out
    ui.open(reader, "/feed")
    feed_item = reader.locator(f'[data-testid="feed-item"][data-post-id="{post_id}"]')
    expect(feed_item.get_by_test_id("feed-item-title")).to_have_text(XSS_TITLE)
    feed_item.get_by_test_id("feed-item-title").click()
    expect(reader.get_by_test_id("post-title")).to_have_text(XSS_TITLE)
    assert reader.get_by_test_id("post-title").text_content() == XSS_TITLE
    assert reader.get_by_test_id("post-body").text_content() == XSS_BODY
    assert reader.locator("[data-testid=view-post] :is(img, script, svg)").count() == 0

    writer.reload()
    expect(writer.get_by_test_id("comment-form")).to_be_visible()
    writer.get_by_test_id("comment-body-input").fill(XSS_COMMENT)
    writer.get_by_test_id("comment-submit").click()
    expect(writer.get_by_test_id("comment-count")).to_have_text("1")
    reader.reload()
    comment = reader.get_by_test_id("comment-body")
    expect(comment).to_have_count(1)
    assert comment.text_content() == XSS_COMMENT
    assert_no_xss(writer, admin, reader)


def test_rejected_post_shows_its_reason_to_the_author(new_page, ui, api, live_server, admin_user):
    author = live_server.signup(unique_name("rita"))
    post = api.post(author["token"], f"Buy cheap coins {unique_name()}", "spam", approve=False)

    admin = new_page()
    ui.login(admin, admin_user["user"]["username"])
    ui.go(admin, "/admin/moderation", "view-moderation")
    item = admin.locator(f'[data-testid="mod-item"][data-post-id="{post["id"]}"]')
    item.get_by_test_id("mod-reject").click()
    expect(item.get_by_test_id("mod-error")).to_contain_text("reason")  # a reason is required
    item.get_by_test_id("mod-reason").fill("advertising")
    item.get_by_test_id("mod-reject").click()
    expect(item.get_by_test_id("mod-outcome")).to_contain_text("Rejected: advertising")

    page = new_page()
    ui.login(page, author["user"]["username"])
    ui.go(page, f"/post/{post['id']}", "view-post")
    expect(page.get_by_test_id("post-status")).to_contain_text("rejected")
    expect(page.get_by_test_id("post-status")).to_contain_text("advertising")
    expect(page.get_by_test_id("comment-form")).to_have_count(0)


def test_feed_pages_with_next_cursor(page, ui, api, live_server):
    author = live_server.signup(unique_name("pat"))
    for i in range(11):
        api.post(author["token"], f"Post {i}", f"Body {i}")
    ui.open(page, "/feed")
    items = page.get_by_test_id("feed-item")
    expect(items).to_have_count(10)
    expect(items.first.get_by_test_id("feed-item-title")).to_have_text("Post 10")  # newest first
    page.get_by_test_id("feed-next").click()
    expect(items.nth(10)).to_be_visible()
    ids = [el.get_attribute("data-post-id") for el in items.all()]
    assert len(ids) == len(set(ids)) > 10
