"""List cursors: positions (sort value, id) that survive the item changing or going away."""

import base64
import datetime as dt
import json
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from server.kernel.errors import DomainError
from server.kernel.paging import CURSOR_PATTERN, decode_cursor, encode_cursor


def b64(raw):
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("value", [
    dt.datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 22, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),  # the same instant, in UTC back
    dt.datetime(1970, 1, 1, tzinfo=dt.UTC), 42, 0, -7, 10**18 - 1,
])
def test_a_position_round_trips(value):
    cursor = encode_cursor(value, "a" * 32)
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    value_back, doc_id = decode_cursor(cursor)
    assert (value_back, doc_id) == (value, "a" * 32)
    if isinstance(value, dt.datetime):
        assert value_back.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("value", [None, 2.5, "alice", True])
def test_no_sort_field_of_another_type_gets_a_cursor(value):
    with pytest.raises(TypeError):
        encode_cursor(value, "abc")


def test_the_longest_position_fits_the_documented_pattern():
    longest_id = "f" * 128
    cursor = encode_cursor(dt.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), longest_id)
    assert re.fullmatch(CURSOR_PATTERN, cursor) and len(cursor) <= 400


@settings(max_examples=300, deadline=None)
@given(st.from_regex(CURSOR_PATTERN, fullmatch=True))
def test_every_string_of_the_pattern_is_a_position(cursor):
    """What the document promises a fuzzer: a cursor of the pattern is never refused (an empty
    one is no cursor: the list asks paginate() for a position only when there is one)."""
    assume(cursor)
    value, doc_id = decode_cursor(cursor)
    assert isinstance(value, int | dt.datetime) and doc_id == cursor.split(".", 1)[1]


@pytest.mark.parametrize("value", [
    dt.datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=dt.UTC), 42, 2.5, "alice", None,
])
def test_an_earlier_versions_position_is_still_honoured(value):
    key = {"t": value.isoformat()} if isinstance(value, dt.datetime) else value
    assert decode_cursor(b64(json.dumps([key, "abc"]))) == (value, "abc")


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


@pytest.mark.parametrize("cursor", ["t1.__x__", "t.abc", "n1.", "n1.a/b", "x1.abc", "t" + "9" * 18 + ".abc",
                                    "n" + "9" * 19 + ".abc", "t1.abc\n", " n1.abc"])
def test_strings_off_the_pattern_are_a_422(cursor):
    assert not re.fullmatch(CURSOR_PATTERN, cursor)
    with pytest.raises(DomainError):
        decode_cursor(cursor)
