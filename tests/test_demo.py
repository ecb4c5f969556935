"""The run command's demo data: complete, and safe to seed twice."""

import uuid

from conftest import make_test_config

from devstack import demo_data as demo
from server import create_app


def test_demo_seed_is_idempotent(emulator):
    app = create_app(make_test_config(emulator, f"demo-seed-{uuid.uuid4().hex[:8]}"))
    try:
        demo.seed(app, lambda *_: None)
        demo.seed(app, lambda *_: None)
        client = app.test_client()
        feed = client.get("/api/v1/posts").json["items"]
        assert [p["title"] for p in feed] == ["Hello from alice"]
        assert feed[0]["comment_count"] == 1
        gallery = client.get("/api/v1/photos").json["items"]
        assert [(p["caption"], p["tags"], p["comment_count"]) for p in gallery] == [
            ("Sunset over the ledger", ["sunset", "demo"], 1)]
        assert client.get(gallery[0]["thumbnail_url"]).status_code == 200
        balances = {}
        for name in ("alice", "bob", "carol", "admin"):
            login = client.post("/api/v1/auth/login", json={"username": name, "password": demo.DEMO_PASSWORD})
            assert login.status_code == 200
            me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {login.json['token']}"}).json
            balances[name] = me["account"]["balance"]
            assert me["user"]["role"] == ("admin" if name == "admin" else "user")
        assert balances == {"alice": 48_750, "bob": 26_250, "carol": 0, "admin": 0}
    finally:
        app.extensions["shutdown"]()
