"""Response bodies built through their pydantic models: one definition per shape."""

import datetime as dt
import functools

from pydantic import ValidationError

from .clock import rfc3339


class StoredDocumentInvalid(RuntimeError):
    """A stored document that does not fit its response model: the server's fault (500,
    logged), never the client's 422, which is what a pydantic error at the edge means."""


@functools.cache
def _field_names(model):
    # Read once per model: pydantic's class-level `model_fields` costs as much as the validation.
    return tuple(model.model_fields)


def document_view(model, doc, **values):
    """The body of `model` for a stored document.

    Each field of the model comes from `values` when given there, else from the
    document (timestamps as RFC 3339, absent fields as None). The result is
    validated by the model and dumped from it, so it has the model's fields and
    no others: the OpenAPI document and the responses cannot drift apart.
    """
    data = {}
    for name in _field_names(model):
        value = values[name] if name in values else doc.get(name)
        data[name] = rfc3339(value) if isinstance(value, dt.datetime) else value
    try:
        return model.model_validate(data).model_dump()
    except ValidationError as exc:
        raise StoredDocumentInvalid(f"{model.__name__}: {exc}") from None


def lenient_view(model, doc, **values):
    """As document_view, but a document that does not fit comes back as it is stored
    (the model's fields only, unchecked): for the audit trail, whose reader must still
    see a damaged or tampered event rather than lose the page it is on."""
    try:
        return document_view(model, doc, **values)
    except StoredDocumentInvalid:
        return {name: (values[name] if name in values else doc.get(name)) for name in _field_names(model)}
