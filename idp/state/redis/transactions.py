"""Login transactions on Redis (``idp.protocol.ports.TransactionStore``)."""

from __future__ import annotations

from idp.protocol.models import LoginTransaction
from idp.state import _keys
from idp.state.redis._base import RedisBase


class RedisTransactions(RedisBase):
    def put_transaction(self, tx: LoginTransaction, ttl: int) -> None:
        _keys.check_ttl(ttl)
        self._client.set(_keys.transaction_key(tx.tx_id), tx.to_json(), ex=ttl)

    def get_transaction(self, tx_id: str) -> LoginTransaction | None:
        raw = self._client.get(_keys.transaction_key(tx_id))
        return None if raw is None else LoginTransaction.from_json(raw)

    def take_transaction(self, tx_id: str) -> LoginTransaction | None:
        """``GETDEL``: of two tabs finishing one login, exactly one wins."""
        raw = self._client.getdel(_keys.transaction_key(tx_id))
        return None if raw is None else LoginTransaction.from_json(raw)
