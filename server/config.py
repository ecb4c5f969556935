"""Configuration read from the environment, with defaults for local use."""

import os

from .observability.logs import default_format

DEFAULT_PROJECT_ID = "demo-trusted-backend"
# Used only against the emulator, so that tokens survive a restart of `run`.
DEV_SECRET_KEY = "dev-only-secret-key-not-for-production-use"


def _int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _float(name, default):
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _bool(name, default):
    value = os.environ.get(name)
    return default if value in (None, "") else value.lower() not in ("false", "0", "no")


def from_environment():
    """Settings from environment variables; `create_app(test_config)` overrides them."""
    emulator_host = os.environ.get("FIRESTORE_EMULATOR_HOST") or None
    project_id = os.environ.get("GOOGLE_CLOUD_PROJECT") or DEFAULT_PROJECT_ID
    return {
        "PROJECT_ID": project_id,
        "FIRESTORE_EMULATOR_HOST": emulator_host,
        # The Firebase Auth emulator (host:port) and a Cloud Storage emulator (URL).
        "FIREBASE_AUTH_EMULATOR_HOST": os.environ.get("FIREBASE_AUTH_EMULATOR_HOST") or None,
        # What the demo client's Firebase JS SDK needs: the public URL of the Auth
        # emulator, and the web API key (any string against the emulators).
        "FIREBASE_AUTH_EMULATOR_PUBLIC_URL": os.environ.get("FIREBASE_AUTH_EMULATOR_PUBLIC_URL") or None,
        "FIREBASE_WEB_API_KEY": os.environ.get("FIREBASE_WEB_API_KEY") or "demo-api-key",
        "FIREBASE_AUTH_DOMAIN": os.environ.get("FIREBASE_AUTH_DOMAIN") or None,
        "STORAGE_EMULATOR_HOST": os.environ.get("STORAGE_EMULATOR_HOST") or None,
        "STORAGE_BUCKET": os.environ.get("STORAGE_BUCKET") or f"{project_id}.appspot.com",
        # Public URL of the emulator for the demo client's "try to cheat" panel.
        "FIRESTORE_EMULATOR_PUBLIC_URL": os.environ.get("FIRESTORE_EMULATOR_PUBLIC_URL")
        or (f"http://{emulator_host}" if emulator_host else None),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "BCRYPT_ROUNDS": _int("BCRYPT_ROUNDS", 12),
        "TOKEN_TTL_SECONDS": _int("TOKEN_TTL_SECONDS", 24 * 3600),
        # How long a process trusts its cached view of a session (and role) before
        # re-reading it. Logouts arrive at once anyway (same process directly,
        # others through the revocation listener); this bounds the rest.
        "SESSION_CACHE_SECONDS": _float("SESSION_CACHE_SECONDS", 60.0),
        # A Firestore listener that brings other processes' logouts in at once.
        "SESSION_REVOCATION_WATCH": os.environ.get("SESSION_REVOCATION_WATCH", "true").lower() != "false",
        # Shared by every process and instance (the run command and the tests start
        # redis-server); memory:// counts per process.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", project_id),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10/minute"),
        "LOGIN_IP_RATE_LIMIT": os.environ.get("LOGIN_IP_RATE_LIMIT", "60/minute"),
        "SIGNUP_RATE_LIMIT": os.environ.get("SIGNUP_RATE_LIMIT", "30/minute"),
        "CONTENT_RATE_LIMIT": os.environ.get("CONTENT_RATE_LIMIT", "30/minute"),
        "MESSAGE_RATE_LIMIT": os.environ.get("MESSAGE_RATE_LIMIT", "60/minute"),
        # Messages: most sends one conversation commits at once, and optimistic retries.
        "MESSAGE_BATCH_MAX": _int("MESSAGE_BATCH_MAX", 50),
        "MESSAGE_MAX_ATTEMPTS": _int("MESSAGE_MAX_ATTEMPTS", 30),
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "true").lower() != "false",
        # Proxies in front of the app whose X-Forwarded-For to trust (rate limits per address).
        "PROXY_FIX_HOPS": _int("PROXY_FIX_HOPS", 0),
        "CORS_ORIGINS": [o for o in os.environ.get("CORS_ORIGINS", "").split(",") if o],
        # Ledger writer: "group" (one writer, group commit) or "naive"
        # (one transaction per request, for the benchmark baseline only).
        "LEDGER_MODE": os.environ.get("LEDGER_MODE", "group"),
        "LEDGER_BATCH_MAX": _int("LEDGER_BATCH_MAX", 100),
        "LEDGER_LINGER_MS": _float("LEDGER_LINGER_MS", 2.0),
        # A round lingers (up to LEDGER_LINGER_MS) while its batch holds fewer operations than this.
        "LEDGER_LINGER_OPERATIONS": _int("LEDGER_LINGER_OPERATIONS", 8),
        # Rounds of the group commit in flight at once, on disjoint documents (ledger/inflight.py).
        # 1: a round is one commit since keys are no longer read, and a second round only halves
        # the batches (bench/RESULTS.md, "Keys assumed new").
        "LEDGER_PIPELINE": _int("LEDGER_PIPELINE", 1),
        "LEDGER_MAX_ATTEMPTS": _int("LEDGER_MAX_ATTEMPTS", 6),
        # How long an operation may keep meeting other processes' commits before 503.
        "LEDGER_CONFLICT_SECONDS": _float("LEDGER_CONFLICT_SECONDS", 20.0),
        # One writer per deployment (server/ledger/remote.py): the redis of its lease and channel
        # (empty: RATELIMIT_STORAGE_URI; memory:// or no redis: every process writes itself).
        "LEDGER_CHANNEL_URI": os.environ.get("LEDGER_CHANNEL_URI", ""),
        # Keys of the lease and channel: one writer per prefix (default: per Firestore project).
        "LEDGER_CHANNEL_PREFIX": os.environ.get("LEDGER_CHANNEL_PREFIX", ""),
        # The writer's lease: a dead writer is replaced within about 1.3 times this.
        "LEDGER_LEASE_SECONDS": _float("LEDGER_LEASE_SECONDS", 3.0),
        # With at least this many gunicorn workers in its instance, the worker holding the writer's
        # lease serves no HTTP: its CPU goes to the commits of the whole deployment (0: it always does).
        "LEDGER_WRITER_ALONE_WORKERS": _int("LEDGER_WRITER_ALONE_WORKERS", 4),
        # On a conflict, commit the batch's clean part at once (else retry the whole batch).
        "LEDGER_SPLIT_CONFLICTS": _bool("LEDGER_SPLIT_CONFLICTS", True),
        # Trust this process's copy of an account no other process wrote lately (else read each batch).
        "LEDGER_ACCOUNT_CACHE": _bool("LEDGER_ACCOUNT_CACHE", True),
        "LEDGER_CURRENCY": os.environ.get("LEDGER_CURRENCY", "USD"),
        # Encode the writer's Firestore writes as raw protobufs (self-checked at start).
        "LEDGER_FAST_WRITES": os.environ.get("LEDGER_FAST_WRITES", "true").lower() != "false",
        "IDEMPOTENCY_TTL_HOURS": _int("IDEMPOTENCY_TTL_HOURS", 48),
        "CLIENT_DIR": os.environ.get("CLIENT_DIR") or None,
        # Photos: images decoded at once per process: bounds memory whatever the number of uploads.
        "PHOTO_DECODE_SLOTS": _int("PHOTO_DECODE_SLOTS", 2),
        # json: one Cloud Logging object per line; text: for people (the default on a terminal).
        "LOG_FORMAT": os.environ.get("LOG_FORMAT") or default_format(),
        # Machine labels (the cat-face detector): seconds one labelling may take before the
        # photo is stored without labels; 0 turns labelling off.
        "PHOTO_LABEL_TIMEOUT": _float("PHOTO_LABEL_TIMEOUT", 10.0),
    }


def parts(config):
    """Which parts this configuration can reach: {"firestore", "firebase_auth", "storage"} ->
    True when configured. Against the Firestore emulator the credential is anonymous, so
    Firebase Auth (signing custom tokens) and Cloud Storage need their own emulators; with
    no emulator every part uses Application Default Credentials and counts as configured
    (a failure then shows per request, as 503 `unavailable`)."""
    on_emulator = bool(config.get("FIRESTORE_EMULATOR_HOST"))
    return {"firestore": True,
            "firebase_auth": not on_emulator or bool(config.get("FIREBASE_AUTH_EMULATOR_HOST")),
            "storage": not on_emulator or bool(config.get("STORAGE_EMULATOR_HOST"))}
