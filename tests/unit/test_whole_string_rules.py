"""Issue 21.2: every name and id rule matches the whole string (Python's `$` also matches
before a final newline, so `re.match(r"^...$")` took "admin\\n"), and the OpenAPI patterns
say the same (JSON Schema's `$` is ECMA-262's: the end of the input only)."""

import re
import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from server.auth.models import Credentials, FirebaseSignIn
from server.kernel import ids, text
from server.ledger.models import TransferRequest
from server.photos.models import normalize_tag

# Names near valid ones, with the characters that slipped through (newline) and other controls.
NEAR = st.text(st.sampled_from("aZk_09\n\r\t \x00\x0b\x85\u2028\u212a"), min_size=1, max_size=40)
ANY = st.text(max_size=40)
NAMES = st.one_of(NEAR, ANY, st.sampled_from(["admin", "treasury", "carol", "cli"]).map(lambda n: n + "\n"))


def _invisible(ch):
    return unicodedata.category(ch)[0] in "CZ"


def _username(value):
    try:
        return Credentials(username=value, password="long-enough-password").username
    except ValidationError:
        return None


@given(NAMES)
@example("admin\n")
@example("treasury\n")
def test_accepted_usernames_have_no_control_character_and_round_trip(value):
    accepted = _username(value)
    if accepted is not None:
        assert not any(_invisible(ch) for ch in accepted)
        assert accepted == value.lower() and _username(accepted) == accepted  # unchanged the second time
    # The published pattern, whole-string as JSON Schema reads it, agrees with the validator.
    assert (re.fullmatch(text.USERNAME_INPUT_PATTERN, value) is not None) == (accepted is not None)
    other_models = [lambda v: FirebaseSignIn(id_token="t", username=v).username,
                    lambda v: TransferRequest(to=v, amount=1).to]
    for model in other_models:
        try:
            assert model(value) == accepted
        except ValidationError:
            assert accepted is None


@given(NAMES)
@example("abc\n")
@example("__x__\n")
def test_accepted_ids_have_no_control_character(value):
    accepted = ids.is_doc_id(value)
    if accepted:
        assert not any(_invisible(ch) for ch in value)
    assert (re.fullmatch(ids.DOC_ID_PATTERN, value) is not None) == accepted


@given(NAMES)
@example("sunset\n")
def test_accepted_tags_have_no_control_character(value):
    try:
        tag = normalize_tag(value)
    except ValueError:
        return
    assert not any(_invisible(ch) for ch in tag)
