"""The ``passkey`` method and registration ceremony without a web stack or a database.

Responses come from ``tests.passkey_support.SoftAuthenticator``: generated attestations and
assertions, signed with real P-256 keys, checked by py_webauthn behind our code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from idp.authn.base import FormStep, LoginContext
from idp.authn.factory import build_login_methods
from idp.authn.passkey import (
    EXPIRED,
    NEEDS_JAVASCRIPT,
    NOT_ACCEPTED,
    POSSIBLY_CLONED,
    PasskeyLogin,
    RelyingPartyIdentity,
    passkey_login,
    sign_count_regressed,
)
from idp.authn.passkey_registration import (
    ALREADY_REGISTERED,
    DEFAULT_NAME,
    REGISTRATION_MAX_AGE,
    PasskeyEnrolment,
    PasskeyRegistrationFailed,
    clean_name,
    may_register,
)
from idp.errors import ConfigurationError, LoginFailed
from idp.protocol.models import LOA_HIGH, LOA_SUBSTANTIAL
from idp.settings import Settings
from idp.state import MemoryStateStore
from tests.passkey_support import SoftAuthenticator
from tests.unit.protocol.fakes import FakeDeclaration, FakeRegister

ISSUER = "https://idp.zorg.test"
ORIGIN = "https://idp.zorg.test"
RP_ID = "idp.zorg.test"
CARER = "900000027"


@dataclass
class StoredPasskey:
    passkey_id: str
    credential_id: str
    dezi_nummer: str
    public_key: bytes
    sign_count: int
    user_handle: str
    name: str
    aaguid: str
    backup_eligible: bool
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass
class FakePasskeys:
    """``PasskeyStore`` in a dict, with the register's compare-and-set rule."""

    rows: dict[str, StoredPasskey] = field(default_factory=dict)
    regressions: list[tuple[str, int]] = field(default_factory=list)

    def passkey(self, credential_id: str) -> StoredPasskey | None:
        return self.rows.get(credential_id)

    def passkeys_of(self, dezi_nummer: str) -> list[StoredPasskey]:
        return [p for p in self.rows.values() if p.dezi_nummer == dezi_nummer]

    def record_use(self, credential_id: str, sign_count: int, at: datetime) -> bool:
        row = self.rows.get(credential_id)
        if row is None or row.revoked_at is not None:
            return False
        if (sign_count > 0 and row.sign_count >= sign_count) or (
            sign_count == 0 and row.sign_count != 0
        ):
            return False
        self.rows[credential_id] = replace(row, sign_count=sign_count, last_used_at=at)
        return True

    def add_passkey(self, dezi_nummer: str, **values: object) -> StoredPasskey | None:
        credential_id = str(values["credential_id"])
        if credential_id in self.rows:
            return None
        row = StoredPasskey(
            passkey_id=f"pk-{len(self.rows) + 1}",
            dezi_nummer=dezi_nummer,
            created_at=datetime.now(UTC),
            **values,  # type: ignore[arg-type]
        )
        self.rows[credential_id] = row
        return row

    def revoke_passkey(self, dezi_nummer: str, passkey_id: str) -> bool:
        for key, row in self.rows.items():
            if row.passkey_id == passkey_id and row.dezi_nummer == dezi_nummer:
                self.rows[key] = replace(row, revoked_at=datetime.now(UTC))
                return True
        return False

    def record_sign_count_regression(self, credential_id: str, presented: int) -> None:
        self.regressions.append((credential_id, presented))


@dataclass
class Rig:
    state: MemoryStateStore
    store: FakePasskeys
    login: PasskeyLogin
    enrolment: PasskeyEnrolment
    authenticator: SoftAuthenticator
    professional: FakeDeclaration

    def register(self, sid: str = "sid-1", **bend: object) -> StoredPasskey:
        options = self.enrolment.options(self.professional, sid)
        response = self.authenticator.register(options, **bend)  # type: ignore[arg-type]
        stored = self.enrolment.complete(self.professional, sid, response, "My phone")
        assert isinstance(stored, StoredPasskey)
        return stored

    def options(self, tx: str = "tx-1") -> str:
        step = self.login.begin(context(tx))
        assert isinstance(step, FormStep)
        assert step.template == "login_passkey.html" and step.needs_script
        options: str = step.context["options"]
        return options


def context(tx: str = "tx-1") -> LoginContext:
    return LoginContext(tx_id=tx, client_name="EPD", login_hint=None)


@pytest.fixture
def rig() -> Rig:
    state, store = MemoryStateStore(), FakePasskeys()
    rp = RelyingPartyIdentity.for_issuer(ISSUER)
    return Rig(
        state=state,
        store=store,
        login=PasskeyLogin(rp=rp, state=state, store=store),
        enrolment=PasskeyEnrolment(rp=rp, state=state, store=store),
        authenticator=SoftAuthenticator(origin=ORIGIN, rp_id=RP_ID),
        professional=FakeDeclaration(dezi_nummer=CARER),
    )


def refused(rig: Rig, credential: str, text: str, tx: str = "tx-1") -> None:
    with pytest.raises(LoginFailed) as caught:
        rig.login.complete(context(tx), {"credential": credential})
    assert caught.value.description == text


# -- the relying party's identity and the declared level -------------------------------------


def test_rp_id_and_origin_come_from_the_issuer() -> None:
    assert RelyingPartyIdentity.for_issuer("https://idp.example.nl") == RelyingPartyIdentity(
        rp_id="idp.example.nl", origin="https://idp.example.nl"
    )
    assert RelyingPartyIdentity.for_issuer("http://localhost:8000").origin == (
        "http://localhost:8000"
    )
    with pytest.raises(ValueError, match="host"):
        RelyingPartyIdentity.for_issuer("urn:no-host")


def test_the_method_declares_substantial(rig: Rig) -> None:
    assert rig.login.acr == LOA_SUBSTANTIAL
    assert rig.login.name == "passkey" and "JavaScript" in rig.login.label


def test_factory_builds_it_only_with_its_stores(tmp_path: Path) -> None:
    settings = Settings(
        issuer=ISSUER,
        environment="test",
        data_dir=tmp_path,
        login_methods=("dev", "passkey"),
    )
    register = FakeRegister()
    with pytest.raises(ConfigurationError, match="passkey"):
        build_login_methods(settings, register)
    methods = build_login_methods(
        settings, register, state=MemoryStateStore(), passkeys=FakePasskeys()
    )
    method = methods["passkey"]
    assert isinstance(method, PasskeyLogin) and method.rp.rp_id == RP_ID
    assert passkey_login(ISSUER, MemoryStateStore(), FakePasskeys()).acr == LOA_SUBSTANTIAL


# -- registration (WebAuthn L2 §7.1) -------------------------------------------------------------


def test_registration_options(rig: Rig) -> None:
    options = json.loads(rig.enrolment.options(rig.professional, "sid-1"))
    assert options["rp"] == {"name": "zorg-idp", "id": RP_ID}
    assert options["user"]["name"] == CARER
    assert CARER not in options["user"]["id"]  # the handle is random (§14.6.1)
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -8, -257]
    assert options["excludeCredentials"] == []
    assert len(options["challenge"]) >= 43  # 32 random bytes


def test_register_then_log_in(rig: Rig) -> None:
    stored = rig.register()
    assert stored.dezi_nummer == CARER and stored.name == "My phone"
    assert stored.aaguid == "01234567-89ab-cdef-0123-456789abcdef"
    assert stored.backup_eligible is False and stored.sign_count == 0
    outcome = rig.login.complete(
        context(), {"credential": rig.authenticator.assertion(rig.options())}
    )
    assert (outcome.dezi_nummer, outcome.acr, outcome.method) == (CARER, LOA_SUBSTANTIAL, "passkey")
    used = rig.store.passkey(stored.credential_id)
    assert used is not None and used.sign_count == 1 and used.last_used_at is not None


def test_second_passkey_shares_the_user_handle_and_excludes_the_first(rig: Rig) -> None:
    first = rig.register()
    options = json.loads(rig.enrolment.options(rig.professional, "sid-1"))
    assert options["user"]["id"] == first.user_handle
    assert [c["id"] for c in options["excludeCredentials"]] == [first.credential_id]
    second = rig.register()
    assert second.user_handle == first.user_handle
    rig.store.revoke_passkey(CARER, first.passkey_id)
    options = json.loads(rig.enrolment.options(rig.professional, "sid-1"))
    assert [c["id"] for c in options["excludeCredentials"]] == [second.credential_id]


def test_synced_passkeys_are_recorded_as_such(rig: Rig) -> None:
    rig.authenticator.backup_eligible = True
    assert rig.register().backup_eligible is True


@pytest.mark.parametrize(
    "bend",
    [
        {"origin": "https://evil.example"},
        {"rp_id": "evil.example"},
        {"user_verified": False},
        {"challenge": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
        {"kind": "webauthn.get"},
    ],
    ids=["origin", "rp_id", "no_uv", "challenge", "type"],
)
def test_registration_refuses_bent_responses(rig: Rig, bend: dict[str, object]) -> None:
    with pytest.raises(PasskeyRegistrationFailed, match="could not be verified"):
        rig.register(**bend)
    assert rig.store.rows == {}


def test_registration_challenge_is_single_use_and_per_session(rig: Rig) -> None:
    options = rig.enrolment.options(rig.professional, "sid-1")
    response = rig.authenticator.register(options)
    with pytest.raises(PasskeyRegistrationFailed, match="expired"):
        rig.enrolment.complete(rig.professional, "sid-other", response, "x")
    rig.enrolment.complete(rig.professional, "sid-1", response, "x")
    with pytest.raises(PasskeyRegistrationFailed, match="expired"):
        rig.enrolment.complete(rig.professional, "sid-1", response, "x")


def test_a_credential_already_in_the_register_is_refused(rig: Rig) -> None:
    options = rig.enrolment.options(rig.professional, "sid-1")
    response = rig.authenticator.register(options)
    rig.enrolment.complete(rig.professional, "sid-1", response, "x")
    # Replay the same (valid) response against a fresh challenge of the same value.
    challenge = json.loads(options)["challenge"]
    handle = json.loads(options)["user"]["id"]
    rig.state.put_challenge("passkey-register:sid-1", f"{challenge}.{handle}", 60)
    with pytest.raises(PasskeyRegistrationFailed) as caught:
        rig.enrolment.complete(rig.professional, "sid-1", response, "x")
    assert caught.value.description == ALREADY_REGISTERED


def test_malformed_registration_is_refused(rig: Rig) -> None:
    rig.enrolment.options(rig.professional, "sid-1")
    with pytest.raises(PasskeyRegistrationFailed, match="could not be verified"):
        rig.enrolment.complete(rig.professional, "sid-1", "{not json", "x")


def test_who_may_register() -> None:
    now = 1_800_000_000
    assert may_register(LOA_HIGH, now - 60, now)
    assert may_register(LOA_HIGH, now - REGISTRATION_MAX_AGE, now)
    assert not may_register(LOA_HIGH, now - REGISTRATION_MAX_AGE - 1, now)
    assert not may_register(LOA_SUBSTANTIAL, now, now)
    assert not may_register(LOA_HIGH, now + 60, now)  # a login from the future is not recent


def test_passkey_names_are_cleaned() -> None:
    assert clean_name("  My  phone\n") == "My phone"
    assert clean_name("a\u202eb\x00c") == "abc"
    assert clean_name("") == clean_name("\u200b") == DEFAULT_NAME
    assert len(clean_name("x" * 100)) == 64
    assert clean_name("Telefoon van Zoë") == "Telefoon van Zoë"


# -- login (WebAuthn L2 §7.2) ---------------------------------------------------------------------


def test_login_options(rig: Rig) -> None:
    options = json.loads(rig.options())
    assert options["rpId"] == RP_ID
    assert options["userVerification"] == "required"
    assert options["allowCredentials"] == []  # discoverable credentials
    assert options["timeout"] == 300_000


def test_a_replayed_assertion_is_refused(rig: Rig) -> None:
    rig.register()
    assertion = rig.authenticator.assertion(rig.options())
    rig.login.complete(context(), {"credential": assertion})
    refused(rig, assertion, EXPIRED)


def test_an_assertion_for_an_older_challenge_is_refused(rig: Rig) -> None:
    rig.register()
    old = rig.options()
    rig.options()  # the page was loaded again: a new challenge replaces the old
    refused(rig, rig.authenticator.assertion(old), NOT_ACCEPTED)


def test_a_failed_attempt_uses_the_challenge_up(rig: Rig) -> None:
    rig.register()
    options = rig.options()
    refused(rig, rig.authenticator.assertion(options, origin="https://evil.example"), NOT_ACCEPTED)
    refused(rig, rig.authenticator.assertion(options), EXPIRED)


def test_the_challenge_is_bound_to_the_login_transaction(rig: Rig) -> None:
    rig.register()
    assertion = rig.authenticator.assertion(rig.options("tx-1"))
    rig.options("tx-2")
    refused(rig, assertion, NOT_ACCEPTED, tx="tx-2")


@pytest.mark.parametrize(
    "bend",
    [
        {"origin": "https://evil.example"},
        {"origin": "https://idp.zorg.test:8443"},
        {"rp_id": "zorg.test"},
        {"user_verified": False},
    ],
    ids=["origin", "other_port", "rp_id", "no_uv"],
)
def test_bent_assertions_are_refused(rig: Rig, bend: dict[str, object]) -> None:
    rig.register()
    refused(rig, rig.authenticator.assertion(rig.options(), **bend), NOT_ACCEPTED)  # type: ignore[arg-type]


def test_an_unknown_credential_is_refused(rig: Rig) -> None:
    stranger = SoftAuthenticator(origin=ORIGIN, rp_id=RP_ID)
    stranger.register(rig.enrolment.options(rig.professional, "sid-x"))  # never completed
    with capture_logs() as logs:
        refused(rig, stranger.assertion(rig.options()), NOT_ACCEPTED)
    assert any(e.get("reason") == "unknown_credential" for e in logs)


def test_a_revoked_passkey_is_refused(rig: Rig) -> None:
    stored = rig.register()
    rig.store.revoke_passkey(CARER, stored.passkey_id)
    refused(rig, rig.authenticator.assertion(rig.options()), NOT_ACCEPTED)


def test_another_users_handle_is_refused(rig: Rig) -> None:
    rig.register()
    assertion = rig.authenticator.assertion(rig.options(), user_handle=b"someone-else-000")
    refused(rig, assertion, NOT_ACCEPTED)


def test_a_forged_signature_is_refused(rig: Rig) -> None:
    rig.register()
    forged = json.loads(rig.authenticator.assertion(rig.options()))
    forged["response"]["signature"] = forged["response"]["signature"][:-4] + "AAAA"
    refused(rig, json.dumps(forged), NOT_ACCEPTED)


@pytest.mark.parametrize("credential", ["{", "[]", '{"id": 1}', "null"])
def test_malformed_assertions_are_refused(rig: Rig, credential: str) -> None:
    rig.options()
    refused(rig, credential, NOT_ACCEPTED)


def test_no_credential_means_no_javascript(rig: Rig) -> None:
    rig.options()
    refused(rig, "", NEEDS_JAVASCRIPT)


def test_a_sign_count_regression_is_refused_and_recorded(rig: Rig) -> None:
    stored = rig.register()
    rig.login.complete(context(), {"credential": rig.authenticator.assertion(rig.options())})
    rig.login.complete(context(), {"credential": rig.authenticator.assertion(rig.options())})
    with capture_logs() as logs:
        refused(rig, rig.authenticator.assertion(rig.options(), sign_count=1), POSSIBLY_CLONED)
    assert rig.store.regressions == [(stored.credential_id, 1)]
    assert any(e["event"] == "passkey_sign_count_regression" for e in logs)
    assert rig.store.rows[stored.credential_id].sign_count == 2


def test_an_authenticator_without_a_counter_is_accepted(rig: Rig) -> None:
    rig.authenticator.counter_step = 0
    rig.register()
    for _ in range(2):
        rig.login.complete(context(), {"credential": rig.authenticator.assertion(rig.options())})


def test_a_lost_counter_race_is_refused(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another worker stored a use with this counter between our read and our write."""
    rig.register()
    assertion = rig.authenticator.assertion(rig.options())
    monkeypatch.setattr(rig.store, "record_use", lambda *args: False)
    refused(rig, assertion, NOT_ACCEPTED)


@pytest.mark.parametrize(
    ("stored", "presented", "regressed"),
    [(0, 0, False), (0, 1, False), (5, 6, False), (5, 5, True), (5, 4, True), (5, 0, True)],
)
def test_sign_count_rule(stored: int, presented: int, regressed: bool) -> None:
    assert sign_count_regressed(stored, presented) is regressed
