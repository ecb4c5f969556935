"""Photos per the contract, through HTTP against the real emulators (Firestore and Cloud Storage).

What is stored is read back from the bucket and checked with Pillow: the
tests look at the bytes a viewer would get, not at what the server says.
"""

import functools
import io
import json
import struct
import threading

import photo_samples as samples
import pytest
from conftest import PASSWORD, approve_item, auth, created, make_test_config, moderate_item, unique_name
from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter
from PIL import Image
from rest import UserRest

from server import create_app
from server.photos import images

MiB = 1024 * 1024


# --- helpers ------------------------------------------------------------------


def upload(live, token, data, filename="photo.jpg", content_type="image/jpeg", caption="", tags=""):
    return live.api("POST", "/api/v1/photos", token, files={"image": (filename, data, content_type)},
                    data={"caption": caption, "tags": tags})


def uploaded(live, token, data=None, **kwargs):
    return created(upload(live, token, data or samples.encode(samples.marked((64, 48)), "JPEG"), **kwargs), "photo")


moderate = functools.partial(moderate_item, kind="photo")


def approved(live, token, **kwargs):
    return approve_item(live, "photo", uploaded(live, token, **kwargs))


def photo_doc(app, photo_id):
    snap = app.extensions["datastore"].doc("photos", photo_id).get()
    return snap.to_dict() if snap.exists else None


def bucket_names(app):
    return {name for name, _created in app.extensions["objectstore"].list("")}


def stored_object(app, name):
    return app.extensions["objectstore"].get(name)


def stored_image(app, photo_id, kind="image_object"):
    data = stored_object(app, photo_doc(app, photo_id)[kind])
    return data, Image.open(io.BytesIO(data))


def docs_of_owner(app, owner_id):
    ref = app.extensions["datastore"].collection("photos")
    return list(ref.where(filter=FieldFilter("owner_id", "==", owner_id)).stream())


def audit_actions(app, target):
    ref = app.extensions["datastore"].collection("audit")
    return sorted(s.get("action") for s in ref.where(filter=FieldFilter("target", "==", target)).stream())


def assert_no_metadata(data, image):
    """Nothing but pixels: no EXIF (so no GPS), no ICC, XMP, comments or text chunks."""
    assert not image.getexif(), dict(image.getexif())
    assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "loop",
                               "duration", "background", "timestamp"}, image.info
    assert getattr(image, "text", {}) == {}
    for needle in (b"Exif", b"SpyCam", b"xmpmeta", b"<script", b"GPS"):
        assert needle not in data, needle


@pytest.fixture
def other(live_server):
    return live_server.signup()


# --- cleaning -------------------------------------------------------------------


def test_jpeg_with_gps_and_orientation_is_stored_upright_without_metadata(app, live_server, user):
    original = samples.jpeg_with_gps_and_orientation((800, 400))
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(samples.GPS_IFD)  # the sample does carry GPS
    photo = uploaded(live_server, user["token"], original, caption="Paris", tags="Travel, paris")

    assert photo["status"] == "pending" and photo["content_type"] == "image/jpeg"
    assert (photo["width"], photo["height"]) == (400, 800)  # turned upright
    assert photo["owner_id"] == user["user"]["id"] and photo["owner_username"] == user["user"]["username"]
    assert photo["caption"] == "Paris" and photo["tags"] == ["travel", "paris"]
    assert photo["comment_count"] == 0 and photo["moderation"] is None
    assert photo["image_url"] == f"/api/v1/photos/{photo['id']}/image"
    assert photo["thumbnail_url"] == f"/api/v1/photos/{photo['id']}/thumbnail"

    data, image = stored_image(app, photo["id"])
    assert photo["bytes"] == len(data)
    assert image.format == "JPEG" and image.size == (400, 800)
    assert [marker for marker, _ in image.applist] == ["APP0"]  # JFIF only: no APP1 (EXIF/XMP), no APP2 (ICC)
    assert_no_metadata(data, image)
    # The blue block, top-left in the sensor's frame, is top-right once turned 90° clockwise.
    assert image.getpixel((390, 10))[2] > 150 and image.getpixel((10, 10))[0] > 150

    thumb_data, thumb = stored_image(app, photo["id"], "thumbnail_object")
    assert thumb.format == "JPEG" and thumb.size == (160, 320)
    assert_no_metadata(thumb_data, thumb)


@pytest.mark.parametrize("make, fmt, content_type", [
    (samples.png_with_text_chunks, "PNG", "image/png"),
    (samples.webp_with_metadata, "WEBP", "image/webp"),
])
def test_png_and_webp_are_accepted_and_cleaned(app, live_server, user, make, fmt, content_type):
    # Name and declared type are wrong on purpose: the content decides.
    photo = uploaded(live_server, user["token"], make(), filename="x.gif", content_type="text/html")
    assert photo["content_type"] == content_type
    data, image = stored_image(app, photo["id"])
    assert image.format == fmt and image.size == (photo["width"], photo["height"])
    assert_no_metadata(data, image)
    _thumb_data, thumb = stored_image(app, photo["id"], "thumbnail_object")
    assert thumb.format == fmt and max(thumb.size) == 320


def test_html_inside_or_after_a_jpeg_is_not_stored(app, live_server, user):
    photo = uploaded(live_server, user["token"], samples.jpeg_carrying_html())
    for kind in ("image_object", "thumbnail_object"):
        data, image = stored_image(app, photo["id"], kind)
        assert b"<script" not in data and b"html" not in data.lower() and b"owned" not in data
        assert "comment" not in image.info
        assert data.endswith(b"\xff\xd9")  # nothing after the end-of-image marker


HOSTILE = {
    "html named .jpg": lambda: samples.HTML,
    "truncated jpeg": samples.truncated_jpeg,
    "svg": lambda: samples.SVG,
    "20000x20000 png bomb": samples.png_bomb,
    "animated png bomb": samples.apng_bomb,
    "animated webp": samples.animated_webp,
    "empty file": lambda: b"",
}


@pytest.fixture(scope="module")
def hostile_files():
    return {name: make() for name, make in HOSTILE.items()}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files_are_refused_and_nothing_is_stored(app, live_server, user, hostile_files, name):
    before = bucket_names(app)
    resp = upload(live_server, user["token"], hostile_files[name], filename="cat.jpg", content_type="image/jpeg")
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "invalid_image"
    assert bucket_names(app) - before == set()
    assert docs_of_owner(app, user["user"]["id"]) == []


def test_the_bomb_is_small_on_the_wire_and_huge_decoded(hostile_files):
    """The samples are what they claim to be (a test of the test)."""
    bomb = hostile_files["20000x20000 png bomb"]
    assert len(bomb) < 64 * 1024
    assert bomb[12:16] == b"IHDR" and struct.unpack(">II", bomb[16:24]) == (20_000, 20_000)
    apng = Image.open(io.BytesIO(hostile_files["animated png bomb"]))
    assert apng.n_frames * apng.width * apng.height > 1_000_000_000 > apng.width * apng.height * 25


def test_one_byte_over_10_mib_is_413_and_nothing_is_stored(app, live_server, user):
    before = bucket_names(app)
    data = samples.encode(samples.marked((64, 48)), "JPEG")
    data += b"\x00" * (images.MAX_BYTES + 1 - len(data))  # a valid JPEG with trailing bytes: 10 MiB + 1
    resp = upload(live_server, user["token"], data)
    assert resp.status_code == 413, resp.text
    assert resp.json()["error"]["code"] == "payload_too_large"
    assert bucket_names(app) == before and docs_of_owner(app, user["user"]["id"]) == []


def test_exactly_10_mib_is_not_refused_for_its_size(live_server, user):
    data = samples.encode(samples.marked((64, 48)), "JPEG")
    data += b"\x00" * (images.MAX_BYTES - len(data))
    resp = upload(live_server, user["token"], data)
    assert resp.status_code == 201, resp.text


def test_a_body_far_over_the_limit_is_413(live_server, user):
    resp = upload(live_server, user["token"], b"\xff" * (11 * MiB))
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_without_length_is_cut_at_the_limit(app, live_server, user):
    """No Content-Length to refuse up front: the server stops reading at the limit."""
    before = bucket_names(app)

    def body():
        yield (b'--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
               b"Content-Type: image/jpeg\r\n\r\n")
        for _ in range(12):
            yield b"\xff" * MiB
        yield b"\r\n--xyz--\r\n"

    resp = live_server.api("POST", "/api/v1/photos", user["token"], data=body(),
                           headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "payload_too_large"
    assert bucket_names(app) == before


def test_other_endpoints_keep_the_64_kib_limit(live_server, user):
    resp = live_server.api("POST", "/api/v1/posts", user["token"], json={"title": "t", "body": "x" * (65 * 1024)})
    assert resp.status_code == 413
    resp = live_server.api("POST", "/api/v1/posts", user["token"], files={"image": ("a.jpg", b"x" * 1000)})
    assert resp.status_code == 415


def test_upload_form_is_validated(live_server, user):
    token = user["token"]
    as_json = live_server.api("POST", "/api/v1/photos", token, json={"caption": "x"})
    assert as_json.status_code == 415
    no_image = live_server.api("POST", "/api/v1/photos", token, files={"caption": (None, "hi")})
    assert no_image.status_code == 422 and no_image.json()["error"]["code"] == "validation_error"
    data = samples.encode(samples.marked((64, 48)), "JPEG")
    extra = live_server.api("POST", "/api/v1/photos", token, files={"image": ("a.jpg", data), "other": ("b", b"x")})
    assert extra.status_code == 422
    long_caption = upload(live_server, token, data, caption="x" * 501)
    assert long_caption.status_code == 422
    assert upload(live_server, None, data).status_code == 401


@pytest.mark.parametrize("tags", [
    "a" * 31, "ok,", ",ok", "sp ace", "dash-ed", "émoji", "a,b,c,d,e,f,g,h,i,j,k", "tag;drop", "<b>",
])
def test_bad_tags_are_422(live_server, user, tags):
    resp = upload(live_server, user["token"], samples.encode(samples.marked((64, 48)), "JPEG"), tags=tags)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"
    assert resp.json()["error"]["details"][0]["field"] == "tags"


def test_tags_are_lower_cased_and_kept_once(live_server, user):
    photo = uploaded(live_server, user["token"], tags=f"Cats, DOGS,cats,{'z' * 30},a_1,x,y,z,w,v")
    assert photo["tags"] == ["cats", "dogs", "z" * 30, "a_1", "x", "y", "z", "w", "v"]
    assert uploaded(live_server, user["token"], tags="  ")["tags"] == []


def test_caption_is_kept_exactly(live_server, user):
    caption = "  42 <b>bold</b> \"q\" 😀\n"  # not JSON-decoded, not stripped, not escaped
    assert uploaded(live_server, user["token"], caption=caption)["caption"] == caption


# --- visibility and serving -------------------------------------------------------


def test_pending_photo_and_its_bytes_are_404_to_strangers(live_server, user, other, admin):
    photo = uploaded(live_server, user["token"])
    pid = photo["id"]
    for suffix in ("", "/image", "/thumbnail", "/comments"):
        for token in (None, other["token"]):
            resp = live_server.api("GET", f"/api/v1/photos/{pid}{suffix}", token)
            assert resp.status_code == 404, (suffix, resp.text)
            assert resp.json()["error"]["code"] == "not_found"
            assert resp.headers["Cache-Control"] == "no-store"
    for token in (user["token"], admin["token"]):
        assert live_server.api("GET", f"/api/v1/photos/{pid}", token).json()["photo"] == photo
        image = live_server.api("GET", f"/api/v1/photos/{pid}/image", token)
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
        assert image.headers["Cache-Control"] == "private, no-store"  # never kept by a shared cache
    gallery = live_server.api("GET", "/api/v1/photos", params={"limit": 100}).json()["items"]
    assert pid not in [p["id"] for p in gallery]
    mine = live_server.api("GET", "/api/v1/photos/mine", user["token"]).json()["items"]
    assert [p["id"] for p in mine] == [pid]


def test_approved_image_is_public_immutable_and_labelled(app, live_server, user):
    photo = approved(live_server, user["token"], data=samples.png_with_text_chunks())
    image = live_server.api("GET", photo["image_url"])
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "sandbox" in image.headers["Content-Security-Policy"]
    assert image.content == stored_image(app, photo["id"])[0]
    again = live_server.api("GET", photo["image_url"], headers={"If-None-Match": image.headers["ETag"]})
    assert again.status_code == 304
    thumb = live_server.api("GET", photo["thumbnail_url"])
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.content)).size == (320, 192)


def test_gallery_filters_by_tag_and_owner_newest_first(live_server, user, other):
    tag = unique_name("t")
    first = approved(live_server, user["token"], tags=f"{tag},common")
    second = approved(live_server, other["token"], tags=tag)
    third = approved(live_server, user["token"], tags="common")

    def ids(**params):
        resp = live_server.api("GET", "/api/v1/photos", params={"limit": 100, **params})
        assert resp.status_code == 200, resp.text
        return [p["id"] for p in resp.json()["items"]]

    assert ids(tag=tag.upper()) == [second["id"], first["id"]]
    assert ids(owner=user["user"]["username"]) == [third["id"], first["id"]]
    assert ids(owner=user["user"]["username"], tag=tag) == [first["id"]]
    assert ids()[:3] == [third["id"], second["id"], first["id"]]
    assert live_server.api("GET", "/api/v1/photos", params={"tag": "bad tag"}).status_code == 422
    page = live_server.api("GET", "/api/v1/photos", params={"limit": 1, "tag": tag}).json()
    rest = live_server.api("GET", "/api/v1/photos", params={"limit": 1, "tag": tag, "cursor": page["next_cursor"]})
    assert [p["id"] for p in page["items"] + rest.json()["items"]] == [second["id"], first["id"]]


# --- deletion -------------------------------------------------------------------------


def test_deleting_removes_the_objects_comments_and_document(app, live_server, user, other, admin):
    photo = approved(live_server, user["token"])
    pid = photo["id"]
    doc = photo_doc(app, pid)
    names = {doc["image_object"], doc["thumbnail_object"]}
    assert names <= bucket_names(app)
    made = live_server.api("POST", f"/api/v1/photos/{pid}/comments", other["token"], json={"body": "nice"})
    assert made.status_code == 201

    assert live_server.api("DELETE", f"/api/v1/photos/{pid}", other["token"]).status_code == 403
    resp = live_server.api("DELETE", f"/api/v1/photos/{pid}", user["token"])
    assert resp.status_code == 204
    assert names & bucket_names(app) == set()
    assert photo_doc(app, pid) is None
    assert live_server.api("GET", f"/api/v1/photos/{pid}/image").status_code == 404
    comments = app.extensions["datastore"].collection("photo_comments")
    assert list(comments.where(filter=FieldFilter("photo_id", "==", pid)).stream()) == []
    assert audit_actions(app, f"photos/{pid}") == ["photo.approve", "photo.create", "photo.delete"]
    assert live_server.api("DELETE", f"/api/v1/photos/{pid}", user["token"]).status_code == 404

    by_admin = uploaded(live_server, user["token"])
    assert live_server.api("DELETE", f"/api/v1/photos/{by_admin['id']}", other["token"]).status_code == 404
    assert live_server.api("DELETE", f"/api/v1/photos/{by_admin['id']}", admin["token"]).status_code == 204


# --- nothing half-stored ----------------------------------------------------------------


class FailingCommit:
    """A datastore whose batches fail at commit, as a lost connection would.

    landed=True: the commit goes through, then the answer is lost (a time-out).
    """

    def __init__(self, datastore, landed=False):
        self._datastore = datastore
        self._landed = landed

    def __getattr__(self, name):
        return getattr(self._datastore, name)

    def batch(self):
        batch = self._datastore.batch()
        real_commit = batch.commit

        def commit(*args, **kwargs):
            if self._landed:
                real_commit(*args, **kwargs)
                raise gexc.DeadlineExceeded("injected: the answer was lost")
            raise gexc.ServiceUnavailable("injected: Firestore went away")

        batch.commit = commit
        return batch


def test_a_failed_commit_after_the_upload_leaves_no_object(app, live_server, user, monkeypatch):
    store = app.extensions["photos"].store
    uploads = []
    put = store.objects.put
    monkeypatch.setattr(store.objects, "put", lambda name, *a, **k: (uploads.append(name), put(name, *a, **k)))
    monkeypatch.setattr(store, "datastore", FailingCommit(store.datastore))
    before = bucket_names(app)
    resp = upload(live_server, user["token"], samples.jpeg_with_gps_and_orientation())
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "unavailable"
    assert len(uploads) == 2  # the objects were written before the commit failed...
    assert bucket_names(app) == before  # ...and are gone again
    assert docs_of_owner(app, user["user"]["id"]) == []


def test_a_commit_whose_answer_is_lost_keeps_its_objects(app, live_server, user, monkeypatch):
    store = app.extensions["photos"].store
    monkeypatch.setattr(store, "datastore", FailingCommit(store.datastore, landed=True))
    resp = upload(live_server, user["token"], samples.jpeg_with_gps_and_orientation())
    assert resp.status_code == 503, resp.text  # the client cannot know; the photo is there
    monkeypatch.undo()
    [snap] = docs_of_owner(app, user["user"]["id"])
    doc = snap.to_dict()
    assert {doc["image_object"], doc["thumbnail_object"]} <= bucket_names(app)
    assert live_server.api("GET", f"/api/v1/photos/{snap.id}/image", user["token"]).status_code == 200


def test_verify_reports_orphans_and_missing_objects(app, live_server, user, runner):
    photo = uploaded(live_server, user["token"])
    objects = app.extensions["objectstore"]
    orphan = f"photos/{unique_name()}/planted-image"
    objects.put(orphan, b"not referenced", "image/jpeg")
    doc = photo_doc(app, photo["id"])
    saved = objects.get(doc["thumbnail_object"])
    objects.delete(doc["thumbnail_object"])
    try:
        young = runner.invoke(args=["photos", "verify"])  # default grace: a fresh object may be an upload in flight
        assert orphan not in young.output
        result = runner.invoke(args=["photos", "verify", "--grace-seconds", "0"])
        assert result.exit_code == 1, result.output
        report = json.loads(result.output)
        problems = {(p["kind"], p["object"]) for p in report["problems"]}
        assert ("object_without_photo", orphan) in problems
        assert ("photo_without_object", doc["thumbnail_object"]) in problems
        fixed = runner.invoke(args=["photos", "verify", "--grace-seconds", "0", "--delete-orphans"])
        assert json.loads(fixed.output)["orphans_deleted"] >= 1
        assert orphan not in bucket_names(app)
    finally:
        objects.delete(orphan)
        objects.put(doc["thumbnail_object"], saved, "image/jpeg")
    clean = runner.invoke(args=["photos", "verify", "--grace-seconds", "0"])
    # Only this test's objects: the session's other tests own the rest of the bucket.
    ours = {orphan, doc["image_object"], doc["thumbnail_object"]}
    assert not [p for p in json.loads(clean.output)["problems"] if p.get("object") in ours], clean.output
    assert json.loads(clean.output)["photos_checked"] >= 1


# --- comments and moderation ------------------------------------------------------------


def test_comments_count_exactly_under_concurrency(app, live_server, user):
    photo = approved(live_server, user["token"])
    pid = photo["id"]
    assert live_server.api("POST", f"/api/v1/photos/{uploaded(live_server, user['token'])['id']}/comments",
                           user["token"], json={"body": "on a pending photo"}).status_code == 404
    writers = [live_server.signup() for _ in range(6)]
    statuses = []

    def write(token):
        for i in range(4):
            resp = live_server.api("POST", f"/api/v1/photos/{pid}/comments", token, json={"body": f"c{i}"})
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=write, args=(w["token"],)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * 24
    assert live_server.api("GET", f"/api/v1/photos/{pid}").json()["photo"]["comment_count"] == 24
    listed = live_server.api("GET", f"/api/v1/photos/{pid}/comments", params={"limit": 100}).json()["items"]
    assert len(listed) == 24 and all(c["photo_id"] == pid for c in listed)
    assert [c["created_at"] for c in listed] == sorted(c["created_at"] for c in listed)  # oldest first
    assert audit_actions(app, f"photo_comments/{listed[0]['id']}") == ["comment.create"]


def test_moderation_as_for_posts(app, live_server, user, other, admin):
    photo = uploaded(live_server, user["token"])
    pid = photo["id"]
    queue = live_server.api("GET", "/api/v1/admin/photos", admin["token"], params={"status": "pending", "limit": 100})
    assert pid in [p["id"] for p in queue.json()["items"]]
    assert live_server.api("GET", "/api/v1/admin/photos", other["token"]).status_code == 403
    assert moderate(live_server, pid, "approve", token=other["token"]).status_code == 403

    ok = moderate(live_server, pid, "approve", token=admin["token"])
    assert ok.status_code == 200 and ok.json()["photo"]["status"] == "approved"
    assert ok.json()["photo"]["moderation"]["by"] == admin["user"]["username"]
    assert moderate(live_server, pid, "approve").status_code == 409
    assert moderate(live_server, pid, "reject").status_code == 422  # a reason is required
    rejected = moderate(live_server, pid, "reject", reason="not yours")
    assert rejected.status_code == 200
    assert rejected.json()["photo"]["moderation"]["reason"] == "not yours"
    assert live_server.api("GET", f"/api/v1/photos/{pid}/image").status_code == 404
    assert live_server.api("POST", f"/api/v1/photos/{pid}/comments", other["token"],
                           json={"body": "late"}).status_code == 404
    assert live_server.api("GET", f"/api/v1/photos/{pid}", user["token"]).json()["photo"]["status"] == "rejected"
    assert moderate(live_server, "nope", "approve").status_code == 404
    assert audit_actions(app, f"photos/{pid}") == ["photo.approve", "photo.create", "photo.reject"]


def test_storage_rules_deny_every_client_read_and_write():
    """The storage emulator here does not evaluate rules: check what is deployed instead."""
    import os
    import re

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "firebase.json"), encoding="utf-8") as fh:
        rules_path = json.load(fh)["storage"]["rules"]
    with open(os.path.join(root, rules_path), encoding="utf-8") as fh:
        rules = re.sub(r"//[^\n]*", "", fh.read())
    assert re.findall(r"allow\s+[^;]*;", rules) == ["allow read, write: if false;"]
    assert "match /{allPaths=**}" in rules


def test_rules_refuse_clients_the_photo_documents(emulator, project_id, live_server, user):
    """From the attacker's side: an end-user token against Firestore directly."""
    app = live_server.app
    photo = uploaded(live_server, user["token"])
    pid = photo["id"]
    rest = UserRest(emulator.url, project_id, user["user"]["id"])
    approve = {"status": {"stringValue": "approved"}, "image_object": {"stringValue": "photos/x/evil-image"}}
    assert rest.patch(f"photos/{pid}", approve).status_code == 403
    assert rest.get(f"photos/{pid}").status_code == 403  # not even the owner: reads go through the API
    assert rest.create("photos", approve, doc_id=unique_name("p")).status_code == 403
    assert rest.create("photo_comments", {"photo_id": {"stringValue": pid}}).status_code == 403
    assert rest.create("approved_photos", {}, doc_id=pid).status_code == 403
    assert photo_doc(app, pid)["status"] == "pending"


def test_uploads_are_rate_limited_per_user(emulator, project_id):
    app = create_app(make_test_config(emulator, project_id, CONTENT_RATE_LIMIT="2/minute"))
    client = app.test_client()
    try:
        def signup():
            resp = client.post("/api/v1/auth/signup", json={"username": unique_name(), "password": PASSWORD})
            return auth(resp.json["token"])

        first, second = signup(), signup()
        data = samples.encode(samples.marked((32, 32)), "PNG")

        def send(headers):
            return client.post("/api/v1/photos", headers=headers,
                               data={"image": (io.BytesIO(data), "a.png")}).status_code

        assert [send(first) for _ in range(3)] == [201, 201, 429]
        assert send(second) == 201  # another user's quota
    finally:
        app.extensions["shutdown"]()


def test_openapi_documents_the_upload(client):
    spec = client.get("/api/v1/openapi.json").json
    body = spec["paths"]["/api/v1/photos"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["properties"]["image"]["format"] == "binary"
    assert {"caption", "tags"} <= set(body["properties"])
    image = spec["paths"]["/api/v1/photos/{photo_id}/image"]["get"]["responses"]["200"]["content"]
    assert set(image) == {"image/jpeg", "image/png", "image/webp", "application/octet-stream"}
    assert "413" in spec["paths"]["/api/v1/photos"]["post"]["responses"]


def test_an_image_comes_as_plain_bytes_to_a_client_that_asks(live_server, user):
    """Generated clients map only application/octet-stream to bytes: the document lists it, and
    the server sends it when asked (else the stored type, Vary: Accept for caches)."""
    photo = uploaded(live_server, user["token"], samples.encode(samples.marked((64, 48)), "PNG"), filename="m.png",
                     content_type="image/png")
    url = f"/api/v1/photos/{photo['id']}/thumbnail"
    stored = live_server.api("GET", url, user["token"])
    plain = live_server.api("GET", url, user["token"], headers={"Accept": "application/octet-stream"})
    assert stored.headers["Content-Type"] == "image/png" and "Accept" in stored.headers["Vary"]
    assert plain.headers["Content-Type"] == "application/octet-stream" and plain.content == stored.content
