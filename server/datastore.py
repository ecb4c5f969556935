"""The one place that knows how to reach Firestore.

firebase-admin is initialised once per Flask app (a named firebase app, so
tests can build several Flask apps in one process). Against the emulator it
uses anonymous credentials; in production Application Default Credentials
(GOOGLE_APPLICATION_CREDENTIALS or the metadata server).
"""

import contextlib
import os
import uuid

import firebase_admin
import google.auth.credentials
from firebase_admin import credentials, firestore
from flask import current_app

SERVER_TIMESTAMP = firestore.SERVER_TIMESTAMP
Increment = firestore.Increment


class _AnonymousCredential(credentials.Base):
    """The emulator accepts any caller; firebase-admin still insists on a credential."""

    def get_credential(self):
        return google.auth.credentials.AnonymousCredentials()


@contextlib.contextmanager
def _emulator_env(emulator_host):
    """The Firestore client reads FIRESTORE_EMULATOR_HOST once, when it is built.

    Set it for that moment only, so apps of one process (tests) can use
    different emulators, or one the emulator and another real Firestore.
    """
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if emulator_host:
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator_host
    else:
        os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous


class Datastore:
    """Owns the firebase-admin app and Firestore client of one Flask app."""

    def __init__(self, project_id, emulator_host=None):
        self.project_id = project_id
        self.emulator_host = emulator_host
        credential = _AnonymousCredential() if emulator_host else credentials.ApplicationDefault()
        self._firebase_app = firebase_admin.initialize_app(
            credential,
            options={"projectId": project_id},
            name=f"trusted-backend-{uuid.uuid4().hex}",
        )
        with _emulator_env(emulator_host):
            self.client = firestore.client(self._firebase_app)

    def collection(self, name):
        return self.client.collection(name)

    def doc(self, collection, doc_id):
        return self.client.collection(collection).document(doc_id)

    def batch(self):
        return self.client.batch()

    def transaction(self, **kwargs):
        return self.client.transaction(**kwargs)

    def ping(self, timeout=3.0):
        """Raises when Firestore does not answer a tiny read in time."""
        self.client.collection("_health").document("ping").get(retry=None, timeout=timeout)

    def close(self):
        try:
            self.client.close()
        finally:
            firebase_admin.delete_app(self._firebase_app)


def init_app(app):
    app.extensions["datastore"] = Datastore(
        app.config["PROJECT_ID"], app.config["FIRESTORE_EMULATOR_HOST"]
    )


def get_datastore() -> Datastore:
    return current_app.extensions["datastore"]
