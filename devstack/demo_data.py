"""Demo data for the run command: an admin, three users, money, posts and photos.

Seeded the way a client would: through the HTTP API of an app made by
`create_app` (Flask's test client, no socket) and the operator's
`create-admin` command, so the local stack needs nothing of the server's
inside. Idempotent: running it again finds the users, replays the same
Idempotency-Keys and sees the posts and photos already there.
"""

import io

from PIL import Image

DEMO_PASSWORD = "demo-password"
ADMIN = "admin"
USERS = ("alice", "bob", "carol")
API = "/api/v1"


class DemoSeedError(RuntimeError):
    """The API refused a demo request it should have taken."""


class _Client:
    """One signed-in demo user over the app's HTTP API."""

    def __init__(self, http, username):
        self.http = http
        login = http.post(f"{API}/auth/login", json={"username": username, "password": DEMO_PASSWORD})
        self.token = _expect(login, 200)["token"]

    def call(self, method, path, expected, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return _expect(self.http.open(f"{API}{path}", method=method, headers=headers, **kwargs), *expected)


def _expect(response, *statuses):
    if response.status_code not in statuses:
        raise DemoSeedError(f"{response.request.method} {response.request.path}: "
                            f"{response.status_code} {response.get_data(as_text=True)[:300]}")
    return response.get_json(silent=True) or {}


def _ensure_admin(app):
    result = app.test_cli_runner().invoke(args=["create-admin", ADMIN], env={"ADMIN_PASSWORD": DEMO_PASSWORD})
    if result.exit_code != 0:
        raise DemoSeedError(f"create-admin: {result.output}")


def _ensure_user(http, username):
    signup = http.post(f"{API}/auth/signup", json={"username": username, "password": DEMO_PASSWORD})
    _expect(signup, 201, 409)  # 409: seeded before


def seed(app, say=print):
    http = app.test_client()
    _ensure_admin(app)
    for name in USERS:
        _ensure_user(http, name)
    admin = _Client(http, ADMIN)
    users = {name: _Client(http, name) for name in USERS}
    # 409 insufficient_funds on a second run is fine: alice already spent what the replay needs.
    _money(admin, "/admin/deposits", "deposit-alice", "alice", 50_000, "welcome bonus")
    _money(admin, "/admin/deposits", "deposit-bob", "bob", 25_000, "welcome bonus")
    _money(users["alice"], "/transfers", "alice-bob", "bob", 1_250, "pizza")
    _seed_posts(admin, users)
    _seed_photos(admin, users)
    say(f"demo users (password {DEMO_PASSWORD!r}): {ADMIN} (admin), {', '.join(USERS)}")


def _money(client, path, key, to, amount, memo):
    client.call("POST", path, (200, 201, 409), json={"to": to, "amount": amount, "memo": memo},
                headers={"Idempotency-Key": f"demo-seed-{key}"})


def _seed_posts(admin, users):
    """One approved post with a comment, and one waiting for moderation."""
    if users["alice"].call("GET", "/posts/mine?limit=1", (200,))["items"]:
        return
    welcome = users["alice"].call("POST", "/posts", (201,), json={
        "title": "Hello from alice", "body": "Money and posts here move only through the trusted API."})["post"]
    admin.call("POST", f"/admin/posts/{welcome['id']}/approve", (200,))
    users["bob"].call("POST", f"/posts/{welcome['id']}/comments", (201,), json={"body": "Welcome! <b>not bold</b>"})
    users["carol"].call("POST", "/posts", (201,), json={
        "title": "Waiting for a moderator", "body": "<script>alert('shown as text')</script>"})


def _demo_image(color):
    """A small gradient with a coloured block, made here (no image files in the repository)."""
    image = Image.linear_gradient("L").resize((640, 420)).convert("RGB")
    image.paste(color, (0, 0, 280, 180))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    out.seek(0)
    return out


def _upload(client, caption, tags, color):
    form = {"image": (_demo_image(color), "demo.jpg", "image/jpeg"), "caption": caption, "tags": tags}
    return client.call("POST", "/photos", (201,), data=form, content_type="multipart/form-data")["photo"]


def _seed_photos(admin, users):
    """One approved photo with a comment, and one waiting for moderation."""
    if users["alice"].call("GET", "/photos/mine?limit=1", (200,))["items"]:
        return
    sunset = _upload(users["alice"], "Sunset over the ledger", "sunset,demo", (230, 120, 40))
    admin.call("POST", f"/admin/photos/{sunset['id']}/approve", (200,))
    users["bob"].call("POST", f"/photos/{sunset['id']}/comments", (201,), json={"body": "Lovely colours"})
    _upload(users["carol"], "Waiting for a moderator", "demo", (40, 120, 220))
