"""List cursors: positions (sort value, id) that survive the item changing or going away."""

import base64
import datetime as dt
import json

import pytest

from server.kernel.errors import DomainError
from server.kernel.paging import CURSOR_PATTERN, decode_cursor, encode_cursor


def b64(raw):
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("value", [
    dt.datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 22, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),  # the same instant, in UTC back
    42, 0, 2.5, "alice", None,  # None: a document whose sort field is null still has a place
])
def test_a_position_round_trips(value):
    value_back, doc_id = decode_cursor(encode_cursor(value, "a" * 32))
    assert (value_back, doc_id) == (value, "a" * 32)
    if isinstance(value, dt.datetime):
        assert value_back.utcoffset() == dt.timedelta(0)


def test_the_longest_position_fits_the_documented_pattern():
    import re
    longest_id = "f" * 32 + "_" + "9" * 12  # a posting id
    cursor = encode_cursor(dt.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), longest_id)
    assert re.match(CURSOR_PATTERN, cursor)


def test_a_cursor_of_a_document_id_is_still_honoured():
    assert decode_cursor(b64("a" * 32)) == "a" * 32


@pytest.mark.parametrize("raw", [
    "[1]", "[1, 2, 3]", '["x"]', '[true, "abc"]', '[[1], "abc"]',
    '[{"t": "yesterday"}, "abc"]', '[{"t": "2026-11-22T10:00:00"}, "abc"]',  # no zone
    '[{"t": "2026-11-22T10:00:00Z", "x": 1}, "abc"]', '[1, "a/b"]', '[1, "__x__"]', '[1, 7]', "[1, ",
    '[{"t": "9999-12-31T23:59:59-01:00"}, "abc"]', '[{"t": "0001-01-01T00:00:00+01:00"}, "abc"]',  # not in UTC's range
    "a/b", "__reserved__", "", '[9223372036854775808, "abc"]', '[-9223372036854775809, "abc"]',  # past 64 bits
])
def test_anything_else_is_a_422(raw):
    with pytest.raises(DomainError) as err:
        decode_cursor(b64(raw))
    assert (err.value.status, err.value.code) == (422, "validation_error")


@pytest.mark.parametrize("cursor", ["not base64!", "====", "\u00e9t\u00e9"])
def test_undecodable_cursors_are_a_422(cursor):
    with pytest.raises(DomainError):
        decode_cursor(cursor)


def test_positions_are_compact_json():
    raw = base64.urlsafe_b64decode(encode_cursor(7, "abc") + "==").decode()
    assert json.loads(raw) == [7, "abc"]
