"""Demo data for the run command: an admin, three users, money, posts and photos.

Idempotent: running it again finds the users and replays the same
Idempotency-Keys, so nothing is created twice.
"""

import io

from flask import current_app
from PIL import Image

from .content import CommentCreate
from .kernel.caller import Caller
from .kernel.errors import DomainError
from .kernel.paging import ListQuery
from .ledger.models import TransferRequest
from .photos.models import PhotoFields
from .posts.models import PostCreate

DEMO_PASSWORD = "demo-password"
ADMIN = "admin"
USERS = ("alice", "bob", "carol")


def _ensure_user(username, admin=False):
    user_id, doc = current_app.extensions["auth"].find_user_by_username(username)
    if user_id is None:
        if admin:
            user_id, _ = current_app.extensions["auth"].create_admin(username, DEMO_PASSWORD)
        else:
            user_id = current_app.extensions["auth"].create_user(username, DEMO_PASSWORD)[0]
        _, doc = current_app.extensions["auth"].find_user_by_username(username)
    return Caller(user_id, username, doc["role"])


def _money(create, caller, key, to, amount, memo):
    outcome = create(caller, f"demo-seed-{key}", TransferRequest(to=to, amount=amount, memo=memo))
    # A refusal such as insufficient_funds is fine: alice already spent what the replay would need.
    if outcome.error and outcome.error[1] != "insufficient_funds":
        raise DomainError(*outcome.error)


def seed(say=print):
    admin = _ensure_user(ADMIN, admin=True)
    users = {name: _ensure_user(name) for name in USERS}
    ledger = current_app.extensions["ledger"]
    _money(ledger.create_deposit, admin, "deposit-alice", "alice", 50_000, "welcome bonus")
    _money(ledger.create_deposit, admin, "deposit-bob", "bob", 25_000, "welcome bonus")
    _money(ledger.create_transfer, users["alice"], "alice-bob", "bob", 1_250, "pizza")
    _seed_posts(admin, users)
    _seed_photos(admin, users)
    say(f"demo users (password {DEMO_PASSWORD!r}): {ADMIN} (admin), {', '.join(USERS)}")


def _seed_posts(admin, users):
    """One approved post with a comment, and one waiting for moderation."""
    posts = current_app.extensions["posts_service"]
    if posts.list_mine(users["alice"], ListQuery(limit=1))["items"]:
        return
    welcome = posts.create_post(users["alice"], PostCreate(
        title="Hello from alice", body="Money and posts here move only through the trusted API."))["post"]
    posts.approve(admin, welcome["id"])
    posts.add_comment(users["bob"], welcome["id"], CommentCreate(body="Welcome! <b>not bold</b>"))
    posts.create_post(users["carol"], PostCreate(
        title="Waiting for a moderator", body="<script>alert('shown as text')</script>"))


def _demo_image(color):
    """A small gradient with a coloured block, made here (no image files in the repository)."""
    image = Image.linear_gradient("L").resize((640, 420)).convert("RGB")
    image.paste(color, (0, 0, 280, 180))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    out.seek(0)
    return out


def _seed_photos(admin, users):
    """One approved photo with a comment, and one waiting for moderation."""
    photos = current_app.extensions["photos"]
    if photos.list_mine(users["alice"], ListQuery(limit=1))["items"]:
        return
    sunset = photos.create_photo(users["alice"], PhotoFields(caption="Sunset over the ledger", tags="sunset,demo"),
                                 _demo_image((230, 120, 40)))["photo"]
    photos.approve(admin, sunset["id"])
    photos.add_comment(users["bob"], sunset["id"], CommentCreate(body="Lovely colours"))
    photos.create_photo(users["carol"], PhotoFields(caption="Waiting for a moderator", tags="demo"),
                        _demo_image((40, 120, 220)))
