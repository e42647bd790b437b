"""A SAML 2.0 Web Browser SSO service provider (SAML Profiles §4.1), behind typed functions.

pysaml2 (untyped; the mypy override in pyproject.toml) is imported here and nowhere else in the
product. It builds and signs the request, checks the response against the SAML schema, verifies
signatures with Debian's ``xmlsec1`` against the certificate in the IdP's metadata, and checks
status, InResponseTo and Conditions. This module adds what it leaves out, so every MUST below is
enforced here whatever pysaml2's defaults are:

Sending, HTTP-Redirect binding (SAML Bindings §3.4): an ``<AuthnRequest>`` (SAML Core §3.4.1)
with ``ForceAuthn`` (this OP decides when a person logs in again), a ``<RequestedAuthnContext>``
with comparison ``minimum`` (Core §3.3.2.2.1), the ACS URL for the HTTP-POST binding, signed
over the query string (Bindings §3.4.4.1) with RSA-SHA256.

Receiving, HTTP-POST binding (Bindings §3.5), refused unless every check passes:

- ``idp.authn.saml_xml`` first: no DTD or comments, enveloped signatures in their places only,
  allow-listed algorithms, exactly one signed assertion (Profiles §4.1.4.5).
- pysaml2: schema, signatures, ``Status`` Success (Core §3.2.2.2), ``InResponseTo`` is the
  outstanding request (Profiles §4.1.4.3; unsolicited responses are refused), ``Conditions``
  NotBefore / NotOnOrAfter (Core §2.5.1.2) and ``AudienceRestriction`` (Core §2.5.1.4).
- Here: ``Destination`` is present and is the ACS URL (Bindings §3.5.5.2: signed messages MUST
  carry it); the Issuer of the response, when present, and of the assertion is the IdP
  (Profiles §4.1.4.2); a bearer ``<SubjectConfirmation>`` whose Recipient is the ACS URL, whose
  InResponseTo is the request and whose NotOnOrAfter has not passed (Profiles §4.1.4.2); the
  audience is this SP; an ``<AuthnStatement>`` with an ``AuthnContextClassRef``.

Replay (Profiles §4.1.4.5: keep the IDs of used assertions while they are valid) is the
caller's, which has the state store. Exceptions carry a short reason and never text from the
document, and pysaml2's own logger is silenced: its messages quote whole documents, which carry
the BSN.
"""

from __future__ import annotations

import base64
import binascii
import logging
import shutil
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.response import (
    IncorrectlySigned,
    StatusError,
    UnsolicitedResponse,
    VerificationError,
)
from saml2.saml import SCM_BEARER, AuthnContextClassRef
from saml2.samlp import RequestedAuthnContext
from saml2.sigver import MissingKey, SigverError
from saml2.validate import ResponseLifetimeExceed, ToEarly
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from idp.authn.saml_xml import UnsafeXml, check_response

# pysaml2 logs whole documents (debug) and exception texts quoting them (error): never let them
# reach a handler. Refusals are logged by the login method, with a reason and no content.
_PYSAML2_LOG = logging.getLogger("saml2")
_PYSAML2_LOG.setLevel(logging.CRITICAL + 1)  # its child loggers inherit this level
_PYSAML2_LOG.addHandler(logging.NullHandler())  # so logging's last-resort handler stays quiet
_PYSAML2_LOG.propagate = False

MAX_RESPONSE_BYTES = 48 * 1024
CLOCK_SKEW = 60  # seconds of clock difference tolerated (Core §1.3.3 times are UTC)


class SamlConfigurationError(ValueError):
    """The SP cannot be set up: the message says which file or setting to fix."""


class SamlRejected(Exception):
    """The response is refused. ``reason`` is a short code for the log; nothing from the
    document is kept (it may carry a BSN)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SpConfig:
    entity_id: str
    acs_url: str
    key_file: Path
    cert_file: Path
    idp_metadata: Path
    idp_entity_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuthnRequest:
    request_id: str  # the ID attribute: the response's InResponseTo must equal it
    url: str  # the IdP's SSO URL with SAMLRequest, RelayState, SigAlg and Signature


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    """What a verified assertion says. ``name_id`` and ``attributes`` may carry a BSN: never
    log them (they are left out of ``repr``)."""

    assertion_id: str
    issuer: str
    class_ref: str  # the AuthnContextClassRef (how the person authenticated)
    valid_until: int  # SubjectConfirmationData NotOnOrAfter, seconds since the epoch
    name_id: str = field(repr=False)
    attributes: Mapping[str, tuple[str, ...]] = field(repr=False)


class _NoPeopleCache:
    """Replaces pysaml2's in-memory identity cache, which would keep every NameID (a BSN)."""

    def add_information_about_person(self, _session_info: Any) -> None:
        return None


class ServiceProvider:
    """One SP towards one IdP, built at start-up; thread-safe for concurrent requests."""

    def __init__(self, config: SpConfig) -> None:
        xmlsec = shutil.which("xmlsec1")
        if xmlsec is None:
            raise SamlConfigurationError(
                "xmlsec1 is not installed (Debian: apt-get install xmlsec1)"
            )
        for path in (config.key_file, config.cert_file, config.idp_metadata):
            if not path.is_file():
                raise SamlConfigurationError(f"file not found: {path}")
        self._config = config
        try:
            sp_config = SPConfig()
            sp_config.load(_pysaml2_config(config, xmlsec))
            self._client = Saml2Client(sp_config)
        except Exception as exc:  # pysaml2 raises many types for bad files
            kind = type(exc).__name__
            _release(exc)
            raise SamlConfigurationError(
                f"the SAML key, certificate or IdP metadata cannot be used ({kind})"
            ) from None
        self._client.users = _NoPeopleCache()
        self.idp_entity_id = _choose_idp(self._client, config.idp_entity_id)
        metadata = self._client.metadata
        services = metadata.single_sign_on_service(self.idp_entity_id, BINDING_HTTP_REDIRECT)
        if not services:
            raise SamlConfigurationError(
                "the IdP metadata has no SingleSignOnService for the HTTP-Redirect binding"
            )
        self.sso_url: str = services[0]["location"]
        if not metadata.certs(self.idp_entity_id, "idpsso", use="signing"):
            raise SamlConfigurationError("the IdP metadata has no signing certificate")

    @property
    def entity_id(self) -> str:
        return self._config.entity_id

    def authn_request(self, relay_state: str, class_refs: Sequence[str]) -> AuthnRequest:
        """A signed AuthnRequest for the HTTP-Redirect binding (Bindings §3.4.4.1)."""
        requested = RequestedAuthnContext(
            authn_context_class_ref=[AuthnContextClassRef(text=ref) for ref in class_refs],
            comparison="minimum",
        )
        request_id, info = self._client.prepare_for_authenticate(
            entityid=self.idp_entity_id,
            relay_state=relay_state,
            binding=BINDING_HTTP_REDIRECT,
            sign=True,
            sigalg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
            requested_authn_context=requested,
            force_authn="true",
        )
        location = dict(info["headers"])["Location"]
        return AuthnRequest(request_id=str(request_id), url=str(location))

    def verify_response(self, saml_response: str, request_id: str) -> VerifiedAssertion:
        """Check a ``SAMLResponse`` form value answering ``request_id``; raise ``SamlRejected``."""
        document = _decode(saml_response)
        try:
            check_response(document)
        except UnsafeXml as exc:
            reason = "status" if exc.reason == "status" else "unsafe_xml"
            raise SamlRejected(reason, exc.reason) from None
        try:
            response = self._client.parse_authn_request_response(
                base64.b64encode(document).decode("ascii"),
                BINDING_HTTP_POST,
                outstanding={request_id: "login"},
            )
        except Exception as exc:
            reason = _reason_for(exc)
            _release(exc)
            raise SamlRejected(reason, type(exc).__name__) from None
        if response is None:
            raise SamlRejected("invalid", "no response")
        if response.response.destination != self._config.acs_url:
            raise SamlRejected("destination")  # also when pysaml2 dropped the assertion for it
        if response.assertion is None:
            raise SamlRejected("invalid", "no verified assertion")
        return self._checked(response, request_id)

    def _checked(self, response: Any, request_id: str) -> VerifiedAssertion:
        """The checks pysaml2 leaves to the caller (module docstring)."""
        message, assertion = response.response, response.assertion
        if message.in_response_to != request_id:
            raise SamlRejected("in_response_to")
        if message.issuer is not None and _text(message.issuer) != self.idp_entity_id:
            raise SamlRejected("issuer")
        if assertion.issuer is None or _text(assertion.issuer) != self.idp_entity_id:
            raise SamlRejected("issuer")
        audiences = [
            _text(audience)
            for restriction in getattr(assertion.conditions, "audience_restriction", None) or []
            for audience in restriction.audience or []
        ]
        if self._config.entity_id not in audiences:
            raise SamlRejected("audience")
        valid_until = self._bearer_until(assertion, request_id)
        statements = assertion.authn_statement or []
        context = statements[0].authn_context if statements else None
        class_ref = _text(getattr(context, "authn_context_class_ref", None))
        if len(statements) != 1 or not class_ref:
            raise SamlRejected("authn_statement")
        subject = assertion.subject
        return VerifiedAssertion(
            assertion_id=str(assertion.id),
            issuer=self.idp_entity_id,
            class_ref=class_ref,
            valid_until=valid_until,
            name_id=_text(getattr(subject, "name_id", None)),
            attributes=_attributes(assertion),
        )

    def _bearer_until(self, assertion: Any, request_id: str) -> int:
        """Profiles §4.1.4.2: a bearer confirmation for this ACS, this request, still valid."""
        now = time.time()
        for confirmation in getattr(assertion.subject, "subject_confirmation", None) or []:
            data = confirmation.subject_confirmation_data
            if confirmation.method != SCM_BEARER or data is None:
                continue
            until = _instant(data.not_on_or_after)
            if (
                data.recipient == self._config.acs_url
                and data.in_response_to == request_id
                and until is not None
                and until + CLOCK_SKEW > now
            ):
                return until
        raise SamlRejected("subject_confirmation")

    def metadata_xml(self) -> str:
        """This SP's metadata (SAML Metadata §2.4.4), for registration with the IdP."""
        descriptor = entity_descriptor(self._client.config)
        descriptor.extensions = None  # pysaml2 would advertise every algorithm it knows
        return str(descriptor)


def _pysaml2_config(config: SpConfig, xmlsec: str) -> dict[str, Any]:
    return {
        "entityid": config.entity_id,
        "xmlsec_binary": xmlsec,
        "key_file": str(config.key_file),
        "cert_file": str(config.cert_file),
        "metadata": {"local": [str(config.idp_metadata)]},
        "accepted_time_diff": CLOCK_SKEW,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "allow_unknown_attributes": True,
        "delete_tmpfiles": True,
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(config.acs_url, BINDING_HTTP_POST)]},
                "authn_requests_signed": True,
                "want_assertions_signed": True,  # Profiles §4.1.4.5
                "want_response_signed": False,  # checked when present
                "allow_unsolicited": False,  # Profiles §4.1.5: IdP-initiated login is refused
            }
        },
    }


def _choose_idp(client: Any, wanted: str | None) -> str:
    found = sorted(str(entity) for entity in client.metadata.identity_providers())
    if wanted is not None:
        if wanted not in found:
            raise SamlConfigurationError(f"the IdP metadata does not describe {wanted!r}")
        return wanted
    if len(found) != 1:
        raise SamlConfigurationError(
            f"the IdP metadata describes {len(found)} identity providers; set idp_entity_id"
        )
    return found[0]


def _decode(value: str) -> bytes:
    """Bindings §3.5.4: the form value is the base64 of the XML (line breaks tolerated)."""
    compact = "".join(value.split())
    if not compact or len(compact) > MAX_RESPONSE_BYTES * 4 // 3 + 4:
        raise SamlRejected("malformed", "empty or too large")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise SamlRejected("malformed", "not base64") from None


def _reason_for(exc: Exception) -> str:
    """A short reason for pysaml2's exception (its text is never used: it quotes the XML)."""
    if isinstance(exc, MissingKey):
        return "issuer"  # no key in the metadata for the issuer the response names
    if isinstance(exc, SigverError | IncorrectlySigned):
        return "signature"
    if isinstance(exc, UnsolicitedResponse):
        return "in_response_to"
    if isinstance(exc, StatusError):
        return "status"
    if isinstance(exc, ResponseLifetimeExceed):
        return "expired"
    if isinstance(exc, ToEarly):
        return "not_yet_valid"
    if isinstance(exc, VerificationError):
        return "conditions"  # Conditions NotBefore / NotOnOrAfter (Core §2.5.1.2)
    if str(exc).startswith("AudienceRestrictions"):
        return "audience"
    return "invalid"


def _release(exc: BaseException) -> None:
    """Clear the frames of ``exc`` and of the exceptions it chains: pysaml2's frames hold the
    document (with the BSN) and open temporary files, which would otherwise wait for the garbage
    collector (and then be closed with a ResourceWarning)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        pending += [current.__cause__, current.__context__]


def _text(element: Any) -> str:
    text = getattr(element, "text", None)
    return text.strip() if isinstance(text, str) else ""


def _instant(value: Any) -> int | None:
    """A SAML dateTime (Core §1.3.3: UTC) as seconds since the epoch."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _attributes(assertion: Any) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for statement in assertion.attribute_statement or []:
        for attribute in statement.attribute or []:
            values = tuple(_text(v) for v in attribute.attribute_value or [])
            found[str(attribute.name)] = found.get(str(attribute.name), ()) + values
    return found


__all__ = [
    "AuthnRequest",
    "SamlConfigurationError",
    "SamlRejected",
    "ServiceProvider",
    "SpConfig",
    "VerifiedAssertion",
]
