"""The ledger: accounts, transfers and postings in double entry.

engine (pure rules over documents already read), optimistic (the committer),
writer (group commit) and inflight (the documents its rounds in flight hold),
remote/lease/channel (one writer for the deployment, over redis), wire (the
adapter over Firestore's private write encoding), store, service (use cases,
no Flask), routes (HTTP only), accounts (the narrow interface other domains
use), bench (the documented bench hook); init_app wires them into an app.
"""


def init_app(app):
    """Builds store, writer and service from the app's config and registers the routes."""
    from .optimistic import OptimisticCommitter
    from .remote import DeploymentWriter, channel_url
    from .routes import admin_bp, bp
    from .service import Ledger
    from .store import LedgerStore
    from .writer import DirectWriter, GroupCommitWriter

    config = app.config
    store = LedgerStore(app.extensions["datastore"], config["IDEMPOTENCY_TTL_HOURS"], config["LEDGER_CURRENCY"],
                        fast_writes=config["LEDGER_FAST_WRITES"])
    if config["LEDGER_MODE"] == "naive":
        writer = DirectWriter(store)
    else:
        committer = OptimisticCommitter(store, split=config["LEDGER_SPLIT_CONFLICTS"],
                                        cache=config["LEDGER_ACCOUNT_CACHE"])
        writer = GroupCommitWriter(committer, batch_max=config["LEDGER_BATCH_MAX"],
                                   linger_ms=config["LEDGER_LINGER_MS"],
                                   linger_operations=config["LEDGER_LINGER_OPERATIONS"],
                                   max_attempts=config["LEDGER_MAX_ATTEMPTS"],
                                   conflict_seconds=config["LEDGER_CONFLICT_SECONDS"],
                                   pipeline=config["LEDGER_PIPELINE"])
        url = channel_url(config)
        if url:
            prefix = config["LEDGER_CHANNEL_PREFIX"] or f"ledger-writer:{config['PROJECT_ID']}"
            writer = DeploymentWriter(writer, url, prefix,
                                      lease_seconds=config["LEDGER_LEASE_SECONDS"],
                                      conflict_seconds=config["LEDGER_CONFLICT_SECONDS"],
                                      role=app.extensions.get("dedicated_role"))
    app.extensions["ledger"] = Ledger(store, writer)
    for blueprint in (bp, admin_bp):
        app.register_api(blueprint)
