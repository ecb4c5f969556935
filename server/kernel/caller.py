"""The caller of a use case and the role a view requires.

A caller is the dict the authenticator returns: {"id", "sid", "username",
"role", "created_at"}; the edge (server/edge.py) hands it to routes.
"""

ROLES = ("user", "admin")


def is_admin(caller) -> bool:
    return bool(caller) and caller.get("role") == "admin"


def requires(role):
    """Marks a view as needing a signed-in "user" or an "admin"; checked by the
    edge before validation."""
    assert role in ROLES
    def tag(view):
        view.required_role = role
        return view
    return tag
