"""Posts, their comments and moderation.

models, service (use cases; the shared ones are server/moderation/service.py's), store
(Firestore; server/moderation/store.py), routes (HTTP; shared ones from
server/moderation/routes.py); init_app wires them into an app.
"""


def init_app(app):
    from .routes import admin_bp, bp
    from .service import PostService
    from .store import PostStore

    app.extensions["posts"] = PostService(PostStore(app.extensions["datastore"]))
    for blueprint in (bp, admin_bp):
        app.register_api(blueprint)
