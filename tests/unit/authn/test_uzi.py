"""The ``uzi`` login method without a web stack: what it accepts and how it refuses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from structlog.testing import capture_logs

from certs import CertificateVerifier, RejectReason
from certs.testca import Issued, UziTestPki
from idp.authn.base import ClientCertificate, FormStep, LoginContext
from idp.authn.factory import build_login_methods
from idp.authn.uzi import NO_CARD, NOT_REGISTERED, NOT_VERIFIED, REJECTED, UziLogin
from idp.errors import ConfigurationError, LoginFailed
from idp.keys import load_or_create_secrets
from idp.protocol.models import LOA_HIGH
from idp.settings import Settings
from registry.identifiers import keyed_subject_hash
from tests.unit.protocol.fakes import FakeDeclaration, FakeRegister

MTLS = "https://idp.test:8443"


@pytest.fixture(scope="module")
def pki() -> UziTestPki:
    return UziTestPki()


@pytest.fixture
def method(pki: UziTestPki) -> UziLogin:
    register = FakeRegister({"d": FakeDeclaration(dezi_nummer="900000019")})
    verifier = CertificateVerifier([pki.issuing.certificate, pki.root.certificate])
    return UziLogin(register=register, verifier=verifier, mtls_origin=MTLS)


def presented(card: Issued | None, verdict: str = "SUCCESS") -> LoginContext:
    pem = card.cert_pem.decode() if card else None
    return LoginContext("tx-123456789", "EPD", None, ClientCertificate(pem, verdict))


def refusal(method: UziLogin, context: LoginContext) -> str:
    with pytest.raises(LoginFailed) as caught:
        method.complete(context, {})
    return caught.value.description


def test_begin_posts_to_the_mtls_origin(method: UziLogin) -> None:
    step = method.begin(LoginContext("tx1", "EPD", None))
    assert isinstance(step, FormStep)
    assert step.template == "login_uzi.html"
    assert step.context["action"] == f"{MTLS}/login/tx1/uzi"
    assert step.form_origins == (MTLS,)
    assert method.acr == LOA_HIGH


def test_a_z_card_of_a_registered_physician(method: UziLogin, pki: UziTestPki) -> None:
    card = pki.card("900000019", "Z", "90000001", "01.015")
    with capture_logs() as logs:
        outcome = method.complete(presented(card), {"dezi_nummer": "900000027"})
    assert outcome.dezi_nummer == "900000019"  # the card decides, never a form field
    assert outcome.acr == LOA_HIGH
    assert outcome.restrict_to == (("90000001", "01.015"),)
    assert logs[-1]["event"] == "uzi_card_accepted"


def test_no_certificate(method: UziLogin, pki: UziTestPki) -> None:
    with capture_logs() as logs:
        assert refusal(method, LoginContext("tx", "EPD", None)) == NO_CARD
    assert logs[0]["event"] == "uzi_login_refused"
    assert logs[0]["reason"] == "no_certificate"
    assert refusal(method, presented(None, "NONE")) == NO_CARD
    assert refusal(method, presented(pki.card(), "NONE")) == NO_CARD


def test_proxy_failure_is_explained_by_our_own_check(method: UziLogin, pki: UziTestPki) -> None:
    expired = pki.expired_card()
    verdict = "FAILED:certificate has expired"
    assert refusal(method, presented(expired, verdict)) == REJECTED[RejectReason.EXPIRED]
    # The proxy refused what our check accepts (e.g. its own CRL): the refusal stands.
    with capture_logs() as logs:
        assert refusal(method, presented(pki.card(), "FAILED:certificate revoked")) == NOT_VERIFIED
    assert logs[0]["reason"] == "proxy_refused"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.card(self_signed=True), RejectReason.UNTRUSTED),
        (lambda p: UziTestPki("other").card(), RejectReason.UNTRUSTED),
        (lambda p: p.card(usage="signature"), RejectReason.KEY_USAGE),
        (lambda p: p.expired_card(), RejectReason.EXPIRED),
    ],
)
def test_bad_certificates(
    method: UziLogin, pki: UziTestPki, make: Callable[[UziTestPki], Issued], reason: RejectReason
) -> None:
    assert refusal(method, presented(make(pki))) == REJECTED[reason]


def test_unreadable_certificate(method: UziLogin) -> None:
    context = LoginContext("tx", "EPD", None, ClientCertificate("not a pem", "SUCCESS"))
    assert refusal(method, context) == REJECTED[RejectReason.UNREADABLE]


def test_missing_or_malformed_uzi_name(method: UziLogin, pki: UziTestPki) -> None:
    for card in (pki.card(with_san=False), pki.card(uzi_name="1.2.3-1-x"), pki.card(uzi_name=None)):
        assert "no valid UZI-pas identity" in refusal(method, presented(card))


@pytest.mark.parametrize("card_type", ["N", "M", "S"])
def test_cards_without_a_role(method: UziLogin, pki: UziTestPki, card_type: str) -> None:
    text = refusal(method, presented(pki.card("900000019", card_type)))
    assert "carries no care-provider role" in text
    assert "zorgverlenerpas" in text


def test_unknown_uzi_number(method: UziLogin, pki: UziTestPki) -> None:
    with capture_logs() as logs:
        assert refusal(method, presented(pki.card("900000999"))) == NOT_REGISTERED
    assert logs[0]["uzi_nummer"] == "900000999"


def test_identity_binding_comes_first(pki: UziTestPki) -> None:
    register = FakeRegister({"d": FakeDeclaration(dezi_nummer="900000019")})
    bound = FakeDeclaration(dezi_nummer="900000027")
    method = UziLogin(
        register=register,
        verifier=CertificateVerifier([pki.issuing.certificate, pki.root.certificate]),
        mtls_origin=MTLS,
        bound_professional=lambda uzi: bound if uzi == "900000019" else None,
    )
    assert method.complete(presented(pki.card("900000019")), {}).dezi_nummer == "900000027"


# ---- construction from settings ---------------------------------------------------------------


def uzi_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "issuer": "https://idp.test",
        "environment": "test",
        "data_dir": tmp_path / "data",
        "login_methods": ("uzi",),
        "uzi_ca_bundle": tmp_path / "ca.pem",
        "uzi_mtls_url": MTLS,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def test_factory_builds_uzi_and_checks_its_files(tmp_path: Path, pki: UziTestPki) -> None:
    register = FakeRegister()
    with pytest.raises(ConfigurationError, match=r"uzi login: CA bundle .*ca\.pem"):
        build_login_methods(uzi_settings(tmp_path), register)
    (tmp_path / "ca.pem").write_bytes(pki.card().cert_pem)
    with pytest.raises(ConfigurationError, match="non-CA certificate"):
        build_login_methods(uzi_settings(tmp_path), register)
    (tmp_path / "ca.pem").write_bytes(pki.bundle_pem)
    with pytest.raises(ConfigurationError, match="CRL file"):
        build_login_methods(uzi_settings(tmp_path, uzi_crl_file=tmp_path / "no.crl"), register)
    (tmp_path / "crl.pem").write_bytes(pki.crl_pem())
    methods = build_login_methods(
        uzi_settings(tmp_path, uzi_crl_file=tmp_path / "crl.pem"), register
    )
    method = methods["uzi"]
    assert isinstance(method, UziLogin)
    assert method.mtls_origin == MTLS
    assert method.bound_professional is None  # the fake register has no identity bindings


def test_binding_lookup_uses_the_keyed_hash(tmp_path: Path, pki: UziTestPki) -> None:
    asked: list[tuple[str, str]] = []

    class WithBindings(FakeRegister):
        def professional_for_binding(self, method: str, subject_hash: str) -> None:
            asked.append((method, subject_hash))

    (tmp_path / "ca.pem").write_bytes(pki.bundle_pem)
    settings = uzi_settings(tmp_path)
    method = build_login_methods(settings, WithBindings())["uzi"]
    assert isinstance(method, UziLogin) and method.bound_professional is not None
    assert method.bound_professional("900000019") is None
    key = load_or_create_secrets(settings.data_dir)["bsn_hash_secret"].encode()
    assert asked == [("uzi", keyed_subject_hash(key, "uzi", "900000019"))]


def test_header_pem_is_what_nginx_escapes(pki: UziTestPki, method: UziLogin) -> None:
    """nginx's $ssl_client_escaped_cert is the URL-escaped PEM; the adapter unquotes it."""
    card = pki.card()
    escaped = quote(card.cert_pem.decode(), safe="")
    context = LoginContext("tx", "EPD", None, ClientCertificate(unquote(escaped), "SUCCESS"))
    assert method.complete(context, {}).dezi_nummer == "900000019"
