"""Relying parties from memory: the hot path never reads them from the database.

ARCHITECTURE.md "The hot path": a login, a silent login and a token request look up their client
several times; each look-up used to open a database transaction. ``ClientCache`` keeps the
records the register handed out (so the parsed client keys, cached per record by
``ClientKeyCache``, stay valid too) until the register says that a client changed: at once for a
change made in this process, within a second for one made elsewhere (``idp.register_feed``).
"""

from __future__ import annotations

import threading

from idp.protocol.ports import ClientStore, ClientView

__all__ = ["ClientCache"]

# Unknown client ids are remembered too (an attacker's random ids must not each cost a query),
# in a bounded map so they cannot fill the memory.
MAX_UNKNOWN = 1024


class ClientCache:
    """A ``ClientStore`` in front of another one, invalidated by ``invalidate``."""

    def __init__(self, source: ClientStore) -> None:
        self._source = source
        self._known: dict[str, ClientView] = {}
        self._unknown: set[str] = set()
        self._generation = 0
        self._lock = threading.Lock()

    def get_client(self, client_id: str) -> ClientView | None:
        found = self._known.get(client_id)
        if found is not None:
            return found
        if client_id in self._unknown:
            return None
        with self._lock:
            generation = self._generation
        client = self._source.get_client(client_id)
        with self._lock:
            if generation != self._generation:
                return client  # changed while we read: use it, but do not keep it
            if client is not None:
                self._known[client_id] = client
            else:
                if len(self._unknown) >= MAX_UNKNOWN:
                    self._unknown.clear()
                self._unknown.add(client_id)
        return client

    def invalidate(self) -> None:
        """Forget everything: the next look-up of each client reads the register again."""
        with self._lock:
            self._generation += 1
            self._known = {}
            self._unknown = set()
