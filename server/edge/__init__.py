"""The HTTP edge: the caller, errors as one JSON shape, request guards, rate limits, OpenAPI parts."""
