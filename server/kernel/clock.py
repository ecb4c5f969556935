"""Time: now in UTC and RFC 3339 strings."""

import datetime as dt

UTC = dt.UTC


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def rfc3339(value) -> str | None:
    """Firestore timestamps (DatetimeWithNanoseconds) and datetimes as RFC 3339 UTC."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
