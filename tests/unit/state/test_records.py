"""Property: every record the stores keep survives its JSON round trip unchanged.

The records live in ``idp.protocol.models``; the property is tested here because the state
store's correctness (same bytes in memory and in Redis) rests on it.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from idp.protocol.models import CodeRecord, LoginTransaction
from idp.state import MemoryStateStore

texts = st.text(max_size=40)
optional_texts = st.none() | texts
ints = st.integers(min_value=-(2**63), max_value=2**63)
string_tuples = st.lists(texts, max_size=5).map(tuple)

code_records = st.builds(
    CodeRecord,
    client_id=texts,
    redirect_uri=texts,
    scope=string_tuples,
    nonce=optional_texts,
    code_challenge=texts,
    code_challenge_method=texts,
    dezi_nummer=texts,
    declaration_id=texts,
    acr=texts,
    auth_time=ints,
    grant_id=texts,
    issued_at=ints,
    claims=optional_texts,
    sid=optional_texts,
)

transactions = st.builds(
    LoginTransaction,
    tx_id=texts,
    request=texts,
    browser_binding=texts,
    created_at=ints,
    dezi_nummer=optional_texts,
    acr=optional_texts,
    auth_time=st.none() | ints,
    login_method=optional_texts,
    declaration_ids=string_tuples,
)


@given(code_records)
def test_code_record_json_round_trip(record: CodeRecord) -> None:
    assert CodeRecord.from_json(record.to_json()) == record
    assert CodeRecord.from_json(record.to_json().encode()) == record


@given(transactions)
def test_login_transaction_json_round_trip(tx: LoginTransaction) -> None:
    assert LoginTransaction.from_json(tx.to_json()) == tx
    assert LoginTransaction.from_json(tx.to_json().encode()) == tx


@given(code_records, texts)
def test_code_record_store_round_trip(record: CodeRecord, code: str) -> None:
    store = MemoryStateStore()
    store.store_code(code, record, ttl=60, reuse_window=60)
    assert store.redeem_code(code).record == record
    assert store.redeem_code(code).reused_grant_id == record.grant_id
