"""Whether this process holds a role that wants its whole CPU, beside serving HTTP.

The ledger writer is such a role: every commit of the deployment runs in its
process, under one GIL, and on 16 cores with 8 processes that process was the
one at 100% CPU while the other seven idled at about 27% (bench/RESULTS.md).
The domain that holds the role says so here (the ledger, from its lease); the
front (edge/buffered.py) then stops taking HTTP connections in that process
while other workers of its instance take them, and ends the process once it no
longer holds the role (the ledger says so only once what it took is answered),
so that gunicorn starts a fresh worker that serves HTTP.
Neither side knows the other: both know only this object.
"""

import threading


class DedicatedRole:
    def __init__(self):
        self._held = threading.Event()

    def gained(self):
        self._held.set()

    def lost(self):
        self._held.clear()

    def held(self):
        return self._held.is_set()
