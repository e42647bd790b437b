"""Login transactions in the in-process store (``idp.protocol.ports.TransactionStore``)."""

from __future__ import annotations

from idp.protocol.models import HitCount, LoginTransaction
from idp.state import _keys
from idp.state.memory._base import MemoryBase
from idp.state.memory.counters import count_hit_locked


class MemoryTransactions(MemoryBase):
    def put_transaction(self, tx: LoginTransaction, ttl: int) -> None:
        self._put(_keys.transaction_key(tx.tx_id), tx.to_json(), ttl)

    def get_transaction(self, tx_id: str) -> LoginTransaction | None:
        raw = self._get(_keys.transaction_key(tx_id))
        return None if raw is None else LoginTransaction.from_json(raw)

    def take_transaction(self, tx_id: str) -> LoginTransaction | None:
        """Get and delete under the lock: of two tabs finishing one login, exactly one wins."""
        raw = self._take(_keys.transaction_key(tx_id))
        return None if raw is None else LoginTransaction.from_json(raw)

    def get_transaction_and_count(
        self, tx_id: str, scope: str, key: str, window: int
    ) -> tuple[LoginTransaction | None, HitCount]:
        """Both under one hold of the lock, as Redis does them in one MULTI/EXEC."""
        _keys.check_ttl(window, "window")
        with self._lock:
            now = self._clock()
            entry = self._live(_keys.transaction_key(tx_id), now)
            hits = count_hit_locked(self, _keys.hits_key(scope, key), window, now)
        tx = None if entry is None else LoginTransaction.from_json(entry[1])
        return tx, hits
