"""A post with two photos in the browser: chosen from My photos, seen by the moderator,
approved together, then shown in the feed and on the post's page; the cat zone."""

import io

import photo_samples as samples
import pytest
from conftest import unique_name
from PIL import Image
from skimage import data as skdata

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e


def loaded(locator):
    expect(locator).to_be_visible()
    locator.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=locator.element_handle())


def upload(api, token, data, caption):
    resp = api.call("POST", "/photos", token, files={"image": ("p.jpg", data, "image/jpeg")}, data={"caption": caption})
    assert resp.status_code == 201, resp.text
    return resp.json()["photo"]


def cat_jpeg():
    out = io.BytesIO()
    Image.fromarray(skdata.chelsea()).save(out, "JPEG", quality=100)
    return out.getvalue()


def test_a_post_with_two_photos_after_approval(new_page, ui, api, live_server, admin_user):
    author = live_server.signup(unique_name("pat"))
    token = author["token"]
    cat = upload(api, token, cat_jpeg(), "Chelsea")
    plain = upload(api, token, samples.encode(samples.marked((300, 200)), "JPEG"), "red")
    assert [label["name"] for label in cat["labels"]] == ["cat"]

    page = new_page()
    ui.login(page, author["user"]["username"])
    ui.go(page, "/feed", "view-feed")
    title = unique_name("Two photos ")
    page.get_by_test_id("newpost-title").fill(title)
    page.get_by_test_id("newpost-body").fill("Look at these")
    # Ticked in this order: the post shows them in this order.
    page.locator(f'[data-testid="photo-picker"] [data-photo-id="{plain["id"]}"] input').check()
    page.locator(f'[data-testid="photo-picker"] [data-photo-id="{cat["id"]}"] input').check()
    page.get_by_test_id("newpost-submit").click()
    expect(page.get_by_test_id("newpost-pending-notice")).to_contain_text("with its photos")
    post_id = page.get_by_test_id("newpost-link").get_attribute("href").rsplit("/", 1)[-1]

    admin = new_page()
    ui.login(admin, admin_user["user"]["username"])
    ui.go(admin, "/admin/moderation", "view-moderation")
    item = admin.locator(f'[data-testid="mod-item"][data-post-id="{post_id}"]')
    photos = item.locator('[data-testid="mod-post-photos"] [data-testid="post-photo"]')
    expect(photos).to_have_count(2)
    for n in range(2):
        loaded(photos.nth(n).locator("img"))  # pending photos, fetched with the admin's token
    item.get_by_test_id("mod-approve").click()
    expect(item.get_by_test_id("mod-outcome")).to_contain_text("Approved")

    reader = new_page()
    ui.open(reader, "/feed")
    expect(reader.get_by_test_id("view-feed")).to_be_visible()
    card = reader.locator(f'[data-testid="feed-item"][data-post-id="{post_id}"]')
    shown = card.get_by_test_id("post-photo")
    expect(shown).to_have_count(2)
    assert [shown.nth(n).get_attribute("data-photo-id") for n in range(2)] == [plain["id"], cat["id"]]
    card.get_by_test_id("feed-item-title").click()
    expect(reader.get_by_test_id("view-post")).to_be_visible()
    big = reader.locator('[data-testid="view-post"] [data-testid="post-photo"] img')
    expect(big).to_have_count(2)
    for n in range(2):
        loaded(big.nth(n))

    # Approved with the post, the cat is in the cat zone, with its badge.
    ui.go(reader, "/cats", "view-gallery")
    expect(reader.get_by_test_id("gallery-title")).to_have_text("Cats")
    tile = reader.locator(f'[data-testid="gallery-grid"] [data-photo-id="{cat["id"]}"]')
    expect(tile.get_by_test_id("photo-label")).to_contain_text("cat")
    expect(reader.locator(f'[data-testid="gallery-grid"] [data-photo-id="{plain["id"]}"]')).to_have_count(0)
