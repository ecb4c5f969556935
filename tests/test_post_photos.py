"""Photos in posts and machine labels, through HTTP against the real emulators.

The rule: a post names up to four photos of its author; approving the post
approves its pending photos in the same commit, each with its own
`photo.approve` event; a rejected or deleted photo drops out of the post's
answers. Labels: the cat-face detector runs at upload; the bundled cats of
scikit-image are labelled `cat`, its other photos are not; a labeller that
fails or overruns never refuses an upload.
"""

import io
import logging
import time

import numpy as np
import photo_samples as samples
import pytest
from conftest import approve_item, created, moderate_item
from google.cloud.firestore_v1 import DELETE_FIELD, FieldFilter
from PIL import Image
from skimage import data as skdata

from server.photos.labels import CatFaceLabeller

CAT = "opencv-haarcascade-frontalcatface-extended@opencv-"


def jpeg(array, quality=100):
    out = io.BytesIO()
    Image.fromarray(np.asarray(array)[..., :3] if np.asarray(array).ndim == 3 else array).save(
        out, "JPEG", quality=quality)
    return out.getvalue()


def upload(live, token, data=None, caption="", tags=""):
    data = data or samples.encode(samples.marked((64, 48)), "JPEG")
    resp = live.api("POST", "/api/v1/photos", token, files={"image": ("p.jpg", data, "image/jpeg")},
                    data={"caption": caption, "tags": tags})
    return created(resp, "photo")


def new_post(live, token, photo_ids, title="With photos"):
    return live.api("POST", "/api/v1/posts", token, json={"title": title, "body": "b", "photo_ids": photo_ids})


def get(live, path, token=None):
    resp = live.api("GET", path, token)
    assert resp.status_code == 200, resp.text
    return resp.json()


def audit(app, target):
    ref = app.extensions["datastore"].collection("audit")
    return [s.to_dict() for s in ref.where(filter=FieldFilter("target", "==", target)).stream()]


def count(app, collection):
    return sum(1 for _ in app.extensions["datastore"].collection(collection).select([]).stream())


@pytest.fixture
def other(live_server):
    return live_server.signup()


# --- photos in posts ---------------------------------------------------------------


def test_a_post_with_two_photos_is_approved_with_them(app, live_server, user, admin):
    token = user["token"]
    first, second = upload(live_server, token, caption="one"), upload(live_server, token, caption="two")
    post = created(new_post(live_server, token, [second["id"], first["id"]]), "post")
    assert [p["id"] for p in post["photos"]] == [second["id"], first["id"]]  # order kept
    assert {p["status"] for p in post["photos"]} == {"pending"}
    # The moderator sees the post's photos in the queue.
    queue = get(live_server, "/api/v1/admin/posts?status=pending&limit=100", admin["token"])["items"]
    queued = next(p for p in queue if p["id"] == post["id"])
    assert [p["caption"] for p in queued["photos"]] == ["two", "one"]
    # Nobody else sees the pending post or its photos.
    assert live_server.api("GET", f"/api/v1/posts/{post['id']}").status_code == 404

    approved = approve_item(live_server, "post", post)
    assert [p["status"] for p in approved["photos"]] == ["approved", "approved"]
    public = get(live_server, f"/api/v1/posts/{post['id']}")["post"]
    assert [p["id"] for p in public["photos"]] == [second["id"], first["id"]]
    feed = get(live_server, "/api/v1/posts?limit=100")["items"]
    assert [p["id"] for p in next(p for p in feed if p["id"] == post["id"])["photos"]] == [second["id"], first["id"]]
    gallery = {p["id"] for p in get(live_server, f"/api/v1/photos?owner={user['user']['username']}")["items"]}
    assert gallery == {first["id"], second["id"]}
    # Each photo has its own approval event, naming the post; the post's event lists them.
    for photo in (first, second):
        events = [e for e in audit(app, f"photos/{photo['id']}") if e["action"] == "photo.approve"]
        assert len(events) == 1 and events[0]["details"]["with"] == f"posts/{post['id']}"
    post_event = next(e for e in audit(app, f"posts/{post['id']}") if e["action"] == "post.approve")
    assert sorted(post_event["details"]["photos_approved"]) == sorted([first["id"], second["id"]])


def test_approving_a_post_leaves_a_rejected_photo_rejected(live_server, user):
    token = user["token"]
    keep, refused = upload(live_server, token), upload(live_server, token)
    assert moderate_item(live_server, refused["id"], "reject", "no", kind="photo").status_code == 200
    post = created(new_post(live_server, token, [keep["id"], refused["id"]]), "post")
    assert [p["id"] for p in post["photos"]] == [keep["id"]]  # rejected: left out, even for the author
    approved = approve_item(live_server, "post", post)
    assert [p["id"] for p in approved["photos"]] == [keep["id"]]
    assert get(live_server, f"/api/v1/photos/{refused['id']}", token)["photo"]["status"] == "rejected"


def test_someone_elses_or_an_unknown_photo_is_404_and_nothing_written(app, live_server, user, other):
    mine, theirs = upload(live_server, user["token"]), upload(live_server, other["token"])
    before = count(app, "posts")
    for ids in ([mine["id"], theirs["id"]], ["nosuchphoto"]):
        resp = new_post(live_server, user["token"], ids)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found", resp.text
    assert count(app, "posts") == before
    post = created(new_post(live_server, user["token"], [mine["id"]]), "post")
    resp = live_server.api("PATCH", f"/api/v1/posts/{post['id']}", user["token"], json={"photo_ids": [theirs["id"]]})
    assert resp.status_code == 404
    stored = app.extensions["datastore"].doc("posts", post["id"]).get().to_dict()
    assert stored["photo_ids"] == [mine["id"]]


@pytest.mark.parametrize("photo_ids", [["a", "b", "c", "d", "e"], ["a", "a"], [""], "a", None, [1]])
def test_malformed_photo_ids_are_422(live_server, user, photo_ids):
    resp = new_post(live_server, user["token"], photo_ids)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "validation_error", resp.text


def test_an_edit_changes_the_photos_and_sends_the_post_back_to_pending(live_server, user):
    token = user["token"]
    first, second = upload(live_server, token), upload(live_server, token)
    post = approve_item(live_server, "post", created(new_post(live_server, token, [first["id"]]), "post"))
    resp = live_server.api("PATCH", f"/api/v1/posts/{post['id']}", token,
                           json={"photo_ids": [second["id"], first["id"]]})
    assert resp.status_code == 200, resp.text
    edited = resp.json()["post"]
    assert edited["status"] == "pending"
    assert [(p["id"], p["status"]) for p in edited["photos"]] == [(second["id"], "pending"), (first["id"], "approved")]
    cleared = live_server.api("PATCH", f"/api/v1/posts/{post['id']}", token, json={"photo_ids": []}).json()["post"]
    assert cleared["photos"] == []


def test_a_deleted_photo_leaves_the_post_consistent(live_server, user):
    token = user["token"]
    first, second = upload(live_server, token), upload(live_server, token)
    post = approve_item(live_server, "post", created(new_post(live_server, token, [first["id"], second["id"]]), "post"))
    assert live_server.api("DELETE", f"/api/v1/photos/{first['id']}", token).status_code == 204
    assert [p["id"] for p in get(live_server, f"/api/v1/posts/{post['id']}")["post"]["photos"]] == [second["id"]]
    assert moderate_item(live_server, second["id"], "reject", "no", kind="photo").status_code == 200
    shown = get(live_server, f"/api/v1/posts/{post['id']}")["post"]
    assert shown["photos"] == [] and shown["status"] == "approved"
    # Deleting the post leaves the (other) photo alone: photos belong to the gallery too.
    third = upload(live_server, token)
    doomed = created(new_post(live_server, token, [third["id"]]), "post")
    assert live_server.api("DELETE", f"/api/v1/posts/{doomed['id']}", token).status_code == 204
    assert get(live_server, f"/api/v1/photos/{third['id']}", token)["photo"]["status"] == "pending"


# --- machine labels --------------------------------------------------------------------


@pytest.fixture(scope="module")
def cat_jpeg():
    return jpeg(skdata.chelsea())


def test_the_bundled_cat_is_labelled_and_joins_the_cat_zone_once_approved(live_server, user, cat_jpeg):
    photo = upload(live_server, user["token"], cat_jpeg)
    assert [label["name"] for label in photo["labels"]] == ["cat"]
    assert photo["labels"][0]["score"] is None and photo["labels"][0]["by"].startswith(CAT)
    assert photo["tags"] == []  # labels stay apart from the user's tags
    zone = "/api/v1/photos?label=cat&limit=100"
    assert photo["id"] not in {p["id"] for p in get(live_server, zone)["items"]}
    approve_item(live_server, "photo", photo)
    cats = get(live_server, zone)["items"]
    assert photo["id"] in {p["id"] for p in cats}
    assert all("cat" in [label["name"] for label in p["labels"]] and p["status"] == "approved" for p in cats)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera", "rocket"])
def test_bundled_non_cats_get_no_label(live_server, user, name):
    photo = upload(live_server, user["token"], jpeg(getattr(skdata, name)()))
    assert photo["labels"] == []
    approve_item(live_server, "photo", photo)
    assert photo["id"] not in {p["id"] for p in get(live_server, "/api/v1/photos?label=cat&limit=100")["items"]}


def test_the_cat_zone_pages_newest_first_and_knows_no_other_label(live_server, user, cat_jpeg):
    ids = [approve_item(live_server, "photo", upload(live_server, user["token"], cat_jpeg))["id"] for _ in range(3)]
    owner = user["user"]["username"]
    first = get(live_server, f"/api/v1/photos?label=cat&owner={owner}&limit=2")
    second = get(live_server, f"/api/v1/photos?label=cat&owner={owner}&limit=2&cursor={first['next_cursor']}")
    assert [p["id"] for p in first["items"] + second["items"]] == ids[::-1]
    assert get(live_server, "/api/v1/photos?label=dog") == {"items": [], "next_cursor": None}
    assert live_server.api("GET", "/api/v1/photos?label=<b>").status_code == 422


def test_a_tag_and_a_label_together_give_the_photos_with_both(live_server, user, cat_jpeg):
    """Firestore takes one array filter per query: the label is then read as `labelled.cat == true`."""
    token, owner = user["token"], user["user"]["username"]
    tag = f"t{owner[-12:]}"
    both = [approve_item(live_server, "photo", upload(live_server, token, cat_jpeg, tags=tag))["id"] for _ in range(3)]
    approve_item(live_server, "photo", upload(live_server, token, cat_jpeg, tags="other"))  # a cat, not the tag
    approve_item(live_server, "photo", upload(live_server, token, tags=tag))  # the tag, no cat
    first = get(live_server, f"/api/v1/photos?tag={tag}&label=cat&limit=2")
    second = get(live_server, f"/api/v1/photos?tag={tag}&label=cat&limit=2&cursor={first['next_cursor']}")
    assert [p["id"] for p in first["items"] + second["items"]] == both[::-1] and second["next_cursor"] is None
    mine = get(live_server, f"/api/v1/photos?tag={tag}&label=cat&owner={owner}")["items"]
    assert [p["id"] for p in mine] == both[::-1]
    assert get(live_server, f"/api/v1/photos?tag={tag}&label=dog") == {"items": [], "next_cursor": None}


def test_labels_are_not_the_users_to_set(live_server, user):
    resp = live_server.api("POST", "/api/v1/photos", user["token"],
                           files={"image": ("p.jpg", samples.encode(samples.marked((64, 48)), "JPEG"), "image/jpeg")},
                           data={"labels": "cat"})
    assert resp.status_code == 422


class Exploding:
    def __call__(self, image):
        raise RuntimeError("the detector broke")


class Slow:
    def __call__(self, image):
        time.sleep(2)
        return [{"name": "cat", "score": None, "by": "slow@1"}]


@pytest.mark.parametrize("labeller, logged", [(Exploding, "labeller failed"), (Slow, "labeller timed out")])
def test_a_labeller_error_or_time_out_stores_the_photo_without_labels(app, live_server, user, caplog, monkeypatch,
                                                                      labeller, logged):
    guarded = app.extensions["photos"].labeller
    monkeypatch.setattr(guarded, "_labeller", labeller())
    monkeypatch.setattr(guarded, "timeout", 0.3)
    with caplog.at_level(logging.WARNING, logger="server.photos.labels"):
        photo = upload(live_server, user["token"])
    assert photo["labels"] == []
    assert logged in caplog.text
    stored = app.extensions["datastore"].doc("photos", photo["id"]).get().to_dict()
    assert "labels" not in stored  # so that `photos relabel` finds it


def test_relabel_labels_photos_stored_before_labels(app, live_server, user, runner):
    # Relabel sees the stored image, re-encoded: a PNG keeps the cat's pixels exactly (the JPEG's
    # re-encoding at quality 88 is enough to lose this borderline detection; see the docs).
    cat_png = samples.encode(Image.fromarray(skdata.chelsea()), "PNG")
    cat, plain = upload(live_server, user["token"], cat_png), upload(live_server, user["token"])
    photos = app.extensions["datastore"].collection("photos")
    for photo in (cat, plain):  # as written before labels existed
        photos.document(photo["id"]).update({"labels": DELETE_FIELD, "label_names": DELETE_FIELD,
                                             "labelled": DELETE_FIELD})
    assert get(live_server, f"/api/v1/photos/{cat['id']}", user["token"])["photo"]["labels"] == []
    result = runner.invoke(args=["photos", "relabel"])
    assert result.exit_code == 0, result.output
    assert '"labelled"' in result.output
    relabelled = get(live_server, f"/api/v1/photos/{cat['id']}", user["token"])["photo"]
    assert [label["name"] for label in relabelled["labels"]] == ["cat"]
    assert photos.document(plain["id"]).get().to_dict()["labels"] == []
    assert any(e["action"] == "photo.relabel" for e in audit(app, f"photos/{cat['id']}"))
    approve_item(live_server, "photo", cat)
    assert cat["id"] in {p["id"] for p in get(live_server, "/api/v1/photos?label=cat&limit=100")["items"]}
    # --all relabels every photo, also those that have labels.
    def relabels():
        return sum(e["action"] == "photo.relabel" for e in audit(app, f"photos/{plain['id']}"))

    assert relabels() == 1
    runner.invoke(args=["photos", "relabel", "--all"])  # its exit status depends on every photo of the session
    assert relabels() == 2


def test_the_labeller_reads_the_cascade_shipped_in_the_package():
    labeller = CatFaceLabeller()
    assert labeller.by.startswith(CAT)
    assert labeller(Image.fromarray(skdata.chelsea()))[0]["name"] == "cat"
