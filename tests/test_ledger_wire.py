"""The ledger's fast commit (ledger/wire.py) against the emulator: the update times it reads
from the raw response are exactly the ones Firestore stored (preconditions depend on them)."""

import uuid

from server.kernel.commits import Write


def test_fast_commit_returns_the_update_times_the_library_reads_back(app):
    from server.ledger.wire import WireWrites

    firestore_client = app.extensions["datastore"].client  # on the emulator

    for wire in (WireWrites(firestore_client), WireWrites(firestore_client, enabled=False)):
        batch, ids = firestore_client.batch(), [uuid.uuid4().hex for _ in range(3)]
        for i, doc_id in enumerate(ids):
            wire.add(batch, Write("create", "wire_commits", doc_id, {"n": i}))
        times = wire.commit(batch)
        snaps = firestore_client.get_all([firestore_client.collection("wire_commits").document(i) for i in ids])
        stored = {snap.id: snap.update_time for snap in snaps}
        assert times == [stored[i] for i in ids]
        assert [t.nanosecond for t in times] == [stored[i].nanosecond for i in ids]  # exact, for preconditions
