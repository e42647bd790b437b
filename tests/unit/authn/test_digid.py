"""The ``digid`` login method without a web stack: levels, the BSN, replay, binding, settings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from idp.authn.base import LoginContext, RedirectStep
from idp.authn.binding import BindingRequired, IdentityLinker
from idp.authn.digid import EXPIRED, FAILED, LEVEL_TOO_LOW, NOT_LINKED, DigidLogin
from idp.authn.factory import build_login_methods
from idp.authn.saml import ServiceProvider, SpConfig
from idp.errors import ConfigurationError, LoginFailed
from idp.protocol.models import LOA_HIGH, LOA_SUBSTANTIAL
from idp.settings import Settings
from idp.state import MemoryStateStore
from registry import Bsn
from tests import saml_idp
from tests.saml_idp import Posted, SamlTestIdp
from tests.unit.protocol.fakes import FakeRegister

ISSUER = "https://idp.zorg.test"
ACS = f"{ISSUER}/authn/digid/acs"
KEY = b"k" * 32
BOUND_BSN, UNBOUND_BSN = "999991772", "958310828"
PHYSICIAN = "900000019"


@dataclass(frozen=True)
class Professional:
    dezi_nummer: str
    voorletters: str = "A."
    voorvoegsel: str | None = None
    achternaam: str = "Arts"
    big_nummer: str | None = None


@dataclass
class Bindings:
    bound: dict[tuple[str, str], str] = field(default_factory=dict)
    written: list[tuple[str, str, str, str]] = field(default_factory=list)

    def professional_for_binding(self, method: str, subject_hash: str) -> Professional | None:
        number = self.bound.get((method, subject_hash))
        return Professional(number) if number else None

    def bind(self, dezi_nummer: str, method: str, subject_hash: str, actor: str) -> None:
        self.written.append((dezi_nummer, method, subject_hash, actor))


class RegisterWithBindings(FakeRegister):
    def professional_for_binding(self, method: str, subject_hash: str) -> None:
        return None


@dataclass
class Setup:
    idp: SamlTestIdp
    sp: ServiceProvider
    tmp: Path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    tmp = tmp_path_factory.mktemp("digid")
    idp = SamlTestIdp(tmp / "idp")
    key, cert = saml_idp.key_pair(tmp, "sp")
    sp = ServiceProvider(SpConfig(ISSUER, ACS, key, cert, idp.metadata_file))
    idp.trust_sp(sp.metadata_xml())
    return Setup(idp, sp, tmp)


@pytest.fixture
def method(setup: Setup) -> DigidLogin:
    bindings = Bindings({("digid", Bsn(BOUND_BSN).keyed_hash(KEY)): PHYSICIAN})
    return DigidLogin(sp=setup.sp, state=MemoryStateStore(), bindings=bindings, subject_key=KEY)


def context(tx: str = "tx-" + "a" * 40) -> LoginContext:
    return LoginContext(tx, "EPD", None)


def answer(setup: Setup, method: DigidLogin, tx: str = "tx-" + "a" * 40, **options: Any) -> Posted:
    step = method.begin(context(tx))
    assert isinstance(step, RedirectStep)
    return setup.idp.respond(setup.idp.receive(step.url), **options)


def refusal(method: DigidLogin, posted: Posted, tx: str = "tx-" + "a" * 40) -> tuple[str, str]:
    with capture_logs() as logs, pytest.raises(LoginFailed) as caught:
        method.complete(context(tx), posted.form())
    assert not isinstance(caught.value, BindingRequired)
    (line,) = [entry for entry in logs if entry["event"] == "digid_login_refused"]
    assert BOUND_BSN not in str(logs) and UNBOUND_BSN not in str(logs)
    return caught.value.description, line["reason"]


def test_begin_asks_for_the_configured_level(setup: Setup, method: DigidLogin) -> None:
    step = method.begin(context())
    assert isinstance(step, RedirectStep)
    assert setup.idp.receive(step.url).requested_classes == (saml_idp.MIDDEN,)
    high = replace(method, acr=LOA_HIGH)
    step = high.begin(context())
    assert isinstance(step, RedirectStep)
    assert setup.idp.receive(step.url).requested_classes == (saml_idp.HOOG,)


@pytest.mark.parametrize(
    ("class_ref", "acr"),
    [
        (saml_idp.MIDDEN, LOA_SUBSTANTIAL),
        ("urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard", LOA_SUBSTANTIAL),
        (saml_idp.HOOG, LOA_HIGH),
        (LOA_HIGH, LOA_HIGH),  # a broker or eIDAS node sends the eIDAS URI itself
    ],
)
def test_a_bound_bsn_logs_in_at_the_level_proved(
    setup: Setup, method: DigidLogin, class_ref: str, acr: str
) -> None:
    outcome = method.complete(context(), answer(setup, method, class_ref=class_ref).form())
    assert (outcome.dezi_nummer, outcome.acr, outcome.method) == (PHYSICIAN, acr, "digid")


def test_a_lower_level_than_configured_is_refused(setup: Setup, method: DigidLogin) -> None:
    high = replace(method, acr=LOA_HIGH)
    text, reason = refusal(high, answer(setup, high, class_ref=saml_idp.MIDDEN))
    assert (text, reason) == (LEVEL_TOO_LOW, "level_too_low")
    text, reason = refusal(method, answer(setup, method, class_ref=saml_idp.BASIS))
    assert (text, reason) == (LEVEL_TOO_LOW, "level_too_low")


def test_an_unknown_class_is_refused_not_guessed(setup: Setup, method: DigidLogin) -> None:
    posted = answer(setup, method, class_ref="urn:example:strong-enough-surely")
    assert refusal(method, posted) == (FAILED, "unknown_class_ref")


def test_an_assertion_is_used_once(setup: Setup, method: DigidLogin) -> None:
    """Profiles §4.1.4.5: even if the request ID were waiting again (a second worker, a race),
    the assertion ID is remembered while the assertion is valid."""
    tx = "tx-" + "b" * 40
    posted = answer(setup, method, tx)
    request_id = method.state.take_saml_request(tx)
    assert request_id is not None
    method.state.put_saml_request(tx, request_id, 60)
    method.complete(context(tx), posted.form())
    method.state.put_saml_request(tx, request_id, 60)
    assert refusal(method, posted, tx) == (EXPIRED, "replayed")


def test_a_request_is_answered_once(setup: Setup, method: DigidLogin) -> None:
    posted = answer(setup, method)
    method.complete(context(), posted.form())
    assert refusal(method, posted) == (EXPIRED, "no_request")


def test_the_relay_state_must_be_this_login(setup: Setup, method: DigidLogin) -> None:
    posted = answer(setup, method)
    moved = Posted(posted.action, posted.saml_response, "tx-" + "z" * 40)
    assert refusal(method, moved) == (FAILED, "relay_state")
    assert refusal(method, Posted(posted.action, "", posted.relay_state))[1] == "no_response"


@pytest.mark.parametrize(
    "name_id",
    ["s00000000:900000001", "s00000000:12345678", "999991772", "s00000001:999991772"],
    ids=["fails the elfproef", "eight digits", "no sector", "another sector"],
)
def test_a_name_id_without_a_valid_bsn_is_refused(
    setup: Setup, method: DigidLogin, name_id: str
) -> None:
    text, reason = refusal(method, answer(setup, method, name_id=name_id))
    assert (text, reason) == (FAILED, "bsn")


def test_the_bsn_may_come_from_an_attribute(setup: Setup, method: DigidLogin) -> None:
    by_attribute = replace(method, bsn_attribute="urn:nl-eid-gdi:1.0:id:BSN")
    posted = answer(
        setup,
        by_attribute,
        name_id="opaque-transient-id",
        attributes={"urn:nl-eid-gdi:1.0:id:BSN": [BOUND_BSN]},
    )
    assert by_attribute.complete(context(), posted.form()).dezi_nummer == PHYSICIAN


def test_an_unbound_bsn_asks_for_binding_with_its_hash_only(
    setup: Setup, method: DigidLogin
) -> None:
    with capture_logs() as logs, pytest.raises(BindingRequired) as caught:
        method.complete(context(), answer(setup, method, bsn=UNBOUND_BSN).form())
    required = caught.value
    assert required.description == NOT_LINKED
    assert required.subject_hash == Bsn(UNBOUND_BSN).keyed_hash(KEY)
    assert (required.method, required.acr) == ("digid", LOA_SUBSTANTIAL)
    assert UNBOUND_BSN not in str(logs) + str(required) + required.log_detail


def test_linking_writes_through_the_binding_store(method: DigidLogin) -> None:
    assert isinstance(method, IdentityLinker)
    method.link_identity(PHYSICIAN, "ab" * 32, actor="dezi:900000019")
    assert isinstance(method.bindings, Bindings)
    assert method.bindings.written == [(PHYSICIAN, "digid", "ab" * 32, "dezi:900000019")]


# -- settings and start-up ---------------------------------------------------------------------


def digid_settings(setup: Setup, tmp: Path, **digid: Any) -> Settings:
    values: dict[str, Any] = {
        "idp_metadata": setup.idp.metadata_file,
        "sp_key": setup.tmp / "sp-key.pem",
        "sp_cert": setup.tmp / "sp-cert.pem",
        **digid,
    }
    return Settings(
        issuer=ISSUER,
        environment="test",
        data_dir=tmp,
        login_methods=("digid",),
        digid=values,  # type: ignore[arg-type]
    )


def test_digid_needs_its_settings(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"needs \[digid\]"):
        Settings(issuer=ISSUER, data_dir=tmp_path, login_methods=("digid",))


def test_entity_ids_must_be_uris(setup: Setup, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="absolute URI"):
        digid_settings(setup, tmp_path, entity_id="not a uri")


def test_the_factory_builds_it(setup: Setup, tmp_path: Path) -> None:
    settings = digid_settings(setup, tmp_path, loa="high", label="DigiD (test)")
    methods = build_login_methods(
        settings, RegisterWithBindings(), state=MemoryStateStore(), engine=_engine(tmp_path)
    )
    digid = methods["digid"]
    assert isinstance(digid, DigidLogin)
    assert (digid.acr, digid.label, digid.sp.entity_id) == (LOA_HIGH, "DigiD (test)", ISSUER)


def test_bad_files_stop_the_start(setup: Setup, tmp_path: Path) -> None:
    settings = digid_settings(setup, tmp_path, sp_key=tmp_path / "missing.pem")
    with pytest.raises(ConfigurationError, match="digid login: file not found"):
        build_login_methods(
            settings, RegisterWithBindings(), state=MemoryStateStore(), engine=_engine(tmp_path)
        )


def test_the_state_store_is_required(setup: Setup, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="state store"):
        build_login_methods(digid_settings(setup, tmp_path), RegisterWithBindings())


def _engine(tmp: Path) -> Any:
    from registry.db import create_engine

    return create_engine(f"sqlite:///{tmp / 'r.db'}")
