"""HTTP routes of users and sessions."""

from flask_openapi3 import APIBlueprint, Tag

from .. import limits
from ..common import ErrorBody
from ..limits import limiter
from . import service
from .models import Credentials, CustomToken, FirebaseSignIn, Me, PasswordChange, Session

bp = APIBlueprint("auth", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="auth")],
                  abp_responses={401: ErrorBody, 422: ErrorBody})
BEARER = [{"bearer": []}]


@bp.post("/auth/signup", responses={201: Session, 409: ErrorBody, 429: ErrorBody})
@limiter.limit(limits.signup_limit)
def signup(body: Credentials):
    return service.signup(body.username, body.password), 201


@bp.post("/auth/login", responses={200: Session, 429: ErrorBody})
@limiter.limit(limits.login_limit, key_func=limits.username_key)
@limiter.limit(limits.login_ip_limit)
def login(body: Credentials):
    return service.login(body.username, body.password)


@bp.post("/auth/firebase", responses={200: Session, 201: Session, 409: ErrorBody, 429: ErrorBody,
                                      503: ErrorBody})
@limiter.limit(limits.login_ip_limit)
def firebase_sign_in(body: FirebaseSignIn):
    """Exchanges a Firebase ID token for a session of this API (201 when the user is new)."""
    return service.firebase_sign_in(body.id_token, body.username)


@bp.post("/auth/firebase-token", responses={200: CustomToken, 503: ErrorBody}, security=BEARER)
@service.requires("user")
def firebase_token():
    """A Firebase custom token for the caller, to read its own data live from Firestore."""
    return service.firebase_custom_token(service.require_user())


@bp.post("/auth/password", responses={204: None, 409: ErrorBody, 429: ErrorBody}, security=BEARER)
@service.requires("user")
@limiter.limit(limits.login_limit, key_func=limits.caller_key)
@limiter.limit(limits.login_ip_limit)
def change_password(body: PasswordChange):
    """New password; every other session of the caller ends at once."""
    service.change_password(service.require_user(), body.current_password, body.new_password)
    return "", 204


@bp.post("/auth/logout", responses={204: None}, security=BEARER)
@service.requires("user")
def logout():
    service.logout(service.require_user())
    return "", 204


@bp.get("/me", responses={200: Me}, security=BEARER)
@service.requires("user")
def me():
    return service.me(service.require_user())
