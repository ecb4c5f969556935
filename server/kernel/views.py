"""Response bodies built through their pydantic models: one definition per shape."""

import datetime as dt
import functools

from .clock import rfc3339


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
    return model.model_validate(data).model_dump()
