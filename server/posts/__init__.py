"""Posts, their comments and moderation.

models, service (use cases; the shared ones are server/moderation/service.py's), store
(Firestore; server/moderation/store.py), routes (HTTP; shared ones from
server/moderation/routes.py); init_app wires them into an app.
"""


def init_app(app):
    from .routes import admin_bp, bp
    from .service import PostService
    from .store import PostStore

    photos = app.extensions["photos"]  # posts show photos: photos/ is set up first
    app.extensions["posts"] = PostService(PostStore(app.extensions["datastore"], photos=photos.store), photos)
    for blueprint in (bp, admin_bp):
        app.register_api(blueprint)
