"""Login transactions on Redis (``idp.protocol.ports.TransactionStore``)."""

from __future__ import annotations

from idp.protocol.models import HitCount, LoginTransaction
from idp.state import _keys
from idp.state.redis._base import RedisBase
from idp.state.redis.counters import hit_count_of, queue_hit


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

    def get_transaction_and_count(
        self, tx_id: str, scope: str, key: str, window: int
    ) -> tuple[LoginTransaction | None, HitCount]:
        """``GET`` and the counter's ``INCR``/``EXPIRE NX``/``PTTL`` in one MULTI/EXEC, so the
        count stays as atomic as ``count_hit``'s. The two keys lie in different Cluster slots:
        fine on standalone and Sentinel; on Cluster redis-py refuses a cross-slot MULTI/EXEC
        (``CrossSlotTransactionError``), so a Cluster client would need a non-transactional
        pipeline here (the counter's own three commands share one slot and stay atomic)."""
        _keys.check_ttl(window, "window")
        with self._client.pipeline(transaction=True) as pipe:
            pipe.get(_keys.transaction_key(tx_id))
            queue_hit(pipe, _keys.hits_key(scope, key), window)
            raw, count, _, pttl = pipe.execute()
        tx = None if raw is None else LoginTransaction.from_json(raw)
        return tx, hit_count_of(count, pttl, window)
