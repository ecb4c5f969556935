"""HTTP routes every kind of moderated content shares (posts, photos): the caller's own
items, one item, delete, comments, the moderation queue, approve and reject.

They are written once here and added to each kind's blueprints by ModeratedRoutes.
Each view is named, documented and placed in the kind's routes module as if written
there, so that its endpoint, operationId, summary and description stay the kind's own
and flask-limiter, which keys a view's limits by module and name, gives each kind's
view its own limit.
"""

from ..edge import limits
from ..edge.caller import current_caller, require_admin, require_user
from ..edge.limits import limiter
from ..edge.openapi import BEARER, ERRORS, OPTIONAL_BEARER, WRITE_ERRORS, api_blueprint, with_operation_id
from ..kernel.caller import requires
from ..kernel.models import ErrorBody
from ..kernel.paging import ListQuery
from .models import CommentCreate, ModerationQuery, RejectRequest


class ModeratedRoutes:
    """A kind's blueprint (tagged with the plural, e.g. `posts`), its admin blueprint
    (tagged `admin`) and the shared routes on them.

    `kind` names the paths ("post": /posts/<post_id>), `path_model` validates the item
    path, `responses` is the kind's content.ResponseModels, `service` returns its
    ModeratedService and `owner` says who an item belongs to ("author").
    """

    def __init__(self, kind, import_name, path_model, responses, service, owner):
        self.kind, self.plural, self.owner = kind, f"{kind}s", owner
        self.path_model, self.responses, self.service = path_model, responses, service
        self.item = f"/{self.plural}/<{kind}_id>"
        self.bp = api_blueprint(self.plural, import_name)
        self.admin_bp = api_blueprint(f"{self.plural}_admin", import_name, "admin", admin=True, security=BEARER,
                                      responses={**ERRORS, 403: ErrorBody, 409: ErrorBody})

    def _view(self, name, doc, operation_id=None):
        """Names and documents a view as the kind's own (before the limiter registers it); a name
        both kinds share gets an `operation_id` that names the kind."""
        def name_it(function):
            function.__name__ = function.__qualname__ = name
            function.__module__ = self.bp.import_name
            function.__doc__ = doc
            return with_operation_id(operation_id)(function) if operation_id else function
        return name_it

    def _item_id(self, path):
        return getattr(path, f"{self.kind}_id")

    def add_item_routes(self):
        """The caller's own items and one item (the kind adds them where its document lists them)."""
        bp, kind, plural, service, path_model = self.bp, self.kind, self.plural, self.service, self.path_model

        @bp.get(f"/{plural}/mine", responses={200: self.responses.page}, security=BEARER)
        @requires("user")
        @self._view(f"list_my_{plural}", f"The caller's own {plural} in any status, newest first.")
        def list_mine(query: ListQuery):
            return service().list_mine(require_user(), query)

        @bp.get(self.item, responses={200: self.responses.envelope}, security=OPTIONAL_BEARER)
        @self._view(f"get_{kind}", f"An approved {kind} for anyone; a pending or rejected one for its "
                                   f"{self.owner} and admins only.")
        def get_item(path: path_model):
            return service().get(current_caller(), self._item_id(path))

    def add_comment_and_moderation_routes(self, delete_doc):
        """Delete (documented by `delete_doc`), comments, the moderation queue, approve and reject."""
        bp, admin_bp, kind, plural = self.bp, self.admin_bp, self.kind, self.plural
        service, path_model, responses, item = self.service, self.path_model, self.responses, self.item

        @bp.delete(item, responses={204: None, 403: ErrorBody}, security=BEARER)
        @requires("user")
        @self._view(f"delete_{kind}", delete_doc)
        def delete_item(path: path_model):
            service().delete(require_user(), self._item_id(path))
            return "", 204

        @bp.post(f"{item}/comments", responses={201: responses.comment_envelope, **WRITE_ERRORS}, security=BEARER)
        @requires("user")
        @limiter.limit(limits.content_limit, key_func=limits.caller_key)
        @self._view("create_comment", f"Approved {plural} only (404 otherwise); `comment_count` rises by exactly one.",
                    f"create{kind.capitalize()}Comment")
        def create_comment(path: path_model, body: CommentCreate):
            return service().add_comment(require_user(), self._item_id(path), body), 201

        @bp.get(f"{item}/comments", responses={200: responses.comment_page}, security=OPTIONAL_BEARER)
        @self._view("list_comments", f"Comments of a {kind} the caller may see, oldest first.",
                    f"list{kind.capitalize()}Comments")
        def list_comments(path: path_model, query: ListQuery):
            return service().list_comments(current_caller(), self._item_id(path), query)

        @admin_bp.get(f"/{plural}", responses={200: responses.page})
        @requires("admin")
        @self._view("moderation_queue", f"{plural.capitalize()} in one status (default `pending`), newest first.",
                    f"{kind}ModerationQueue")
        def moderation_queue(query: ModerationQuery):
            return service().list_queue(require_admin(), query)

        @admin_bp.post(f"{item}/approve", responses={200: responses.envelope})
        @requires("admin")
        @self._view(f"approve_{kind}", f"Makes the {kind} public. 409 when it is already approved.")
        def approve_item(path: path_model):
            return service().approve(require_admin(), self._item_id(path))

        @admin_bp.post(f"{item}/reject", responses={200: responses.envelope})
        @requires("admin")
        @self._view(f"reject_{kind}", f"Hides the {kind} (also an approved one) with a reason. "
                                      "409 when it is already rejected.")
        def reject_item(path: path_model, body: RejectRequest):
            return service().reject(require_admin(), self._item_id(path), body.reason)
