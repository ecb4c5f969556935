"""HTTP routes of users and sessions."""

from flask import current_app

from ..edge import limits
from ..edge.caller import request_origin, require_user
from ..edge.limits import limiter
from ..edge.openapi import BEARER, api_blueprint, needs_part
from ..kernel.caller import requires
from ..kernel.models import ErrorBody
from .models import Credentials, CustomToken, FirebaseSignIn, Me, PasswordChange, Session
from .service import AuthService

bp = api_blueprint("auth", __name__, responses={401: ErrorBody, 422: ErrorBody})


def auth() -> AuthService:
    return current_app.extensions["auth"]


@bp.post("/auth/signup", responses={201: Session, 409: ErrorBody, 429: ErrorBody})
@limiter.limit(limits.signup_limit)
def signup(body: Credentials):
    return auth().signup(body.username, body.password, request_origin()), 201


@bp.post("/auth/login", responses={200: Session, 429: ErrorBody})
@limiter.limit(limits.login_limit, key_func=limits.username_key)
@limiter.limit(limits.login_ip_limit)
def login(body: Credentials):
    return auth().login(body.username, body.password, request_origin())


@bp.post("/auth/firebase", responses={200: Session, 201: Session, 409: ErrorBody, 429: ErrorBody,
                                      503: ErrorBody})
@needs_part("firebase_auth")
@limiter.limit(limits.login_ip_limit)
def firebase_sign_in(body: FirebaseSignIn):
    """Exchanges a Firebase ID token for a session of this API (201 when the user is new)."""
    return auth().firebase_sign_in(body.id_token, body.username, request_origin())


@bp.post("/auth/firebase-token", responses={200: CustomToken, 503: ErrorBody}, security=BEARER)
@needs_part("firebase_auth")
@requires("user")
def firebase_token():
    """A Firebase custom token for the caller, to read its own data live from Firestore."""
    return auth().firebase_custom_token(require_user())


@bp.post("/auth/password", responses={204: None, 409: ErrorBody, 429: ErrorBody}, security=BEARER)
@requires("user")
@limiter.limit(limits.login_limit, key_func=limits.caller_key)
@limiter.limit(limits.login_ip_limit)
def change_password(body: PasswordChange):
    """New password; every other session of the caller ends at once."""
    auth().change_password(require_user(), body.current_password, body.new_password)
    return "", 204


@bp.post("/auth/logout", responses={204: None}, security=BEARER)
@requires("user")
def logout():
    auth().logout(require_user())
    return "", 204


@bp.get("/me", responses={200: Me}, security=BEARER)
@requires("user")
def me():
    return auth().me(require_user())
