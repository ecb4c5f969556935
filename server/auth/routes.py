"""HTTP routes of users and sessions."""

from flask_openapi3 import APIBlueprint, Tag

from .. import limits
from ..common import ErrorBody
from ..limits import limiter
from . import service
from .models import Credentials, Me, Session

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


@bp.post("/auth/logout", responses={204: None}, security=BEARER)
@service.requires("user")
def logout():
    service.logout(service.require_user())
    return "", 204


@bp.get("/me", responses={200: Me}, security=BEARER)
@service.requires("user")
def me():
    return service.me(service.require_user())
