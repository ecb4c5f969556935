"""Posts' rules on a fake store: who sees what, who may change what, moderation decisions."""

import datetime as dt

import pytest
from fakes import FakeDatastore

from server.kernel.caller import Caller
from server.kernel.errors import DomainError
from server.moderation.models import Change, CommentCreate, moderation_decision, visible
from server.posts.models import Post, PostUpdate
from server.posts.service import PostService, post_view
from server.posts.store import PostStore

AUTHOR = Caller("author1", "author")
OTHER = Caller("other1", "other")
ADMIN = Caller("admin1", "boss", role="admin")
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def post(status="pending", **extra):
    return {"author_id": AUTHOR.id, "author_username": AUTHOR.username, "title": "t", "body": "b",
            "status": status, "comment_count": 0, "created_at": NOW, "updated_at": NOW, "moderation": None,
            **extra}


class FakePostStore(PostStore):
    """The real PostStore's guarded `change` over the shared fake (fakes.py); reads and blind
    writes go to the fake directly. `changes` lists the audit actions of committed changes."""

    def __init__(self):
        super().__init__(FakeDatastore())

    @property
    def changes(self):
        return [e["action"] for e in self.datastore.in_collection("audit").values()]

    def put(self, post_id, doc):
        self.datastore.put("posts", post_id, doc)

    def get(self, post_id):
        return self.datastore.get("posts", post_id)

    def create_post(self, post_id, doc, caller):
        self.put(post_id, doc)

    def add_comment(self, comment_id, doc, caller):
        self.datastore.put("comments", comment_id, doc)

    def _comment_ids(self, item_id, limit):
        return [i for i, c in self.datastore.in_collection("comments").items() if c["post_id"] == item_id][:limit]


class NoPhotos:
    """The photos' side of posts when no post names a photo."""

    def require_own(self, caller, photo_ids):
        assert not photo_ids

    def shown_in_posts(self, posts):
        return [[] for _post in posts]


@pytest.fixture
def service():
    return PostService(FakePostStore(), NoPhotos())


@pytest.mark.parametrize("status, caller, seen", [
    ("approved", None, True), ("approved", OTHER, True),
    ("pending", None, False), ("pending", OTHER, False), ("pending", AUTHOR, True), ("pending", ADMIN, True),
    ("rejected", OTHER, False), ("rejected", AUTHOR, True), ("rejected", ADMIN, True),
])
def test_visibility(status, caller, seen):
    assert visible(post(status), caller, "author_id") is seen


def test_a_missing_item_is_visible_to_nobody():
    assert not visible(None, ADMIN, "author_id")


def test_hidden_post_is_404_never_403(service):
    service.store.put("p1", post("pending"))
    with pytest.raises(DomainError) as err:
        service.get(OTHER, "p1")
    assert (err.value.status, err.value.code) == (404, "not_found")
    assert service.get(AUTHOR, "p1")["post"]["id"] == "p1"


def test_only_the_author_edits_and_an_edit_goes_back_to_pending(service):
    service.store.put("p1", post("approved"))
    with pytest.raises(DomainError) as err:
        service.update_post(OTHER, "p1", PostUpdate(title="x"))
    assert err.value.status == 403
    body = service.update_post(AUTHOR, "p1", PostUpdate(title="new"))
    assert body["post"]["title"] == "new" and body["post"]["status"] == "pending"
    assert service.store.changes == ["post.update"]


def test_an_admin_may_delete_another_users_post_a_user_may_not(service):
    service.store.put("p1", post("approved"))
    with pytest.raises(DomainError):
        service.delete(OTHER, "p1")
    service.delete(ADMIN, "p1")
    assert service.store.get("p1") is None and service.store.changes == ["post.delete"]


def test_an_approval_that_loses_to_an_edit_decides_again_on_the_edited_post(service):
    """The admin read the post, the author edited it before the commit: the approval is decided
    again on the fresh read, so an admin never approves content they did not see."""
    service.store.put("p1", post("pending"))
    state = {"edit": True}

    def author_edits_first():
        if state.pop("edit", False):
            service.store.put("p1", {**service.store.get("p1"), "title": "edited"})

    service.store.datastore.before_commit = author_edits_first
    body = service.approve(ADMIN, "p1")
    assert (body["post"]["title"], body["post"]["status"]) == ("edited", "approved")
    assert service.store.datastore.get("approved_posts", "p1")["post_id"] == "p1"


def test_a_change_that_keeps_losing_is_a_503_and_writes_nothing(service):
    service.store.put("p1", post("pending"))
    service.store.datastore.before_commit = lambda: service.store.put("p1", service.store.get("p1"))
    with pytest.raises(DomainError) as err:
        service.approve(ADMIN, "p1")
    assert err.value.status == 503
    assert service.store.get("p1")["status"] == "pending" and service.store.changes == []


def test_moderation_decision_records_who_and_refuses_a_repeat():
    decide = moderation_decision("post", ADMIN, "rejected", "off topic")
    plan = decide(post("pending"))
    assert isinstance(plan, Change) and plan.action == "post.reject"
    assert plan.updates["moderation"]["by"] == "boss" and plan.updates["moderation"]["reason"] == "off topic"
    assert plan.details == {"from_status": "pending", "reason": "off topic"}
    with pytest.raises(DomainError) as err:
        decide(post("rejected"))
    assert (err.value.status, err.value.code) == (409, "conflict")
    with pytest.raises(DomainError) as err:
        decide(None)
    assert err.value.status == 404


def test_comments_only_on_approved_posts(service):
    service.store.put("p1", post("pending"))
    body = CommentCreate(body="hi")
    with pytest.raises(DomainError) as err:
        service.add_comment(OTHER, "p1", body)
    assert err.value.status == 404
    service.store.put("p1", post("approved"))
    comment = service.add_comment(OTHER, "p1", body)["comment"]
    assert comment["post_id"] == "p1" and comment["author_username"] == "other"


def test_post_view_matches_its_model_exactly():
    moderated = post("approved", moderation={"by": "boss", "by_id": "admin1", "at": NOW, "reason": None})
    for doc in (post(), moderated):
        view = post_view("p1", doc)
        assert Post.model_validate(view).model_dump() == view
