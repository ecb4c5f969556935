"""Posts' rules on a fake store: who sees what, who may change what, moderation decisions."""

import datetime as dt

import pytest

from server.kernel.caller import Caller
from server.kernel.errors import DomainError
from server.moderation.models import Change, CommentCreate, moderation_decision, visible
from server.posts.models import Post, PostUpdate
from server.posts.service import PostService, post_view

AUTHOR = Caller("author1", "author")
OTHER = Caller("other1", "other")
ADMIN = Caller("admin1", "boss", role="admin")
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def post(status="pending", **extra):
    return {"author_id": AUTHOR.id, "author_username": AUTHOR.username, "title": "t", "body": "b",
            "status": status, "comment_count": 0, "created_at": NOW, "updated_at": NOW, "moderation": None,
            **extra}


class FakePostStore:
    """The store's interface over a dict; `change` applies decide() as the real one does in its commit."""

    parent_field = "post_id"

    def __init__(self):
        self.posts, self.comments, self.changes = {}, {}, []

    def get(self, post_id):
        return self.posts.get(post_id)

    def create_post(self, post_id, doc, caller):
        self.posts[post_id] = doc

    def change(self, post_id, decide, caller):
        plan = decide(self.posts.get(post_id))
        self.changes.append(plan.action)
        if plan.deletes:
            del self.posts[post_id]
            return None
        self.posts[post_id] = {**self.posts[post_id], **plan.updates}
        return self.posts[post_id]

    def add_comment(self, comment_id, doc, caller):
        self.comments[comment_id] = doc


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
    service.store.posts["p1"] = post("pending")
    with pytest.raises(DomainError) as err:
        service.get(OTHER, "p1")
    assert (err.value.status, err.value.code) == (404, "not_found")
    assert service.get(AUTHOR, "p1")["post"]["id"] == "p1"


def test_only_the_author_edits_and_an_edit_goes_back_to_pending(service):
    service.store.posts["p1"] = post("approved")
    with pytest.raises(DomainError) as err:
        service.update_post(OTHER, "p1", PostUpdate(title="x"))
    assert err.value.status == 403
    body = service.update_post(AUTHOR, "p1", PostUpdate(title="new"))
    assert body["post"]["title"] == "new" and body["post"]["status"] == "pending"
    assert service.store.changes == ["post.update"]


def test_an_admin_may_delete_another_users_post_a_user_may_not(service):
    service.store.posts["p1"] = post("approved")
    with pytest.raises(DomainError):
        service.delete(OTHER, "p1")
    service.delete(ADMIN, "p1")
    assert "p1" not in service.store.posts and service.store.changes == ["post.delete"]


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
    service.store.posts["p1"] = post("pending")
    body = CommentCreate(body="hi")
    with pytest.raises(DomainError) as err:
        service.add_comment(OTHER, "p1", body)
    assert err.value.status == 404
    service.store.posts["p1"] = post("approved")
    comment = service.add_comment(OTHER, "p1", body)["comment"]
    assert comment["post_id"] == "p1" and comment["author_username"] == "other"


def test_post_view_matches_its_model_exactly():
    moderated = post("approved", moderation={"by": "boss", "by_id": "admin1", "at": NOW, "reason": None})
    for doc in (post(), moderated):
        view = post_view("p1", doc)
        assert Post.model_validate(view).model_dump() == view
