"""Login transactions in the in-process store (``idp.protocol.ports.TransactionStore``)."""

from __future__ import annotations

from idp.protocol.models import LoginTransaction
from idp.state import _keys
from idp.state.memory._base import MemoryBase


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
