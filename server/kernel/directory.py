"""Who has this username: the narrow interface other domains use instead of auth.

auth owns the claim documents (`usernames/u_{name}` -> {"user_id", "username"});
ledger, messages and the rest only read them through these names.
"""

from .collections import USERNAMES


def claim_id(username: str) -> str:
    """The prefix keeps names such as `__x__` (valid usernames, reserved
    Firestore ids) usable as document ids."""
    return f"u_{username}"


def username_ref(datastore, username):
    """The claim document of a username."""
    return datastore.doc(USERNAMES, claim_id(username))


def user_id_of(datastore, username):
    """The id of the user who holds `username`, or None: the one username lookup."""
    claim = username_ref(datastore, username).get()
    return claim.get("user_id") if claim.exists else None
