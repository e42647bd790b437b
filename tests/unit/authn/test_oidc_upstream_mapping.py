"""The upstream OIDC login method: from the ID token's claim to a professional.

Identity bindings under a keyed hash (DECISIONS.md #12), the first-time link
(``idp.authn.binding``), a claim that carries the Dezi number, and what never reaches a log.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from structlog.testing import capture_logs

from idp.authn.binding import BindingRequired, IdentityLinker, LinkConflict
from idp.authn.oidc_upstream import NOT_REGISTERED
from idp.protocol.models import LOA_HIGH
from idp.state import MemoryStateStore
from registry.identifiers import Bsn, keyed_subject_hash
from tests.unit.authn.upstream_rig import (
    BSN,
    PHYSICIAN,
    SUBJECT_KEY,
    Rig,
    make_rig,
    sub_hash,
)


@pytest.fixture
def rig() -> Rig:
    made = make_rig()
    made.bind(sub_hash())
    return made


# -- mapping to a professional ---------------------------------------------------------------


def test_no_binding_asks_for_the_first_time_link() -> None:
    rig = make_rig(acr="high")
    with capture_logs() as logs, pytest.raises(BindingRequired) as caught:
        rig.login()
    required = caught.value
    assert required.method == "broker" and required.subject_hash == sub_hash()
    assert required.acr == LOA_HIGH  # what this login proved, for the link that follows
    text = required.description
    assert "cannot be used here yet" in text and "log in once at level high" in text
    assert f"administrator of your organisation, with this link code: {sub_hash()}." in text
    assert logs[-1]["event"] == "upstream_login_not_linked"
    assert logs[-1]["subject"] == sub_hash()[:12]
    # idp.web.linking confirms the link; from then on the login maps to the professional.
    assert isinstance(rig.method, IdentityLinker)
    rig.method.link_identity(PHYSICIAN, required.subject_hash, actor=f"dezi:{PHYSICIAN}")
    assert rig.register.bound == {("broker", sub_hash()): PHYSICIAN}
    assert rig.login().dezi_nummer == PHYSICIAN


def test_link_identity_uses_the_binding_method() -> None:
    rig = make_rig(claim={"name": "bsn", "hash_as": "bsn", "binding_method": "digid"})
    rig.method.link_identity(PHYSICIAN, "a" * 64, actor="dezi:900000019")
    assert rig.register.bound == {("digid", "a" * 64): PHYSICIAN}


def test_without_a_linker_nothing_is_linked() -> None:
    rig = make_rig()
    object.__setattr__(rig.method, "linker", None)
    with pytest.raises(LinkConflict):
        rig.method.link_identity(PHYSICIAN, "a" * 64, actor="dezi:900000019")


def test_the_subject_hash_is_scoped_to_the_issuer() -> None:
    rig = make_rig()
    rig.register.bound[
        ("broker", keyed_subject_hash(SUBJECT_KEY, "oidc", "upstream-subject-1"))
    ] = PHYSICIAN
    assert "cannot be used here yet" in rig.refusal()


def test_binding_method_may_be_shared() -> None:
    rig = make_rig(claim={"name": "bsn", "hash_as": "bsn", "binding_method": "digid"})
    rig.op.extra_claims = {"bsn": BSN}
    rig.register.bound[("digid", Bsn(BSN).keyed_hash(SUBJECT_KEY))] = PHYSICIAN
    with capture_logs() as logs:
        assert rig.login().dezi_nummer == PHYSICIAN
    assert BSN not in repr(logs)


@pytest.mark.parametrize("value", ["123456789", "12345", 999993653, None])
def test_a_bad_bsn_claim_is_refused_without_echoing_it(value: object) -> None:
    rig = make_rig(claim={"name": "bsn", "hash_as": "bsn"})
    rig.op.extra_claims = {"bsn": value}
    with capture_logs() as logs:
        text = rig.refusal()
    assert "could not be completed" in text
    assert logs[-1]["reason"] == "claim" and "123456789" not in repr(logs)


def test_a_dezi_nummer_claim() -> None:
    rig = make_rig(claim={"name": "dezi_nummer", "maps_to": "dezi_nummer"})
    rig.op.extra_claims = {"dezi_nummer": PHYSICIAN}
    assert rig.login().dezi_nummer == PHYSICIAN
    for unknown in ("900000027", "12345", "9000000190"):
        rig.op.extra_claims = {"dezi_nummer": unknown}
        assert rig.refusal() == NOT_REGISTERED.replace("{label}", "Test Broker")


def test_sub_as_the_dezi_nummer() -> None:
    rig = make_rig(claim={"name": "sub", "maps_to": "dezi_nummer"})
    rig.op.subject = PHYSICIAN
    assert rig.login().dezi_nummer == PHYSICIAN


def test_without_a_binding_register_nobody_is_linked() -> None:
    rig = make_rig()
    object.__setattr__(rig.method, "bindings", None)
    assert "cannot be used here yet" in rig.refusal()


def test_no_secrets_in_the_logs(rig: Rig) -> None:
    url = rig.start()
    params = rig.op.authorize(url)
    with capture_logs() as logs:
        rig.finish(params)
    text = repr(logs)
    assert params["code"] not in text and params["state"] not in text
    assert parse_qs(urlsplit(url).query)["nonce"][0] not in text


def test_login_transaction_ttl_bounds_the_record() -> None:
    clock = [1_000.0]
    rig = make_rig()
    store = MemoryStateStore(clock=lambda: clock[0])
    object.__setattr__(rig.method, "store", store)
    rig.bind(sub_hash())
    params = rig.op.authorize(rig.start())
    clock[0] += 601
    assert "expired" in rig.refusal(params)
