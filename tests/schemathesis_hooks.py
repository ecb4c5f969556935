"""Schemathesis hooks for tests/test_openapi_conformance.py (loaded by its CLI run).

One narrow exception to `positive_data_acceptance`: a 422 for a schema-valid
request is kept as a failure unless every field it names breaks a rule that the
document states in words because JSON Schema cannot state it:

- `password`, `new_password`: 8-72 bytes in UTF-8; the schema's 2-72 characters is the closest
  bound it can state. Only when the password sent really is outside 8-72 bytes;
- `tags` of a photo upload: at most 10 once repeats are dropped, which a pattern
  over the comma-separated text cannot count. Only when there were more;
- `image` of a photo upload (`invalid_image`): "a JPEG, PNG or WebP image" is not
  a schema of bytes. Only when Pillow cannot read the bytes sent either;

- `amount`: the contract refuses every float, and JSON Schema calls 1.0 an integer. Only when
  the amount was sent as a float.

(Cursors, empty and long audit and statistics windows, and a tag with a label needed exceptions
here once; the document and the server now agree on them.)
"""

import io

import schemathesis
from PIL import Image
from schemathesis.openapi.checks import RejectedPositiveData


def _password_bytes_out_of_range(field):
    def check(case):
        password = (case.body or {}).get(field) if isinstance(case.body, dict) else None
        return isinstance(password, str) and not 8 <= len(password.encode("utf-8")) <= 72
    return check


def _sent_as_float(field):
    def check(case):
        body = case.body if isinstance(case.body, dict) else {}
        return isinstance(body.get(field), float)
    return check


def _more_than_ten_tags(case):
    tags = (case.body or {}).get("tags") if isinstance(case.body, dict) else None
    return isinstance(tags, str) and len({t.strip().lower() for t in tags.split(",") if t.strip()}) > 10


def _not_an_image(case):
    data = (case.body or {}).get("image") if isinstance(case.body, dict) else None
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    try:
        with Image.open(io.BytesIO(data or b"")) as image:
            image.load()
    except Exception:  # any failure to read it: not an image
        return True
    return False


_UNSTATABLE = {
    "tags": _more_than_ten_tags,
    "amount": _sent_as_float("amount"),
    "password": _password_bytes_out_of_range("password"),
    "new_password": _password_bytes_out_of_range("new_password"),
}


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 422:
        return True
    error = response.json().get("error") or {}
    if error.get("code") == "invalid_image":
        return not _not_an_image(case)
    details = error.get("details") or []
    fields = {detail.get("field") for detail in details if isinstance(detail, dict)}
    explained = bool(fields) and all(field in _UNSTATABLE and _UNSTATABLE[field](case) for field in fields)
    return not explained
