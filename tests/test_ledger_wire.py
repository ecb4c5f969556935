"""The ledger's fast commit and reads (ledger/wire.py) against the emulator: the update times
read from raw responses are exactly the ones Firestore stored (preconditions depend on them)."""

import datetime as dt
import functools
import uuid

import pytest

from server.kernel.commits import Write


def test_fast_commit_returns_the_update_times_the_library_reads_back(app):
    from server.ledger.wire import RawCommit, WireWrites

    firestore_client = app.extensions["datastore"].client  # on the emulator

    for wire in (WireWrites(firestore_client), WireWrites(firestore_client, enabled=False)):
        batch, ids = wire.new_batch(), [uuid.uuid4().hex for _ in range(3)]
        assert isinstance(batch, RawCommit) == wire.enabled
        for i, doc_id in enumerate(ids):
            wire.add(batch, Write("create", "wire_commits", doc_id, {"n": i, "f": 0.5 if i else 1}))  # a float too
        times = wire.commit(batch)
        snaps = firestore_client.get_all([firestore_client.collection("wire_commits").document(i) for i in ids])
        stored = {snap.id: snap.update_time for snap in snaps}
        assert times == [stored[i] for i in ids]
        assert [t.nanosecond for t in times] == [stored[i].nanosecond for i in ids]  # exact, for preconditions


def test_fast_reads_find_what_get_all_finds(app):
    from server.kernel.commits import MISSING
    from server.ledger.wire import WireReads

    firestore_client = app.extensions["datastore"].client  # on the emulator
    reads = WireReads(firestore_client)
    assert reads.enabled
    collection = firestore_client.collection("wire_reads")
    at = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    stored = {uuid.uuid4().hex: {"n": i, "at": at, "m": {"l": [i, "x", None]}, "f": 0.5} for i in range(3)}
    for doc_id, data in stored.items():
        collection.document(doc_id).set({"n": -1})
        collection.document(doc_id).set(data)  # its update time now differs from its create time
    absent = [uuid.uuid4().hex for _ in range(2)]
    keys = [("wire_reads", doc_id) for doc_id in [*stored, *absent]]

    ours = reads.read(keys)

    snaps = {snap.id: snap for snap in firestore_client.get_all([collection.document(i) for _c, i in keys])}
    assert list(ours) == keys
    for doc_id, data in stored.items():
        read = ours[("wire_reads", doc_id)]
        assert read.data == data == snaps[doc_id].to_dict()
        assert read.update_time == snaps[doc_id].update_time
        assert read.update_time.nanosecond == snaps[doc_id].update_time.nanosecond  # exact, for preconditions
    assert all(ours[("wire_reads", doc_id)] is MISSING and not snaps[doc_id].exists for doc_id in absent)


def test_a_refused_fast_commit_is_a_lost_race_and_writes_nothing(app):
    """The writer tells a lost race (a precondition) from other errors by the library's exception types."""
    from server.kernel.commits import LostRace
    from server.ledger.wire import WireWrites

    datastore = app.extensions["datastore"]
    wire = WireWrites(datastore.client)
    assert wire.enabled
    taken, fresh = uuid.uuid4().hex, uuid.uuid4().hex
    datastore.client.collection("wire_commits").document(taken).set({"n": 0})
    try:
        with pytest.raises(LostRace):
            datastore.commit([Write("create", "wire_commits", fresh, {"n": 1}),
                              Write("create", "wire_commits", taken, {"n": 1})], {},
                             add=wire.add, send=wire.commit, new_batch=wire.new_batch)
        assert not datastore.client.collection("wire_commits").document(fresh).get().exists  # atomic
        assert datastore.client.collection("wire_commits").document(taken).get().to_dict() == {"n": 0}
    finally:
        wire.channel.close()


def test_a_refused_fast_read_raises_the_library_s_error(app):
    """The writer tells transient errors from others by the library's exception types."""
    from google.api_core import exceptions

    from server.ledger.wire import WireReads

    reads = WireReads(app.extensions["datastore"].client)
    assert reads.enabled
    try:
        with pytest.raises(exceptions.InvalidArgument):
            reads.read([("wire_reads", "a/b")])  # a collection path is no document name
        assert reads.read([("wire_reads", uuid.uuid4().hex)])  # the channel still serves
    finally:
        reads.close()


def test_an_absent_write_writes_nothing_and_fails_on_a_document_that_exists(app):
    """A key's record assumed missing (optimistic.py) is checked by the commit, fast or not."""
    from server.kernel.commits import LostRace
    from server.ledger.wire import WireWrites

    datastore = app.extensions["datastore"]
    collection = datastore.client.collection("wire_absent")
    for wire in (WireWrites(datastore.client), WireWrites(datastore.client, enabled=False)):
        taken, free, created = (uuid.uuid4().hex for _ in range(3))
        collection.document(taken).set({"n": 0})
        commit = functools.partial(datastore.commit, docs={}, add=wire.add, send=wire.commit,
                                   new_batch=wire.new_batch)
        with pytest.raises(LostRace):
            commit([Write("create", "wire_absent", created, {"n": 1}), Write("absent", "wire_absent", taken)])
        assert not collection.document(created).get().exists  # nothing of the refused commit
        assert collection.document(taken).get().to_dict() == {"n": 0}
        written = commit([Write("create", "wire_absent", created, {"n": 1}), Write("absent", "wire_absent", free)])
        assert written[("wire_absent", free)] is None and written[("wire_absent", created)] is not None
        assert not collection.document(free).get().exists
        wire.channel.close()
