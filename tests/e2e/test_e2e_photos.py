"""Photos in the browser: upload with a preview, moderation, the gallery, the photo page, comments."""

import photo_samples as samples
import pytest
from conftest import unique_name

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.e2e

CAPTION = '<img src=x onerror="window.__xss=1"> sunset'


def loaded(locator):
    """An <img> that the browser actually decoded (not a broken-image icon)."""
    expect(locator).to_be_visible()
    locator.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=locator.element_handle())
    return locator.evaluate("img => [img.naturalWidth, img.naturalHeight]")


def test_upload_moderate_view_and_comment(new_page, ui, live_server, admin_user, tmp_path):
    owner = live_server.signup(unique_name("pia"))
    tag = unique_name("t")
    image_file = tmp_path / "holiday.jpg"
    image_file.write_bytes(samples.jpeg_with_gps_and_orientation((800, 400)))

    page = new_page()
    ui.login(page, owner["user"]["username"])
    ui.go(page, "/photos", "view-gallery")
    page.get_by_test_id("upload-file").set_input_files(str(image_file))
    loaded(page.get_by_test_id("upload-preview"))  # a local preview before anything is sent
    page.get_by_test_id("upload-tags").fill("no spaces allowed!")
    page.get_by_test_id("upload-submit").click()
    error = page.get_by_test_id("upload-error")  # a sentence about the tags, no schema jargon
    expect(error.get_by_test_id("error-details")).to_have_text(
        "Tags are up to 10 words of letters, digits or underscores (30 at most each), separated by commas, "
        "e.g. sunset,beach.")
    expect(error).not_to_contain_text("pattern")
    page.get_by_test_id("upload-caption").fill(CAPTION)
    page.get_by_test_id("upload-tags").fill(f"{tag.upper()}, beach")
    page.get_by_test_id("upload-submit").click()
    expect(page.get_by_test_id("upload-notice")).to_contain_text("moderator")
    photo_id = page.get_by_test_id("upload-link").get_attribute("href").rsplit("/", 1)[-1]
    mine = page.locator(f'[data-testid="mine-grid"] [data-photo-id="{photo_id}"]')
    expect(mine.get_by_test_id("gallery-status")).to_have_text("pending")
    assert loaded(mine.get_by_test_id("gallery-thumb")) == [160, 320]  # fetched with the token, upright
    expect(page.locator(f'[data-testid="gallery-grid"] [data-photo-id="{photo_id}"]')).to_have_count(0)

    admin = new_page()
    ui.login(admin, admin_user["user"]["username"])
    ui.go(admin, "/admin/moderation", "view-moderation")
    item = admin.locator(f'[data-testid="mod-photo-item"][data-photo-id="{photo_id}"]')
    loaded(item.get_by_test_id("mod-photo-thumb"))
    assert item.get_by_test_id("mod-caption").text_content() == CAPTION
    item.get_by_test_id("mod-approve").click()
    expect(item.get_by_test_id("mod-outcome")).to_contain_text("Approved")
    expect(item.get_by_test_id("mod-status")).to_have_text("approved")

    reader = new_page()
    ui.login(reader, live_server.signup(unique_name("ron"))["user"]["username"])
    ui.go(reader, "/photos", "view-gallery")
    tile = reader.locator(f'[data-testid="gallery-grid"] [data-testid="gallery-item"][data-photo-id="{photo_id}"]')
    assert loaded(tile.get_by_test_id("gallery-thumb")) == [160, 320]
    assert tile.get_by_test_id("gallery-caption").text_content() == CAPTION  # the gallery shows captions
    tile.get_by_test_id("gallery-link").click()
    expect(reader.get_by_test_id("view-photo")).to_be_visible()
    assert loaded(reader.get_by_test_id("photo-image")) == [400, 800]
    assert reader.get_by_test_id("photo-caption").text_content() == CAPTION
    expect(reader.get_by_test_id("photo-delete")).to_have_count(0)

    reader.get_by_test_id("comment-body-input").fill("Lovely light")
    reader.get_by_test_id("comment-submit").click()
    expect(reader.get_by_test_id("comment-count")).to_have_text("1")
    expect(reader.get_by_test_id("comment-body")).to_have_text(["Lovely light"])

    # Tags are links to the tag's gallery.
    reader.get_by_test_id("photo-tag").filter(has_text=f"#{tag}").click()
    expect(reader.get_by_test_id("gallery-title")).to_have_text(f"Photos tagged #{tag}")
    expect(reader.locator('[data-testid="gallery-grid"] [data-testid="gallery-item"]')).to_have_count(1)

    # My photos, on a phone: the status and the comment count, no "approved ·" left hanging.
    page.set_viewport_size({"width": 360, "height": 740})
    page.reload()
    expect(page.get_by_test_id("view-gallery")).to_be_visible()
    meta = page.locator(f'[data-testid="mine-grid"] [data-photo-id="{photo_id}"] [data-testid="gallery-meta"]')
    expect(meta).to_contain_text("approved")
    expect(meta).to_contain_text("1 comment")
    lines = meta.evaluate("el => [...el.children].map(c => [c.getBoundingClientRect().top, "
                          "getComputedStyle(c, '::before').content])")
    assert lines[0][1] == "none" and lines[1][1] == '"· "', lines  # the "·" leads the part after it

    # The owner's Delete button keeps its distance from the comments under it.
    ui.go(page, f"/photo/{photo_id}", "view-photo")
    button = page.get_by_test_id("photo-delete").bounding_box()
    heading = page.get_by_role("heading", name="Comments").bounding_box()
    assert heading["y"] - (button["y"] + button["height"]) >= 16, (button, heading)
    for p in (page, admin, reader):
        assert p.evaluate("() => typeof window.__xss") == "undefined"
