"""The one place that knows how to reach Cloud Storage for Firebase.

firebase-admin's `storage.bucket()` hands out a google-cloud-storage bucket.
Its client reads STORAGE_EMULATOR_HOST once, when it is built, so (as for
Firestore in datastore.py) the variable is set for that moment only and the
setting comes from the app's config. Against the emulator the client is
anonymous and the bucket is created when missing; in production the bucket
is the project's default one and credentials are Application Default
Credentials.
"""

import logging
import threading
import uuid

import firebase_admin
from firebase_admin import credentials, storage
from flask import current_app
from google.api_core import exceptions as gexc

from .datastore import AnonymousCredential, scoped_env

log = logging.getLogger(__name__)

class ObjectStore:
    """Owns the bucket of one Flask app: put, get, delete and list objects."""

    def __init__(self, project_id, bucket_name, emulator_host=None):
        self.bucket_name = bucket_name or f"{project_id}.appspot.com"
        self.emulator_host = emulator_host
        credential = AnonymousCredential() if emulator_host else credentials.ApplicationDefault()
        self._firebase_app = firebase_admin.initialize_app(
            credential,
            options={"projectId": project_id, "storageBucket": self.bucket_name},
            name=f"trusted-backend-storage-{uuid.uuid4().hex}",
        )
        self._bucket = None
        self._lock = threading.Lock()

    def _ready_bucket(self):
        """The bucket, its client built on first use (an app that never stores photos needs
        no credentials); against the emulator the bucket is created when missing."""
        if self._bucket is not None:
            return self._bucket
        with self._lock:
            if self._bucket is None:
                with scoped_env("STORAGE_EMULATOR_HOST", self.emulator_host):
                    bucket = storage.bucket(app=self._firebase_app)
                if self.emulator_host:
                    try:
                        bucket.client.create_bucket(self.bucket_name)
                    except gexc.Conflict:
                        pass  # already there
                self._bucket = bucket
        return self._bucket

    def put(self, name, data, content_type):
        """Creates the object; a name that exists already is refused (generation 0)."""
        blob = self._ready_bucket().blob(name)
        blob.cache_control = "private, max-age=0"
        blob.upload_from_string(data, content_type=content_type, if_generation_match=0)

    def get(self, name):
        """The object's bytes, or None when there is no such object."""
        try:
            return self._ready_bucket().blob(name).download_as_bytes()
        except gexc.NotFound:
            return None

    def delete(self, name):
        """Deletes the object; one that is gone already counts as deleted."""
        try:
            self._ready_bucket().blob(name).delete()
        except gexc.NotFound:
            pass

    def delete_quietly(self, names):
        """Best effort, for clean-ups after a failure: what stays is found by `photos verify`."""
        for name in names:
            try:
                self.delete(name)
            except Exception:
                log.exception("could not delete object %s", name)

    def list(self, prefix):
        """(name, time_created) of every object under `prefix`, streamed."""
        for blob in self._ready_bucket().client.list_blobs(self.bucket_name, prefix=prefix):
            yield blob.name, blob.time_created

    def close(self):
        firebase_admin.delete_app(self._firebase_app)


def init_app(app):
    store = ObjectStore(app.config["PROJECT_ID"], app.config.get("STORAGE_BUCKET"),
                        app.config.get("STORAGE_EMULATOR_HOST"))
    app.extensions["objectstore"] = store


def get_objectstore() -> ObjectStore:
    return current_app.extensions["objectstore"]
