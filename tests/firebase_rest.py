"""The Firebase Auth emulator as a client app uses it: its REST API (identitytoolkit).

Tokens in tests come from here, never made by hand: sign-up, password
sign-in, custom-token sign-in. Admin-only calls (disable a user) use the
emulator's `Bearer owner`.
"""

import base64
import json
import time
import uuid

import requests

API_KEY = "demo-api-key"  # any key works against the emulator


class AuthEmulator:
    def __init__(self, host, project_id):
        self.base = f"http://{host}/identitytoolkit.googleapis.com/v1"
        self.project_id = project_id

    def _post(self, path, body, admin=False):
        headers = {"Authorization": "Bearer owner"} if admin else {}
        resp = requests.post(f"{self.base}/{path}", params={"key": API_KEY}, json=body, headers=headers,
                             timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def sign_up(self, password="firebase-secret"):
        """A new email/password user: {"uid", "email", "password", "id_token"}."""
        email = f"{uuid.uuid4().hex[:12]}@example.com"
        data = self._post("accounts:signUp", {"email": email, "password": password, "returnSecureToken": True})
        return {"uid": data["localId"], "email": email, "password": password, "id_token": data["idToken"]}

    def sign_in(self, email, password):
        return self._post("accounts:signInWithPassword",
                          {"email": email, "password": password, "returnSecureToken": True})["idToken"]

    def sign_in_with_custom_token(self, custom_token):
        return self._post("accounts:signInWithCustomToken",
                          {"token": custom_token, "returnSecureToken": True})["idToken"]

    def create_user_with_uid(self, uid, password="firebase-secret"):
        """What any backend of the project may do with the admin API: a user whose uid it chooses;
        returns a password sign-in's ID token."""
        email = f"{uuid.uuid4().hex[:12]}@example.com"
        self._post(f"projects/{self.project_id}/accounts", {"localId": uid, "email": email, "password": password},
                   admin=True)
        return self.sign_in(email, password)

    def disable(self, uid):
        self._post(f"projects/{self.project_id}/accounts:update", {"localId": uid, "disableUser": True},
                   admin=True)


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def claims_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def reforged(token, **changes):
    """A real emulator token with some claims changed, unsigned (as an attacker would send it)."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({**claims_of(token), **changes})}."


def unsigned_custom_token(uid):
    """A custom token for any uid, unsigned: the Auth emulator accepts it (it checks no signature)."""
    now = int(time.time())
    return (f"{_b64({'alg': 'none', 'typ': 'JWT'})}." + _b64({
        "aud": "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit",
        "iat": now, "exp": now + 3600, "iss": "attacker@example.com", "sub": "attacker@example.com",
        "uid": uid}) + ".")


def expired(token):
    """The same token, its expiry in the past (sign-in time unchanged, so not "revoked")."""
    return reforged(token, exp=int(time.time()) - 60)
