"""Audit events: the builder lives in the kernel (server/kernel/audit.py)."""

from ..kernel.audit import audit_event, write_event  # noqa: F401
from ..kernel.collections import AUDIT as COLLECTION  # noqa: F401
from ..kernel.context import current_request_id  # noqa: F401
