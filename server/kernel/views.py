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


def _model_data(model, doc, values):
    """Each field of the model from `values` when given there, else from the document
    (timestamps as RFC 3339, absent fields as None)."""
    data = {}
    for name in _field_names(model):
        value = values[name] if name in values else doc.get(name)
        data[name] = rfc3339(value) if isinstance(value, dt.datetime) else value
    return data


def _validated(model, data):
    try:
        return model.model_validate(data).model_dump()
    except ValidationError as exc:
        raise StoredDocumentInvalid(f"{model.__name__}: {exc}") from None


def document_view(model, doc, **values):
    """The body of `model` for a stored document (fields as `_model_data` takes them).

    The result is validated by the model and dumped from it, so it has the
    model's fields and no others: the OpenAPI document and the responses cannot
    drift apart.
    """
    return _validated(model, _model_data(model, doc, values))


def lenient_view(model, doc, **values):
    """As document_view, but a document that does not fit comes back as it is stored
    (the model's fields only, unchecked): for the audit trail, whose reader must still
    see a damaged or tampered event rather than lose the page it is on."""
    data = _model_data(model, doc, values)
    try:
        return _validated(model, data)
    except StoredDocumentInvalid:
        return data
