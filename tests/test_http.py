"""The HTTP skeleton: the one error shape, request ids, health and the OpenAPI document."""

import pytest
from openapi_spec_validator import validate


def assert_error(resp, status, code):
    assert resp.status_code == status, resp.data
    body = resp.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_health_and_ready(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_ready_is_503_when_firestore_is_unreachable(emulator, project_id):
    from conftest import make_test_config

    from devstack import processes
    from server import create_app
    app = create_app(make_test_config(emulator, project_id,
                                      FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{processes.free_port()}"))
    try:
        assert app.test_client().get("/readyz").status_code == 503
    finally:
        app.extensions["shutdown"]()


def test_request_id_is_echoed_or_generated(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) >= 16
    assert client.get("/nowhere").headers["X-Request-ID"]


def test_unknown_path_and_method(client):
    assert_error(client.get("/api/v1/nowhere"), 404, "not_found")
    assert_error(client.post("/api/v1/nowhere", json={}), 404, "not_found")
    resp = client.delete("/api/v1/me")
    assert_error(resp, 405, "method_not_allowed")
    # Whatever the body: routing answers before the JSON-body guard.
    assert_error(client.post("/api/v1/nowhere", data="x", content_type="text/plain"), 404, "not_found")
    assert_error(client.put("/api/v1/posts", data="x", content_type="text/plain"), 405, "method_not_allowed")


@pytest.mark.parametrize("data,content_type,status", [
    ("not json", "application/json", 422),
    ("[1, 2]", "application/json", 422),
    ('"a string"', "application/json", 422),
    ("null", "application/json", 422),
    ("username=a", "application/x-www-form-urlencoded", 415),
    ("x", "text/plain", 415),
])
def test_bodies_that_are_not_json_objects(client, data, content_type, status):
    resp = client.post("/api/v1/auth/signup", data=data, content_type=content_type)
    assert_error(resp, status, "validation_error" if status == 422 else "unsupported_media_type")


def test_missing_body_is_422(client):
    assert_error(client.post("/api/v1/auth/signup"), 422, "validation_error")


def test_oversized_body_is_413(client):
    big = '{"username": "' + "a" * 70_000 + '"}'
    assert_error(client.post("/api/v1/auth/signup", data=big, content_type="application/json"),
                 413, "payload_too_large")


def test_unexpected_exception_is_500_without_internals(app, emulator, project_id):
    from conftest import make_test_config

    from server import create_app

    app = create_app(make_test_config(emulator, project_id))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.config["TESTING"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    resp = app.test_client().get("/boom")
    assert_error(resp, 500, "internal")
    assert "secret" not in resp.get_data(as_text=True)


def test_security_headers(client):
    resp = client.get("/healthz")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_openapi_is_valid_and_lists_every_route(app, client):
    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule in ("/api/v1/openapi.json", "/api/v1/client-config"):
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        path = path.replace("{string:", "{").replace("{int:", "{")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)


def test_options_offers_only_the_methods_of_the_route_the_path_matched(live_server, user):
    """/posts/mine is also a /posts/{post_id} to the router; PATCH and DELETE are not offered there."""
    def allowed(path):
        resp = live_server.api("OPTIONS", path, user["token"])
        assert resp.status_code == 200, resp.text
        return set(resp.headers["Allow"].split(", "))

    for kind in ("posts", "photos"):
        mine, one = allowed(f"/api/v1/{kind}/mine"), allowed(f"/api/v1/{kind}/abc")
        assert mine == {"GET", "HEAD", "OPTIONS"}, mine
        assert {"GET", "DELETE"} <= one, one
