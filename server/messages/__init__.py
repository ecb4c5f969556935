"""Direct conversations and their messages.

models, service (use cases, no Flask), funnel (one committer per conversation),
store (Firestore), routes (HTTP only); init_app wires them into an app.
"""


def init_app(app):
    from .routes import bp
    from .service import MessageService
    from .store import MessageStore

    store = MessageStore(app.extensions["datastore"], max_attempts=app.config["MESSAGE_MAX_ATTEMPTS"])
    app.extensions["messages"] = MessageService(store, batch_max=app.config["MESSAGE_BATCH_MAX"])
    app.register_api(bp)
