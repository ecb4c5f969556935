"""Photos: uploads checked and re-encoded (images.py, pure), their comments and moderation.

models, service (use cases; the shared ones are server/moderation/service.py's), store
(Firestore and Cloud Storage), routes (HTTP); init_app wires them into an app.
"""


def init_app(app):
    from .labels import CatFaceLabeller, GuardedLabeller
    from .routes import admin_bp, bp
    from .service import PhotoService
    from .store import PhotoStore

    store = PhotoStore(app.extensions["datastore"], app.extensions["objectstore"])
    slots, timeout = app.config["PHOTO_DECODE_SLOTS"], app.config["PHOTO_LABEL_TIMEOUT"]
    labeller = GuardedLabeller(CatFaceLabeller, timeout, workers=slots) if timeout > 0 else None
    app.extensions["photos"] = PhotoService(store, decode_slots=slots, labeller=labeller)
    for blueprint in (bp, admin_bp):
        app.register_api(blueprint)
