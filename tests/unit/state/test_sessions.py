"""The SessionStore contract, against the in-process and the Redis store alike: the OP's SSO
sessions and the index of one person's sessions (ASVS 7.4.2, 7.4.5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from idp.protocol.models import CodeRedemption
from idp.protocol.ports import SessionStore, StateStore
from tests.unit.state import records
from tests.unit.state.concurrency import THREADS, run_together

CODE = "SplxlOBeZQQYbYS6WxSbIA"


def sids_of(store: SessionStore, dezi_nummer: str = records.DEZI_NUMMER) -> list[str]:
    return sorted(s.sid for s in store.sessions_of(dezi_nummer))


# -- round trip and the person index ---------------------------------------------------------------


def test_session_round_trip_and_delete(store: SessionStore) -> None:
    session = records.session()
    store.put_session(session, ttl=60)
    assert store.get_session(session.sid) == session
    store.delete_session(session.sid)
    assert store.get_session(session.sid) is None
    store.delete_session(session.sid)


def test_put_overwrites(store: SessionStore) -> None:
    store.put_session(records.session(), ttl=60)
    newer = replace(records.session(), last_seen=1_700_000_999, clients=("epd-c",))
    store.put_session(newer, ttl=60)
    assert store.get_session(newer.sid) == newer


def test_sessions_of_a_person(store: SessionStore) -> None:
    base = records.session()
    mine = [replace(base, sid=f"sid-{n}") for n in range(3)]
    other = replace(base, sid="sid-other", dezi_nummer="900000019")
    for session in [*mine, other]:
        store.put_session(session, ttl=60)
    assert sorted(s.sid for s in store.sessions_of(base.dezi_nummer)) == ["sid-0", "sid-1", "sid-2"]
    store.delete_session("sid-1")
    assert sorted(s.sid for s in store.sessions_of(base.dezi_nummer)) == ["sid-0", "sid-2"]
    assert [s.sid for s in store.sessions_of("900000019")] == ["sid-other"]
    assert store.sessions_of("900000051") == []


def test_session_expires(store: SessionStore, elapse: Callable[[float], None]) -> None:
    store.put_session(records.session(), ttl=1)
    elapse(1.2)
    assert store.get_session("sid-1") is None


@pytest.mark.parametrize("ttl", [0, -1])
def test_session_ttl_must_be_positive(store: SessionStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.put_session(records.session(), ttl=ttl)


# -- save_login: the end of a login in one round trip ----------------------------------------------


def test_save_login_stores_the_session(store: StateStore) -> None:
    store.save_login(records.session(), ttl=60)
    assert store.get_session("sid-1") == records.session()
    assert sids_of(store) == ["sid-1"]


def test_save_login_stores_the_code_as_store_code_does(store: StateStore) -> None:
    record = records.code_record(grant_id="grant-9")
    store.save_login(
        records.session(), 60, code=CODE, code_record=record, code_ttl=60, reuse_window=120
    )
    assert store.redeem_code(CODE) == CodeRedemption(record=record)
    assert store.redeem_code(CODE) == CodeRedemption(reused_grant_id="grant-9")


def test_save_login_ends_the_old_session(store: StateStore) -> None:
    """Session fixation (ASVS 7.2.4): a fresh login gets a new id and the old one ends."""
    old, new = records.session("sid-old"), records.session("sid-new")
    store.put_session(old, ttl=60)
    store.save_login(new, ttl=60, end_session=old.sid)
    assert store.get_session(old.sid) is None
    assert store.get_session(new.sid) == new
    assert sids_of(store) == ["sid-new"]


def test_save_login_with_everything(store: StateStore) -> None:
    old = replace(records.session("sid-old"), dezi_nummer="900000019")
    store.put_session(old, ttl=60)
    store.save_login(
        records.session("sid-2"),
        60,
        code=CODE,
        code_record=records.code_record(),
        code_ttl=30,
        reuse_window=60,
        end_session="sid-old",
    )
    assert store.get_session("sid-old") is None
    assert store.sessions_of("900000019") == []
    assert sids_of(store) == ["sid-2"]
    assert store.redeem_code(CODE).record == records.code_record()


def test_save_login_ending_an_unknown_session_is_harmless(store: StateStore) -> None:
    store.save_login(records.session(), ttl=60, end_session="never-existed")
    assert store.get_session("sid-1") == records.session()


def test_save_login_ending_the_same_id_keeps_the_new_record(store: StateStore) -> None:
    """The old session ends first, as with the separate calls in the documented order."""
    store.put_session(records.session(), ttl=60)
    newer = replace(records.session(), last_seen=1_700_000_999)
    store.save_login(newer, ttl=60, end_session=newer.sid)
    assert store.get_session(newer.sid) == newer


def test_save_login_overwrites_like_put_session(store: StateStore) -> None:
    store.save_login(records.session(), ttl=60)
    newer = replace(records.session(), clients=("epd-c",))
    store.save_login(newer, ttl=60)
    assert store.get_session("sid-1") == newer
    assert sids_of(store) == ["sid-1"]


def test_save_login_keys_expire(store: StateStore, elapse: Callable[[float], None]) -> None:
    store.save_login(
        records.session(),
        1,
        code=CODE,
        code_record=records.code_record(),
        code_ttl=1,
        reuse_window=1,
    )
    elapse(1.2)
    assert store.get_session("sid-1") is None
    assert store.sessions_of(records.DEZI_NUMMER) == []
    assert store.redeem_code(CODE) == CodeRedemption()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ttl": 0}, "ttl"),
        ({"ttl": 60, "code": CODE}, "code_record"),
        ({"ttl": 60, "code_record": records.code_record()}, "code_record"),
        ({"ttl": 60, "code": CODE, "code_record": records.code_record()}, "ttl"),
        (
            {"ttl": 60, "code": CODE, "code_record": records.code_record(), "code_ttl": 60},
            "reuse_window",
        ),
        (
            {
                "ttl": 60,
                "code": CODE,
                "code_record": records.code_record(),
                "code_ttl": 60,
                "reuse_window": 30,
            },
            "reuse_window",
        ),
    ],
)
def test_save_login_checks_before_writing(
    store: StateStore, kwargs: dict[str, object], match: str
) -> None:
    store.put_session(records.session("sid-old"), ttl=60)
    with pytest.raises(ValueError, match=match):
        store.save_login(records.session(), end_session="sid-old", **kwargs)  # type: ignore[arg-type]
    assert store.get_session("sid-1") is None
    assert store.get_session("sid-old") is not None
    assert store.redeem_code(CODE) == CodeRedemption()


def test_concurrent_save_login_keeps_the_index_whole(store: StateStore) -> None:
    """Every session saved at once is found through the person index (no lost update)."""
    counter = iter(range(THREADS))

    def save() -> None:
        store.save_login(records.session(f"sid-{next(counter):02d}"), ttl=60)

    run_together(save)
    assert sids_of(store) == [f"sid-{n:02d}" for n in range(THREADS)]
