"""The one adapter over google-cloud-firestore's private encodings: the writer's writes and reads.

The client library builds every Write through proto-plus wrappers, which cost
about half of the writer's CPU under load. `WireWrites` builds the same
messages directly on raw protobufs and hands them to a batch or transaction
through `_add_write_pbs`, or, for the writer's own commits, straight into
a raw CommitRequest (`RawCommit`) sent on the writer's channel (below)
without the library's call wrappers and proto-plus request and response.
Every private name it touches is listed in
PRIVATE_NAMES and exercised by `self_check()` at start-up, which also compares
the fast messages with the library's own for every method and precondition
the ledger uses; on any difference or error the adapter turns itself off and
`add()` goes through the public API (`create`, `update` with
`client.write_option`). A value type the fast encoder does not know falls
back per write.

`WireReads` does the same for the writer's reads (`get_all`): one
BatchGetDocuments on a raw request, each streamed answer read from its raw
protobuf, without a DocumentReference or DocumentSnapshot per document. It
calls Firestore's public gRPC method on a channel of its own, made as the
library makes its channel but with gRPC's `SingleThreadedUnaryStream` option:
the reading thread takes each streamed answer itself, where on the library's
channel a spinning gRPC thread takes it and wakes the reader, two thread
switches an answer (a 30-document read: 2.1-2.5 ms of client CPU there,
0.7-0.8 ms here; bench/RESULTS.md). The commits go on the same channel
(`WireChannel`), with the retry and timeout the library gives Commit. Its
`self_check()` compares the request
and the decoded documents with the library's own (`_prep_get_all`,
`_parse_batch_get`) on sample answers; on any difference the store reads
through `get_all`.
"""

import datetime as dt
import logging
import re
import threading

import grpc
import grpc.experimental
from google.api_core import exceptions as gexc
from google.api_core.gapic_v1 import routing_header
from google.api_core.retry import Retry, if_exception_type

from ..datastore import LOST_RACE_ERRORS, CommitUnsettled, add_write
from ..kernel.commits import MISSING, ReadDoc, Write

log = logging.getLogger(__name__)

# Private members of google-cloud-firestore used here; all covered by self_check().
PRIVATE_NAMES = ("Client._database_string", "WriteBatch._add_write_pbs", "Transaction._add_write_pbs",
                 "WriteBatch._write_pbs", "_helpers.pbs_for_create",
                 "google.cloud._helpers._datetime_to_pb_timestamp", "types.write.Write.pb",
                 "WriteBatch._prep_commit", "Client._firestore_api", "Client._rpc_metadata",
                 # and WireChannel's (the commits go on the writer's channel)
                 "Client._target", "Client._credentials", "Client._emulator_host", "FirestoreClient._transport",
                 "base_client._DEFAULT_CHANNEL_OPTIONS", "base_client._GRPC_MSG_SIZE_OPTIONS")
# And of the read path (WireReads.self_check covers them).
PRIVATE_READ_NAMES = ("Client._database_string", "Client._firestore_api", "Client._rpc_metadata",
                      "Client._prep_get_all", "base_client._parse_batch_get", "_helpers.decode_dict",
                      "DocumentReference._document_path", "WriteBatch._write_pbs", "Client._emulator_host",
                      "Client._target", "Client._credentials", "FirestoreClient._transport",
                      "base_client._DEFAULT_CHANNEL_OPTIONS",
                      "base_client._GRPC_MSG_SIZE_OPTIONS")
# Firestore's gRPC methods (google/firestore/v1/firestore.proto), as the library's transport names them.
BATCH_GET_METHOD = "/google.firestore.v1.Firestore/BatchGetDocuments"
COMMIT_METHOD = "/google.firestore.v1.Firestore/Commit"
READ_TIMEOUT_SECONDS = 60.0
# What the library's transport gives Commit (firestore_v1 .../transports/base.py): a 60 s timeout,
# and retries of RESOURCE_EXHAUSTED and UNAVAILABLE for up to 60 s.
COMMIT_TIMEOUT_SECONDS = 60.0
COMMIT_RETRY = Retry(initial=0.1, maximum=60.0, multiplier=1.3, deadline=60.0,
                     predicate=if_exception_type(gexc.ResourceExhausted, gexc.ServiceUnavailable))


def _retried_commit(send):
    """send() under Commit's retry policy. An attempt that failed UNAVAILABLE may have landed, so
    a later attempt's failed precondition may be its own first write: CommitUnsettled, not a
    lost race (the writer then reads the keys and answers a landed operation as done, once)."""
    attempts = 0

    def attempt():
        nonlocal attempts
        attempts += 1
        try:
            return send()
        except LOST_RACE_ERRORS as exc:
            if attempts == 1:
                raise
            raise CommitUnsettled(f"a retried commit failed its preconditions: {exc.message}") from exc

    return COMMIT_RETRY(attempt)()


_PLAIN_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_KNOWN_FIELDS_MAX = 1024  # top-level field names already checked (the ledger's are a few dozen)


class Unsupported(TypeError):
    """A value or method the fast encoder leaves to the library."""


def _private():
    """Imports of private modules, inside a function so a missing one disables the adapter only."""
    from google.cloud._helpers import _datetime_to_pb_timestamp
    from google.cloud.firestore_v1 import _helpers as fs_helpers
    from google.cloud.firestore_v1.types import write as write_types

    return _datetime_to_pb_timestamp, fs_helpers, write_types


def _commit_names():
    from google.api_core import gapic_v1
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds
    from google.cloud.firestore_v1.types import firestore as firestore_types

    return (gapic_v1.method.DEFAULT, DatetimeWithNanoseconds.from_timestamp_pb, firestore_types.CommitResponse.pb,
            firestore_types.CommitRequest)


def _timestamp_pb(value, to_pb):
    return value.timestamp_pb() if hasattr(value, "timestamp_pb") else to_pb(value)


class WireWrites:
    """Adds the ledger's writes to a batch or transaction, fast when the self-check passed."""

    def __init__(self, client, enabled=True, channel=None):
        self.client = client
        self.channel = channel or WireChannel(client)
        self.enabled = False
        self._plain_fields = set()
        if enabled:
            self.enabled = self.self_check()
            if not self.enabled:
                log.warning("fast Firestore write encoding disabled; using the library's")

    # --- the fast path -------------------------------------------------------------

    def _set_value(self, value_pb, value):
        """Fills a raw Firestore Value protobuf in place, as the library's encode_value would.
        The exact types most of the ledger's values have come first, by identity; subclasses
        (bool, DatetimeWithNanoseconds and its nanoseconds, ...) take the isinstance chain."""
        kind = type(value)
        if kind is str:
            value_pb.string_value = value
        elif kind is int:
            value_pb.integer_value = value
        elif kind is dt.datetime:
            self._set_timestamp(value_pb.timestamp_value, value)
        elif value is None:
            value_pb.null_value = 0
        elif isinstance(value, bool):
            value_pb.boolean_value = value
        elif isinstance(value, int):
            value_pb.integer_value = value
        elif isinstance(value, str):
            value_pb.string_value = value
        elif isinstance(value, dt.datetime):
            value_pb.timestamp_value.CopyFrom(_timestamp_pb(value, self._to_pb))
        elif isinstance(value, dict):
            fields = value_pb.map_value.fields
            if not value:
                value_pb.map_value.SetInParent()
            for key, item in value.items():
                if not isinstance(key, str):
                    raise Unsupported(key)
                self._set_value(fields[key], item)
        elif isinstance(value, list | tuple):
            values = value_pb.array_value.values
            if not value:
                value_pb.array_value.SetInParent()
            for item in value:
                self._set_value(values.add(), item)
        else:  # floats, bytes, references, sentinels...: leave them to the library
            raise Unsupported(type(value))

    @staticmethod
    def _set_timestamp(timestamp_pb, value):
        """A plain datetime's seconds and nanos, set in place (the library builds a Timestamp through
        calendar.timegm and copies it): naive means UTC, an aware one is converted, as the library does."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        elif value.utcoffset() is None:  # a tzinfo that names no offset: the library's business
            raise Unsupported(value)
        delta = value - _EPOCH
        seconds, nanos = delta.days * 86400 + delta.seconds, delta.microseconds * 1000
        timestamp_pb.seconds = seconds
        timestamp_pb.nanos = nanos
        if not seconds and not nanos:
            timestamp_pb.SetInParent()

    def fill_write(self, pb, method, document_path, data, update_time=None):
        """Fills an empty Write pb as create / update (with a last-update-time precondition when given),
        or as absent: a delete that only requires the document not to exist."""
        if method == "absent":
            pb.delete = document_path
            pb.current_document.exists = False
            return pb
        pb.update.name = document_path
        fields = pb.update.fields
        for key, value in data.items():
            if key not in self._plain_fields:
                if not _PLAIN_FIELD.fullmatch(key):
                    raise Unsupported(key)
                if len(self._plain_fields) < _KNOWN_FIELDS_MAX:
                    self._plain_fields.add(key)
            self._set_value(fields[key], value)
        if method == "create":
            pb.current_document.exists = False
        elif method == "update":
            if not data:
                raise Unsupported("empty update")
            pb.update_mask.field_paths.extend(sorted(data))
            if update_time is not None:
                pb.current_document.update_time.CopyFrom(_timestamp_pb(update_time, self._to_pb))
            else:
                pb.current_document.exists = True
        else:
            raise Unsupported(method)
        return pb

    def fast_write(self, method, document_path, data, update_time=None):
        """The Write pb of create / update (with a last-update-time precondition when given)."""
        return self.fill_write(self._write_pb(), method, document_path, data, update_time)

    def new_batch(self):
        """What one commit's writes are added to (Datastore.commit's `new_batch`): a RawCommit when
        the self-check passed, else the library's WriteBatch."""
        return self._raw_commit() if self.enabled else self.client.batch()

    def _raw_commit(self):
        return RawCommit(self._raw_request_type(database=self.client._database_string))

    def add(self, batch, write, update_time=None):
        """Adds one create / update Write to a RawCommit, WriteBatch or Transaction (Datastore.commit's `add`)."""
        if self.enabled:
            self._fast_add(batch, write, update_time)
        else:
            add_write(self.client, batch, self._ref(write), write.method, write.data, update_time)

    def _fast_add(self, batch, write, update_time):
        path = f"{self._documents}/{write.collection}/{write.doc_id}"
        if type(batch) is RawCommit:
            writes = batch.request.writes
            try:
                self.fill_write(writes.add(), write.method, path, write.data, update_time)
            except Unsupported:  # the library encodes this one
                del writes[-1]
                scratch = self.client.batch()
                add_write(self.client, scratch, self._ref(write), write.method, write.data, update_time)
                writes.extend([pb._pb for pb in scratch._write_pbs])
            return
        try:
            pb = self.fast_write(write.method, path, write.data, update_time)
        except Unsupported:
            add_write(self.client, batch, self._ref(write), write.method, write.data, update_time)
        else:
            batch._add_write_pbs([self._wrap(pb)])

    def _ref(self, write):
        return self.client.collection(write.collection).document(write.doc_id)

    def commit(self, batch):
        """Commits a RawCommit or WriteBatch; returns each write's update time, in order.

        A RawCommit goes on the writer's channel as it is, with the library's retry and
        timeout for Commit, and the update times are read from the raw response: the
        library's call wrappers and proto-plus request and answer cost about a tenth of
        the writer's CPU.
        """
        if type(batch) is not RawCommit:
            return [result.update_time for result in _retried_commit(lambda: batch.commit(retry=None))]
        response = _retried_commit(lambda: self._send_commit(batch.request))
        # An absent write's result has no update time: nothing was written.
        return [self._from_timestamp_pb(result.update_time) if result.HasField("update_time") else None
                for result in response.write_results]

    def _send_commit(self, request):
        call, metadata = self.channel.method("unary_unary", COMMIT_METHOD, self._raw_request_type,
                                             self._raw_response_type)
        try:
            return call(request, timeout=COMMIT_TIMEOUT_SECONDS, metadata=metadata)
        except grpc.RpcError as exc:  # as the library raises it: LostRace, transient or not
            raise gexc.from_grpc_error(exc) from exc

    # --- start-up self-check -----------------------------------------------------------

    def self_check(self):
        """True when every private name resolves and fast writes equal the library's."""
        try:
            self._to_pb, fs_helpers, write_types = _private()
            self._retry_default, self._from_timestamp_pb, response_pb, self._request_type = _commit_names()
            # The raw classes once, not per commit.
            self._raw_request_type, self._raw_response_type = self._request_type.pb(), response_pb()
            self._write_pb = write_types.Write.pb()
            self._wrap = write_types.Write.wrap
            self._documents = f"{self.client._database_string}/documents"
            at = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
            sample = {"s": "x", "i": -3, "b": True, "n": None, "t": at, "l": ["a", "b"], "e": [],
                      "m": {"k": "v", "z": 0, "d": {"t": at}, "empty": {}},
                      "naive": at.replace(tzinfo=None), "east": at.astimezone(dt.timezone(dt.timedelta(hours=2))),
                      "epoch": _EPOCH, "before": dt.datetime(1960, 1, 1, 0, 0, 0, 5, tzinfo=dt.UTC)}
            ref = self.client.collection("c").document("d")
            path = f"{self._documents}/c/d"
            cases = (("create", None), ("update", None), ("update", at), ("absent", None))
            for method, update_time in cases:
                library, fast = self.client.batch(), self.client.batch()
                add_write(self.client, library, ref, method, sample, update_time)
                fast._add_write_pbs([self._wrap(self.fast_write(method, path, sample, update_time))])
                if [w._pb if hasattr(w, "_pb") else w for w in library._write_pbs] != \
                        [w._pb if hasattr(w, "_pb") else w for w in fast._write_pbs]:
                    return False
            # The same encoding must also be what the helpers make (the naive transaction path).
            if fs_helpers.pbs_for_create(path, sample)[0]._pb != self._wrap(self.fast_write(
                    "create", path, sample))._pb:
                return False
            # The commit path: a RawCommit holds the request WriteBatch.commit sends.
            library, raw = self.client.batch(), self._raw_commit()
            for method, update_time in cases:
                add_write(self.client, library, ref, method, sample, update_time)
                self._fast_add(raw, Write(method, "c", "d", sample), update_time)
            request, _kwargs = library._prep_commit(self._retry_default, None)
            if set(request) != {"database", "writes", "transaction"} or request["transaction"] is not None or \
                    raw.request != self._request_type(request)._pb or not self.channel.can_be_made():
                return False
            return callable(getattr(self.client.transaction(), "_add_write_pbs", None))
        except Exception:  # any surprise from a library upgrade: use the library
            log.exception("fast Firestore write encoding failed its self-check")
            return False


def _read_names():
    from google.api_core import gapic_v1
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds
    from google.cloud.firestore_v1 import _helpers as fs_helpers
    from google.cloud.firestore_v1 import base_client
    from google.cloud.firestore_v1.types import firestore as firestore_types

    return (fs_helpers.decode_dict, DatetimeWithNanoseconds.from_timestamp_pb, firestore_types.BatchGetDocumentsRequest,
            firestore_types.BatchGetDocumentsResponse, base_client._parse_batch_get, gapic_v1.method.DEFAULT)


def _channel_for(client):
    """A channel to the client's Firestore, made as the library makes its own (base_client's
    _firestore_api_helper and _emulator_channel), whose unary-stream calls are read in the
    calling thread."""
    from google.cloud.firestore_v1 import base_client

    single_thread = (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1)
    if client._emulator_host is not None:
        return grpc.insecure_channel(client._emulator_host,
                                     options=[single_thread, *base_client._GRPC_MSG_SIZE_OPTIONS])
    transport = type(client._firestore_api._transport)
    return transport.create_channel(client._target, credentials=client._credentials,
                                    options=[single_thread, *base_client._DEFAULT_CHANNEL_OPTIONS])


class RawCommit:
    """One commit's writes, gathered straight into a raw CommitRequest (WireWrites.new_batch)."""

    __slots__ = ("request",)

    def __init__(self, request):
        self.request = request


class WireChannel:
    """The writer's own gRPC channel to Firestore, for its reads and commits: made at the first call
    (after gunicorn's fork), closed with the ledger (LedgerStore.close)."""

    def __init__(self, client):
        self.client = client
        self._lock = threading.Lock()
        self._channel = None
        self._methods = {}
        self._metadata = None

    def method(self, kind, name, request_pb_type, response_pb_type):
        """(callable, metadata) of a Firestore method: `kind` is the channel's "unary_unary" or
        "unary_stream"; the metadata is what the library's call sends (the database's resource
        prefix and routing header; the emulator's owner token)."""
        call = self._methods.get(name)
        if call is not None:
            return call, self._metadata
        with self._lock:
            call = self._methods.get(name)  # another thread's first call may have made it meanwhile
            if call is None:
                if self._channel is None:
                    self._metadata = (*self.client._rpc_metadata, routing_header.to_grpc_metadata(
                        (("database", self.client._database_string),)))
                    self._channel = _channel_for(self.client)
                call = self._methods[name] = getattr(self._channel, kind)(
                    name, request_serializer=request_pb_type.SerializeToString,
                    response_deserializer=response_pb_type.FromString)
            return call, self._metadata

    def can_be_made(self):
        """Whether what _channel_for uses to make the channel as the library does is still there."""
        from google.cloud.firestore_v1 import base_client

        options = (base_client._DEFAULT_CHANNEL_OPTIONS, base_client._GRPC_MSG_SIZE_OPTIONS)
        return all(isinstance(o, list) and o for o in options) and isinstance(self.client._target, str) and \
            isinstance(self.client._emulator_host, str | None) and hasattr(self.client, "_credentials") and \
            isinstance(self.client._rpc_metadata, list | tuple) and \
            callable(getattr(type(self.client._firestore_api._transport), "create_channel", None))

    def close(self):
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel, self._methods = None, {}


class WireReads:
    """The writer's reads in one BatchGetDocuments, decoded from the raw answers when the
    self-check passed (`enabled`); Datastore.read is the caller's fallback otherwise.

    The library builds a DocumentReference per key, marshals the request through proto-plus
    and makes a DocumentSnapshot of every answer: 30-45 µs of a document's 120-140 µs of
    client CPU; most of the rest is gRPC's streaming of one answer per document (bench/RESULTS.md).
    """

    def __init__(self, client, enabled=True, channel=None):
        self.client = client
        self.channel = channel or WireChannel(client)
        self.enabled = False
        if enabled:
            self.enabled = self.self_check()
            if not self.enabled:
                log.warning("fast Firestore reads disabled; using the library's get_all")

    def _raw_request(self, names):
        raw = self._raw_request_type()
        raw.database = self.client._database_string
        raw.documents.extend(names)
        return raw

    def _request(self, names):
        return self._request_type.wrap(self._raw_request(names))

    def close(self):
        self.channel.close()

    def _found(self, document):
        """The ReadDoc of a found Document protobuf."""
        return ReadDoc(self._decode(document.fields, self.client), self._from_timestamp_pb(document.update_time))

    def decode(self, raw):
        """The ReadDoc of one raw BatchGetDocumentsResponse (MISSING for a missing document)."""
        return self._found(raw.found) if raw.WhichOneof("result") == "found" else MISSING

    def _names(self, keys):
        """{document name: key} of (collection, id) keys."""
        return {f"{self._documents}/{collection}/{doc_id}": (collection, doc_id) for collection, doc_id in keys}

    def _gather(self, keys, names, answers):
        """{key: ReadDoc} of the keys from the streamed raw answers."""
        found = dict.fromkeys(keys, MISSING)
        for raw in answers:
            if raw.WhichOneof("result") == "found":
                found[names[raw.found.name]] = self._found(raw.found)
        return found

    def read(self, keys):
        """{(collection, id): ReadDoc} of distinct keys, in one round trip."""
        names = self._names(keys)
        call, metadata = self.channel.method("unary_stream", BATCH_GET_METHOD, self._raw_request_type,
                                             self._raw_response_type)
        try:
            answers = call(self._raw_request(list(names)), timeout=READ_TIMEOUT_SECONDS, metadata=metadata)
            return self._gather(keys, names, answers)
        except grpc.RpcError as exc:  # as the library raises it: the writer retries the transient ones
            raise gexc.from_grpc_error(exc) from exc

    def self_check(self):
        """True when every private name resolves and the raw request and decoding equal the library's."""
        try:
            (self._decode, self._from_timestamp_pb, self._request_type, response_type,
             parse_batch_get, retry_default) = _read_names()
            self._raw_request_type, self._raw_response_type = self._request_type.pb(), response_type.pb()
            self._documents = f"{self.client._database_string}/documents"
            keys = [("c", "d"), ("e", "f")]
            refs = [self.client.collection(collection).document(doc_id) for collection, doc_id in keys]
            # What get_all sends: its default retry adds no argument to the call.
            request, reference_map, kwargs = self.client._prep_get_all(refs, retry=retry_default)
            names = self._names(keys)
            if list(names) != [ref._document_path for ref in refs] or kwargs or \
                    self._request(list(names))._pb != self._request_type(request)._pb:
                return False
            at = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
            sample = {"s": "x", "i": -3, "b": True, "n": None, "t": at, "l": ["a", 2], "e": [],
                      "m": {"k": "v", "d": {"t": at}, "empty": {}}}
            batch = self.client.batch()
            batch.create(refs[0], sample)  # the library's encoding of the sample, as a Document
            write = batch._write_pbs[0]
            document = (write._pb if hasattr(write, "_pb") else write).update
            document.update_time.seconds, document.update_time.nanos = 1714979289, 123456789
            # The answers as the read channel yields them (raw), read as read() reads them.
            answers = [self._raw_response_type(found=document), self._raw_response_type(missing=refs[1]._document_path)]
            ours = self._gather(keys, names, answers)
            for key, answer in zip(keys, answers, strict=True):
                snap = parse_batch_get(response_type.wrap(answer), reference_map, self.client)
                theirs = ReadDoc(snap.to_dict(), snap.update_time)
                if ours[key] != theirs or (theirs.update_time is not None and
                                           ours[key].update_time.nanosecond != theirs.update_time.nanosecond):
                    return False
            return self.channel.can_be_made()
        except Exception:  # any surprise from a library upgrade: use the library
            log.exception("fast Firestore reads failed their self-check")
            return False
