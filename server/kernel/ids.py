"""Ids the API hands out (uuid hex, account_seq) and the rule every path or query id follows."""

import re
import uuid
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

# Never Firestore's reserved __x__ names.
DOC_ID_PATTERN = r"^(?!__.*__$)[A-Za-z0-9_-]{1,128}$"
_DOC_ID = re.compile(DOC_ID_PATTERN)


def new_id() -> str:
    return uuid.uuid4().hex


def is_doc_id(value) -> bool:
    return isinstance(value, str) and bool(_DOC_ID.fullmatch(value))


def _check_doc_id(value: str) -> str:
    if not is_doc_id(value):
        raise ValueError("not a valid id")
    return value


# A path or query id: letters, digits, _ and -, at most 128, not __reserved__.
# The schema states the validator's regex (pydantic's own `pattern` has no lookahead).
DocId = Annotated[str, AfterValidator(_check_doc_id), WithJsonSchema(
    {"type": "string", "pattern": DOC_ID_PATTERN, "minLength": 1, "maxLength": 128})]
