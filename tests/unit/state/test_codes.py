"""The CodeStore contract, against the in-process and the Redis store alike: authorization
codes are single use (RFC 6749 §4.1.2: a code MUST NOT be used more than once), and a second
redemption reports the grant so the caller can revoke it (RFC 6749 §4.1.2; RFC 9700 §4.2.4).
Security checklist D3: 20 parallel redemptions of one code give exactly one record."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idp.protocol.models import CodeRedemption
from idp.protocol.ports import CodeStore
from tests.unit.state import records
from tests.unit.state.concurrency import THREADS, run_together

CODE = "SplxlOBeZQQYbYS6WxSbIA"


# -- round trip and single use --------------------------------------------------------------------


def test_code_round_trip(store: CodeStore) -> None:
    record = records.code_record()
    store.store_code(CODE, record, ttl=60, reuse_window=120)
    assert store.redeem_code(CODE) == CodeRedemption(record=record)


def test_redeem_once_then_reuse_reports_grant(store: CodeStore) -> None:
    record = records.code_record(grant_id="grant-42")
    store.store_code(CODE, record, ttl=60, reuse_window=600)
    assert store.redeem_code(CODE) == CodeRedemption(record=record)
    assert store.redeem_code(CODE) == CodeRedemption(reused_grant_id="grant-42")
    assert store.redeem_code(CODE) == CodeRedemption(reused_grant_id="grant-42")


def test_unknown_code_is_empty(store: CodeStore) -> None:
    assert store.redeem_code("never-issued") == CodeRedemption()


def test_codes_are_independent(store: CodeStore) -> None:
    store.store_code("code-a", records.code_record("grant-a"), ttl=60, reuse_window=60)
    store.store_code("code-b", records.code_record("grant-b"), ttl=60, reuse_window=60)
    assert store.redeem_code("code-a").record == records.code_record("grant-a")
    assert store.redeem_code("code-b").record == records.code_record("grant-b")
    assert store.redeem_code("code-a").reused_grant_id == "grant-a"


def test_concurrent_redemption_has_one_winner(store: CodeStore) -> None:
    record = records.code_record(grant_id="grant-race")
    store.store_code("race-code", record, ttl=60, reuse_window=120)
    results = run_together(lambda: store.redeem_code("race-code"))
    assert results.count(CodeRedemption(record=record)) == 1
    assert results.count(CodeRedemption(reused_grant_id="grant-race")) == THREADS - 1


# -- expiry ---------------------------------------------------------------------------------------


def test_code_expires(store: CodeStore, elapse: Callable[[float], None]) -> None:
    store.store_code(CODE, records.code_record(), ttl=1, reuse_window=1)
    elapse(1.2)
    assert store.redeem_code(CODE) == CodeRedemption()


def test_reuse_window_ends(store: CodeStore, elapse: Callable[[float], None]) -> None:
    store.store_code(CODE, records.code_record(), ttl=1, reuse_window=1)
    assert store.redeem_code(CODE).record is not None
    elapse(1.2)
    assert store.redeem_code(CODE) == CodeRedemption()


def test_expired_unredeemed_code_is_not_reuse(
    store: CodeStore, elapse: Callable[[float], None]
) -> None:
    """A code that simply expired was never redeemed: nothing to revoke, no reuse alarm."""
    store.store_code(CODE, records.code_record(), ttl=1, reuse_window=30)
    elapse(1.2)
    assert store.redeem_code(CODE) == CodeRedemption()


def test_code_lives_until_its_ttl(store: CodeStore, elapse: Callable[[float], None]) -> None:
    store.store_code(CODE, records.code_record(), ttl=60, reuse_window=60)
    elapse(0.1)
    assert store.redeem_code(CODE).record is not None


# -- arguments ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ttl", [0, -1])
def test_code_ttl_must_be_positive(store: CodeStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.store_code(CODE, records.code_record(), ttl=ttl, reuse_window=60)


def test_reuse_window_must_outlive_code(store: CodeStore) -> None:
    with pytest.raises(ValueError, match="reuse_window"):
        store.store_code(CODE, records.code_record(), ttl=60, reuse_window=30)
    with pytest.raises(ValueError, match="reuse_window"):
        store.store_code(CODE, records.code_record(), ttl=60, reuse_window=0)
    assert store.redeem_code(CODE) == CodeRedemption()  # nothing was written
