"""The OpenAPI document's request schemas state the validators' rules, and every
operation lists the statuses the shared machinery can answer. Pure: no emulator."""

import re
import sys
import unicodedata

import pytest
from flask_limiter.util import get_qualified_name
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from server import create_app
from server.auth.models import Credentials
from server.edge.limits import limiter
from server.kernel import ids, text

# Generated text: no surrogates (a JSON client cannot send lone ones as UTF-8).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


def _ranges(predicate):
    ranges, start = [], None
    for code in range(sys.maxunicode + 2):
        inside = code <= sys.maxunicode and predicate(chr(code))
        if inside and start is None:
            start = code
        elif not inside and start is not None:
            ranges.append((start, code - 1))
            start = None
    return tuple(ranges)


def test_character_ranges_are_this_pythons_unicode():
    invisible = {"Zs", "Zl", "Zp", "Cc", "Cf"}
    assert _ranges(lambda ch: ch.isspace() or unicodedata.category(ch) in invisible) == text.INVISIBLE_RANGES
    assert _ranges(lambda ch: unicodedata.category(ch) in {"Cc", "Zl", "Zp"}) == text.LINE_BREAKING_RANGES


def _accepts(check, value):
    try:
        check(value)
    except ValueError:
        return False
    return True


@given(st.one_of(TEXT, st.text(st.sampled_from(" \t\n\u00a0\u200b\u2028\u3000\ufeffa\u0085\U000e0020"))))
def test_text_pattern_is_the_blank_rule(value):
    assert (re.search(text.VISIBLE_TEXT_PATTERN, value) is not None) == _accepts(text.check_text, value)


@given(st.one_of(TEXT, st.text(st.sampled_from(" \t\n\u00a0\u200b\u2028x\u0085\u0096\U000e0020"))))
def test_title_pattern_is_the_title_rule(value):
    assert (re.fullmatch(text.SINGLE_LINE_PATTERN, value) is not None) == _accepts(text.check_single_line, value)


def test_username_pattern_admits_exactly_what_lower_casing_makes_valid():
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789_")
    by_validator = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).lower() in allowed}
    by_pattern = {chr(c) for c in range(sys.maxunicode + 1)
                  if re.fullmatch(text.USERNAME_INPUT_PATTERN, chr(c) * 3)}
    assert by_pattern == by_validator


@pytest.mark.parametrize("password,ok", [
    ("\U0001f600\U0001f600", True),  # 2 characters, 8 bytes: the schema's minLength 2 is needed
    ("a" * 72, True),                # 72 characters, 72 bytes: maxLength 72
    ("\u00e9" * 36, True),           # 36 characters, 72 bytes
    ("a" * 7, False),
    ("\u20ac\u20aca", False),         # 3 characters, 7 bytes: the pattern says so
    ("a" * 73, False),
])
def test_password_schema_is_the_password_rule(password, ok):
    schema = Credentials.model_json_schema()["properties"]["password"]
    assert (schema["minLength"], schema["maxLength"]) == (2, 72)
    try:
        Credentials(username="alice", password=password)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted is ok
    assert _fits(schema, password) is ok


def test_a_password_over_72_bytes_fits_the_schema_but_is_refused():
    """The byte bound is said in the description (a pattern for it would be unreadable)."""
    schema = Credentials.model_json_schema()["properties"]["password"]
    assert _fits(schema, "\u00e9" * 72) and "8-72 bytes" in schema["description"]
    with pytest.raises(ValidationError):
        Credentials(username="alice", password="\u00e9" * 72)


def _fits(schema, value):
    return schema["minLength"] <= len(value) <= schema["maxLength"] and re.search(schema["pattern"], value) is not None


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=80))
def test_password_schema_agrees_with_the_validator(password):
    schema = Credentials.model_json_schema()["properties"]["password"]
    try:
        Credentials(username="alice", password=password)
        accepted = True
    except ValidationError:
        accepted = False
    # The schema admits what the validator takes; what it admits beyond is over 72 bytes only.
    assert _fits(schema, password) is (accepted or len(password.encode("utf-8")) > 72)


@pytest.fixture(scope="module")
def spec():
    # Every part configured (not reached: nothing is probed), so the document lists every operation.
    app = create_app({"FIRESTORE_EMULATOR_HOST": "127.0.0.1:9", "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9",
                      "STORAGE_EMULATOR_HOST": "http://127.0.0.1:9", "PROJECT_ID": "demo-spec",
                      "SECRET_KEY": "s" * 40, "TESTING": True})
    try:
        yield app, app.test_client().get("/api/v1/openapi.json").json
    finally:
        app.extensions["shutdown"]()


def _operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_doc_id_schema_is_the_validators_regex(spec):
    _app, document = spec
    post_id = document["paths"]["/api/v1/posts/{post_id}"]["get"]["parameters"][0]["schema"]
    assert post_id["pattern"] == ids.DOC_ID_PATTERN


def test_every_operation_lists_the_shared_statuses(spec):
    app, document = spec
    roles = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        for method in rule.methods:
            roles[(rule.rule.replace("<", "{").replace(">", "}"), method.lower())] = \
                getattr(view, "required_role", None)
    for path, method, operation in _operations(document):
        statuses = set(operation["responses"])
        where = (path, method, sorted(statuses))
        assert "414" not in statuses, where  # the HTTP server's, not the API's: said in info.description
        if roles[(path, method)] in ("user", "admin"):
            assert "401" in statuses, where
        if roles[(path, method)] == "admin":
            assert "403" in statuses, where
        if method in ("post", "put", "patch"):
            assert {"413", "415", "422"} <= statuses, where
        if path not in ("/healthz", "/api/v1/client-config"):
            assert "503" in statuses, where
        for status, response in operation["responses"].items():
            assert response["headers"]["X-Request-ID"]["required"], where
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"]["$ref"], where
            retry_after = response["headers"].get("Retry-After")
            assert (retry_after is not None) == (status == "429" or (status == "503" and path != "/readyz")), where
            if retry_after:
                assert retry_after["required"] and retry_after["schema"]["type"] == "integer", where
    assert "414" in document["info"]["description"]


def test_generated_clients_get_short_ids_typed_errors_dates_and_bytes(spec):
    """What openapi-python-client and its kind need (issue 24): operationIds a person would
    write, the error's details typed, instants marked date-time, images as bytes."""
    app, document = spec
    operation_ids = {operation["operationId"] for _path, _method, operation in _operations(document)}
    assert {"createTransfer", "uploadPhoto", "photoThumbnail", "login", "createPostComment",
            "listPhotoComments", "postModerationQueue"} <= operation_ids
    assert all(re.fullmatch(r"[a-z][A-Za-z]{1,30}", operation_id) for operation_id in operation_ids)
    schemas = document["components"]["schemas"]
    assert schemas["ErrorInfo"]["properties"]["details"]["anyOf"][0]["items"]["$ref"].endswith("/ErrorDetail")
    for name in ("Post", "Transfer", "Session", "AuditEvent", "Conversation", "Photo"):
        times = [field for field, schema in schemas[name]["properties"].items() if field.endswith("at")]
        assert times, name
        for field in times:
            schema = schemas[name]["properties"][field]
            assert "date-time" in {schema.get("format"), *(s.get("format") for s in schema.get("anyOf", ()))}, field
    for route in ("image", "thumbnail"):
        content = document["paths"][f"/api/v1/photos/{{photo_id}}/{route}"]["get"]["responses"]["200"]["content"]
        assert {"image/jpeg", "image/png", "image/webp", "application/octet-stream"} == set(content)
        assert all(media["schema"] == {"type": "string", "format": "binary"} for media in content.values())


def test_headers_are_documented_where_they_are_sent(spec):
    """X-RateLimit-* on every answer of a limited view (and 429 listed), Idempotent-Replayed on
    the operations that take an Idempotency-Key."""
    app, document = spec
    limited = {(rule.rule.replace("<", "{").replace(">", "}"), method.lower())
               for rule in app.url_map.iter_rules() for method in rule.methods
               if get_qualified_name(app.view_functions[rule.endpoint]) in limiter._marked_for_limiting}
    assert {("/api/v1/auth/login", "post"), ("/api/v1/posts", "post")} <= limited
    for path, method, operation in _operations(document):
        keyed = any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in operation.get("parameters", ()))
        assert ("429" in operation["responses"]) == ((path, method) in limited), (path, method)
        for status, response in operation["responses"].items():
            headers = response["headers"]
            if (path, method) in limited:
                assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(headers)
            assert ("Idempotent-Replayed" in headers) == keyed, (path, method, status)


def test_no_request_the_document_allows_is_too_long_for_the_http_server(spec):
    """gunicorn refuses a request line over limit_request_line with 414 before the app: every
    path and query the document allows, at their longest and percent-encoded, fits."""
    from server import gunicorn_conf

    _app, document = spec
    for path, method, operation in _operations(document):
        line = len(f"{method.upper()} {path}?  HTTP/1.1")
        for parameter in operation.get("parameters", ()):
            if parameter["in"] in ("path", "query"):
                line += len(parameter["name"]) + 2 + _longest_encoded(parameter["schema"])
        assert line <= gunicorn_conf.limit_request_line, (path, method, line)


def _longest_encoded(schema):
    """The longest percent-encoded value of a parameter's schema."""
    options = schema.get("anyOf", [schema])
    longest = 0
    for option in options:
        if option.get("type") == "integer":
            longest = max(longest, len(str(option.get("maximum", 2**63))) + 1)
        elif option.get("enum"):
            longest = max(longest, max(len(str(v)) for v in option["enum"]))
        elif option.get("format") == "date-time":
            longest = max(longest, 3 * 40)
        elif option.get("type") == "string":
            assert "maxLength" in option or "pattern" in option, schema
            bound = option["maxLength"] if "maxLength" in option else \
                int(re.search(r"\{\d+,(\d+)\}", option["pattern"])[1])
            longest = max(longest, bound * _widest_encoded_character(option.get("pattern")))
    return longest


def _widest_encoded_character(pattern):
    """1 when the pattern (lookaheads aside) admits only unreserved ASCII characters (letters,
    digits, `-`, `_`, `.`), else 12: four UTF-8 bytes, each written %XX."""
    consuming = re.sub(r"\(\?[!=][^)]*\)", "", pattern or ".")
    classes = re.findall(r"\[([^\]]*)\]", consuming)
    outside = re.sub(r"\[[^\]]*\]", "", consuming)
    safe = all(re.fullmatch(r"(a-z|A-Z|0-9|[_-])+", c) for c in classes)
    return 1 if classes and safe and not re.search(r"(?<!\\)\.", outside) else 12


SHARED_CONTENT_VIEWS = ("delete_{kind}", "create_comment", "list_comments", "list_my_{kind}s", "get_{kind}")
SHARED_ADMIN_VIEWS = ("moderation_queue", "approve_{kind}", "reject_{kind}")


def test_shared_content_routes_are_each_kinds_own(spec):
    """Posts and photos get these routes from one definition (server/moderation/routes.py); each
    view is still its kind's: its own endpoint, operationId and module, and its own rate limit
    (flask-limiter keys a view's limits by module and name: shared names would count twice)."""
    app, document = spec
    operation_ids = [operation["operationId"] for _path, _method, operation in _operations(document)]
    assert len(operation_ids) == len(set(operation_ids))
    for kind in ("post", "photo"):
        endpoints = [f"{kind}s.{view.format(kind=kind)}" for view in SHARED_CONTENT_VIEWS] + \
                    [f"{kind}s_admin.{view.format(kind=kind)}" for view in SHARED_ADMIN_VIEWS]
        for endpoint in endpoints:
            view = app.view_functions[endpoint]
            assert view.__module__ == f"server.{kind}s.routes", endpoint
            assert view.__qualname__ == endpoint.rpartition(".")[2], endpoint
    comment_views = {app.view_functions[f"{kind}s.create_comment"] for kind in ("post", "photo")}
    assert len({get_qualified_name(view) for view in comment_views}) == 2


def test_health_and_client_config_have_their_real_responses(spec):
    _app, document = spec
    paths = document["paths"]
    assert set(paths["/healthz"]["get"]["responses"]) == {"200"}
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503"}
    assert paths["/readyz"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/NotReady")
    assert set(paths["/api/v1/client-config"]["get"]["responses"]) == {"200"}


TAGS_TEXT = st.text(st.sampled_from("aZ_9K\u212a, \t\u00a0\u00e9-"), max_size=40)


@given(st.one_of(TEXT, TAGS_TEXT))
def test_photo_tag_patterns_are_the_tag_rules(value):
    from server.photos import models as photos

    assert (re.fullmatch(photos.TAG_QUERY_PATTERN, value) is not None) == \
        (not value or _accepts(photos.normalize_tag, value))
    try:
        photos.parse_tags(value)
        accepted = True
    except ValueError as exc:
        accepted = "at most" in str(exc)  # the count is described, not a pattern
    assert (re.fullmatch(photos.TAGS_FORM_PATTERN, value) is not None) == accepted
