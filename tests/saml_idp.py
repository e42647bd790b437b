"""A SAML 2.0 identity provider for the tests, built on pysaml2's IdP classes (``saml2.server``).

It plays DigiD: it verifies our signed AuthnRequest (HTTP-Redirect binding), and answers with a
Response whose assertion (and the Response itself) it signs with RSA-SHA256, carrying the BSN in
the NameID ``s00000000:<bsn>``. Keys and certificates are generated when the tests run; nothing
is committed. ``respond`` takes a ``tweak`` that changes the Response before it is signed, so the
bad-input tests get validly signed wrong answers (audience, destination, lifetime, InResponseTo).

``app()`` serves it over ASGI for the browser journeys: ``GET /sso`` (a login form: the BSN to
log in with) and ``POST /login`` (the auto-posting form to our ACS, Bindings §3.5.4).
"""

from __future__ import annotations

import base64
import datetime
import html
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_REDIRECT, class_name
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_UNSPECIFIED, NameID
from saml2.server import Server
from saml2.sigver import pre_signature_part, signed_instance_factory
from saml2.time_util import in_a_while
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

IDP_ENTITY_ID = "https://digid.idp.test/saml/idp"
IDP_SSO_URL = f"{IDP_ENTITY_ID}/sso"
MIDDEN = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"
HOOG = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"
BASIS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

Tweak = Callable[[Any, Any], None]  # (samlp.Response, saml.Assertion), before signing


def key_pair(directory: Path, name: str) -> tuple[Path, Path]:
    """A fresh RSA-2048 key and a self-signed certificate (SAML metadata trusts the key itself,
    SAML Metadata §2.4.1.1), written as PEM files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / f"{name}-key.pem", directory / f"{name}-cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@dataclass(frozen=True)
class PendingRequest:
    """An AuthnRequest the IdP accepted (its signature verified)."""

    request_id: str
    acs_url: str
    relay_state: str
    requested_classes: tuple[str, ...]
    force_authn: bool


@dataclass(frozen=True)
class Posted:
    """What the IdP's page posts to the SP (SAML Bindings §3.5.4)."""

    action: str
    saml_response: str
    relay_state: str

    def form(self) -> dict[str, str]:
        return {"SAMLResponse": self.saml_response, "RelayState": self.relay_state}


class SamlTestIdp:
    def __init__(self, directory: Path, name: str = "idp", entity_id: str = IDP_ENTITY_ID) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.entity_id = entity_id
        self.key_file, self.cert_file = key_pair(directory, name)
        self.metadata_file = directory / f"{name}-metadata.xml"
        self.metadata_file.write_bytes(create_metadata_string(None, self._config(None), 4))
        self._server: Server | None = None
        self._sessions: dict[str, PendingRequest] = {}

    def _config(self, sp_metadata: Path | None) -> IdPConfig:
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "key_file": str(self.key_file),
                "cert_file": str(self.cert_file),
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
                "metadata": {"local": [str(sp_metadata)]} if sp_metadata else {},
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [(IDP_SSO_URL, BINDING_HTTP_REDIRECT)]
                        },
                        "want_authn_requests_signed": True,
                        "name_id_format": [NAMEID_FORMAT_UNSPECIFIED],
                        "policy": {"default": {"lifetime": {"minutes": 5}}},
                    }
                },
            }
        )
        return config

    def trust_sp(self, sp_metadata: str) -> None:
        """Load the SP's metadata (its signing certificate and ACS URL)."""
        path = self.directory / "sp-metadata.xml"
        path.write_text(sp_metadata, encoding="utf-8")
        self._server = Server(config=self._config(path))

    @property
    def server(self) -> Server:
        assert self._server is not None, "call trust_sp first"
        return self._server

    def receive(self, url: str) -> PendingRequest:
        """Parse and verify the redirect to the SSO URL (Bindings §3.4.4.1 signature)."""
        assert url.startswith(IDP_SSO_URL + "?"), url
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        parsed = self.server.parse_authn_request(
            query["SAMLRequest"],
            BINDING_HTTP_REDIRECT,
            relay_state=query.get("RelayState"),
            sigalg=query.get("SigAlg"),
            signature=query.get("Signature"),
        )
        message = parsed.message
        context = message.requested_authn_context
        classes = tuple(ref.text for ref in context.authn_context_class_ref) if context else ()
        return PendingRequest(
            request_id=message.id,
            acs_url=message.assertion_consumer_service_url,
            relay_state=query.get("RelayState", ""),
            requested_classes=classes,
            force_authn=message.force_authn == "true",
        )

    def respond(
        self,
        pending: PendingRequest,
        bsn: str = "999991772",
        *,
        class_ref: str = MIDDEN,
        name_id: str | None = None,
        attributes: dict[str, list[str]] | None = None,
        tweak: Tweak | None = None,
        sign_response: bool = True,
        sign_assertion: bool = True,
        sign_alg: str = SIG_RSA_SHA256,
        digest_alg: str = DIGEST_SHA256,
    ) -> Posted:
        """A Success Response to ``pending``; ``tweak`` edits it before it is signed."""
        response = self.server.create_authn_response(
            identity=attributes or {},
            in_response_to=pending.request_id,
            destination=pending.acs_url,
            sp_entity_id=self._sp_entity_id(),
            name_id=NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=name_id or f"s00000000:{bsn}"),
            authn={"class_ref": class_ref, "authn_auth": self.entity_id},
            sign_response=False,
            sign_assertion=False,
        )
        assertion = response.assertion
        if tweak is not None:
            tweak(response, assertion)
        to_sign = []
        if sign_assertion:
            assertion.signature = pre_signature_part(
                assertion.id, self.server.sec.my_cert, 1, sign_alg=sign_alg, digest_alg=digest_alg
            )
            to_sign.append((class_name(assertion), assertion.id))
        if sign_response:
            response.signature = pre_signature_part(
                response.id, self.server.sec.my_cert, 2, sign_alg=sign_alg, digest_alg=digest_alg
            )
            to_sign.append((class_name(response), response.id))
        xml = signed_instance_factory(response, self.server.sec, to_sign) if to_sign else response
        document = str(xml).encode("utf-8")
        return Posted(
            pending.acs_url, base64.b64encode(document).decode("ascii"), pending.relay_state
        )

    def refuse(self, pending: PendingRequest) -> Posted:
        """The Response of a login cancelled at the IdP: status AuthnFailed, no assertion."""
        response = self.server.create_error_response(
            pending.request_id,
            pending.acs_url,
            ("urn:oasis:names:tc:SAML:2.0:status:AuthnFailed", "cancelled"),
        )
        document = str(response).encode("utf-8")
        return Posted(
            pending.acs_url, base64.b64encode(document).decode("ascii"), pending.relay_state
        )

    def _sp_entity_id(self) -> str:
        (entity_id,) = list(self.server.metadata.keys())
        return str(entity_id)

    # -- over ASGI, for the browser journeys ------------------------------------------------------

    def app(self) -> Starlette:
        async def sso(request: Request) -> Response:
            pending = self.receive(str(request.url))
            session = secrets.token_urlsafe(16)
            self._sessions[session] = pending
            return HTMLResponse(
                f'<form method="post" action="{IDP_ENTITY_ID}/login">'
                f'<input type="hidden" name="session" value="{session}">'
                '<input name="bsn" value=""><button type="submit">Inloggen</button></form>'
            )

        async def login(request: Request) -> Response:
            form = await request.form()
            pending = self._sessions.pop(str(form["session"]))
            posted = self.respond(pending, str(form["bsn"]))
            return HTMLResponse(auto_post(posted))

        return Starlette(
            routes=[
                Route("/saml/idp/sso", sso),
                Route("/saml/idp/login", login, methods=["POST"]),
            ]
        )


def auto_post(posted: Posted) -> str:
    """The IdP's page for the HTTP-POST binding (Bindings §3.5.4; a browser submits it)."""
    fields = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in posted.form().items()
    )
    return f'<form method="post" action="{html.escape(posted.action)}">{fields}</form>'


# -- tweaks: validly signed, wrong answers ------------------------------------------------------


def wrong_audience(response: Any, assertion: Any) -> None:
    assertion.conditions.audience_restriction[0].audience[0].text = "https://other-sp.example"


def wrong_destination(response: Any, assertion: Any) -> None:
    response.destination = "https://other-sp.example/acs"


def no_destination(response: Any, assertion: Any) -> None:
    response.destination = None


def wrong_recipient(response: Any, assertion: Any) -> None:
    data = assertion.subject.subject_confirmation[0].subject_confirmation_data
    data.recipient = "https://other-sp.example/acs"


def expired(response: Any, assertion: Any) -> None:
    assertion.conditions.not_on_or_after = in_a_while(minutes=-10)
    data = assertion.subject.subject_confirmation[0].subject_confirmation_data
    data.not_on_or_after = in_a_while(minutes=-10)


def not_yet_valid(response: Any, assertion: Any) -> None:
    assertion.conditions.not_before = in_a_while(minutes=10)


def unknown_in_response_to(response: Any, assertion: Any) -> None:
    response.in_response_to = "id-not-sent-by-us"
    data = assertion.subject.subject_confirmation[0].subject_confirmation_data
    data.in_response_to = "id-not-sent-by-us"


def other_issuer(response: Any, assertion: Any) -> None:
    response.issuer.text = "https://evil.idp.test"
    assertion.issuer.text = "https://evil.idp.test"
