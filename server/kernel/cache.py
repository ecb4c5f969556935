"""The one bounded cache: a least-recently-used map of at most `maxsize` entries.

For facts a process may keep because they never change (usernames' owners,
conversations' members) or because it rechecks them (sessions, the ledger's
accounts): memory stays bounded however many keys pass through. Safe to share
between threads (an LRU read reorders, so reads take the lock too).
"""

import threading

from cachetools import LRUCache


class BoundedCache:
    def __init__(self, maxsize):
        self._entries = LRUCache(maxsize)
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            return self._entries.get(key, default)

    def __setitem__(self, key, value):
        with self._lock:
            self._entries[key] = value

    def __contains__(self, key):
        with self._lock:
            return key in self._entries

    def pop(self, key, default=None):
        with self._lock:
            return self._entries.pop(key, default)

    def __len__(self):
        return len(self._entries)
