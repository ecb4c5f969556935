"""A small client of the trusted API (contract: docs/API.md), for scripts.

    client = TrustedClient("http://127.0.0.1:5000")
    client.login("alice", "secret-password")
    conv = client.start_conversation("bob")
    client.send_message(conv["id"], "Hi Bob!")

- Sessions: after login() the client remembers the credentials it was given
  and, when a request answers 401 `unauthenticated` (the session expired or
  was revoked), logs in again once and repeats the request.
- Money: transfer() and deposit() send an Idempotency-Key (a fresh one unless
  given) and retry network failures and 5xx with that SAME key, so money
  moves at most once however often the request is repeated.
- Errors: every non-2xx answer raises a subclass of ApiError carrying the
  contract's error `code` (errors.py).
"""

import random
import time
import uuid

import requests

from .errors import NetworkError, ServerError, Unauthenticated, error_from_response

API = "/api/v1"


class TrustedClient:
    def __init__(self, base_url, timeout=30.0, session=None, money_attempts=5, backoff=0.2):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = session or requests.Session()
        self.money_attempts = money_attempts
        self.backoff = backoff
        self.token = None
        self.user = None
        self._credentials = None

    # --- sessions ------------------------------------------------------------------------------

    def signup(self, username, password):
        return self._start_session("signup", username, password)

    def login(self, username, password):
        return self._start_session("login", username, password)

    def _start_session(self, how, username, password):
        body = self._call("POST", f"/auth/{how}", json={"username": username, "password": password},
                          reauthenticate=False, authenticated=False)
        self.token, self.user = body["token"], body["user"]
        self._credentials = (username, password)
        return body

    def logout(self):
        self._call("POST", "/auth/logout", reauthenticate=False)
        self.token = None
        self._credentials = None

    def me(self):
        return self._call("GET", "/me")

    # --- money ---------------------------------------------------------------------------------

    def balance(self):
        return self._call("GET", "/accounts/me")["balance"]

    def transfer(self, to, amount, memo=None, idempotency_key=None):
        """Sends `amount` cents to `to` exactly once; returns the Transfer."""
        body = {"to": to, "amount": amount, **({"memo": memo} if memo is not None else {})}
        return self._money("/transfers", body, idempotency_key)["transfer"]

    def deposit(self, to, amount, memo=None, idempotency_key=None):
        """Admins only: money from the treasury, exactly once; returns the Transfer."""
        body = {"to": to, "amount": amount, **({"memo": memo} if memo is not None else {})}
        return self._money("/admin/deposits", body, idempotency_key)["transfer"]

    def _money(self, path, body, idempotency_key):
        key = idempotency_key or uuid.uuid4().hex
        for attempt in range(1, self.money_attempts + 1):
            try:
                return self._call("POST", path, json=body, headers={"Idempotency-Key": key})
            except (NetworkError, ServerError):
                # Unknown outcome: the same key makes the retry safe (a replay at worst).
                if attempt == self.money_attempts:
                    raise
                time.sleep(self.backoff * 2 ** (attempt - 1) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    # --- messages ------------------------------------------------------------------------------

    def start_conversation(self, username):
        """The direct conversation with `username` (created if needed); returns the Conversation."""
        return self._call("POST", "/conversations", json={"with": username})["conversation"]

    def conversations(self, limit=20, cursor=None):
        return self._call("GET", "/conversations", params=_params(limit=limit, cursor=cursor))

    def send_message(self, conversation_id, body):
        return self._call("POST", f"/conversations/{conversation_id}/messages", json={"body": body})["message"]

    def messages(self, conversation_id, after=0, limit=100, cursor=None):
        """One page: {"items": [...oldest first...], "next_cursor"}."""
        return self._call("GET", f"/conversations/{conversation_id}/messages",
                          params=_params(after=after, limit=limit, cursor=cursor))

    def new_messages(self, conversation_id, after=0):
        """Every message with seq > after (all pages), oldest first. Poll with the last seq you saw."""
        items = []
        while True:
            page = self.messages(conversation_id, after=after)
            items += page["items"]
            if not page["next_cursor"]:
                return items
            after = page["items"][-1]["seq"]

    # --- HTTP ----------------------------------------------------------------------------------

    def _call(self, method, path, json=None, params=None, headers=None, reauthenticate=True,
              authenticated=True):
        try:
            return self._send(method, path, json, params, headers, authenticated)
        except Unauthenticated:
            if not (reauthenticate and self._credentials):
                raise
            self.login(*self._credentials)  # the session expired or was revoked: once more
            return self._send(method, path, json, params, headers, authenticated)

    def _send(self, method, path, json, params, headers, authenticated):
        headers = dict(headers or {})
        if authenticated and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            resp = self.http.request(method, f"{self.base_url}{API}{path}", json=json, params=params,
                                     headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise NetworkError(0, "network_error", str(exc)) from exc
        if resp.status_code >= 400:
            raise error_from_response(resp)
        return resp.json() if resp.content else None


def _params(**values):
    return {k: v for k, v in values.items() if v is not None}

