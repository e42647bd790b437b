"""The SAML service provider (``idp.authn.saml``) against pysaml2's IdP classes: what it sends,
and every way it refuses a response (SAML Core, Bindings §3.4-3.5, Profiles §4.1.4)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from idp.authn import saml
from idp.authn.saml import SamlConfigurationError, SamlRejected, ServiceProvider, SpConfig
from tests import saml_idp
from tests.saml_idp import PendingRequest, Posted, SamlTestIdp

SP_ENTITY = "https://idp.zorg.test"
ACS = f"{SP_ENTITY}/authn/digid/acs"
BSN = "999991772"


@dataclass
class Pair:
    sp: ServiceProvider
    idp: SamlTestIdp
    config: SpConfig

    def exchange(self, relay_state: str = "tx-1") -> tuple[str, PendingRequest]:
        request = self.sp.authn_request(relay_state, (saml_idp.MIDDEN,))
        return request.request_id, self.idp.receive(request.url)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    tmp = tmp_path_factory.mktemp("saml")
    idp = SamlTestIdp(tmp / "idp")
    key, cert = saml_idp.key_pair(tmp, "sp")
    config = SpConfig(SP_ENTITY, ACS, key, cert, idp.metadata_file)
    sp = ServiceProvider(config)
    idp.trust_sp(sp.metadata_xml())
    return Pair(sp, idp, config)


def rejection(pair: Pair, posted: Posted, request_id: str) -> SamlRejected:
    with pytest.raises(SamlRejected) as caught:
        pair.sp.verify_response(posted.saml_response, request_id)
    assert BSN not in f"{caught.value} {caught.value.detail}"  # never the document's content
    return caught.value


def edited(posted: Posted, old: bytes, new: bytes) -> Posted:
    document = base64.b64decode(posted.saml_response)
    assert old in document
    changed = base64.b64encode(document.replace(old, new, 1)).decode()
    return Posted(posted.action, changed, posted.relay_state)


# -- sending -----------------------------------------------------------------------------------


def test_the_request_is_signed_and_asks_for_the_level(pair: Pair) -> None:
    request = pair.sp.authn_request("tx-abc", (saml_idp.HOOG,))
    assert request.url.startswith(saml_idp.IDP_SSO_URL + "?SAMLRequest=")
    assert "SigAlg=" in request.url and "Signature=" in request.url
    pending = pair.idp.receive(request.url)  # the IdP verifies the signature (Bindings §3.4.4.1)
    assert pending.request_id == request.request_id
    assert pending.acs_url == ACS
    assert pending.relay_state == "tx-abc"
    assert pending.requested_classes == (saml_idp.HOOG,)
    assert pending.force_authn


def test_an_altered_request_is_refused_by_the_idp(pair: Pair) -> None:
    request = pair.sp.authn_request("tx-abc", (saml_idp.MIDDEN,))
    with pytest.raises(Exception, match="not signed correctly"):
        pair.idp.receive(request.url.replace("RelayState=tx-abc", "RelayState=tx-xyz"))


def test_metadata_names_the_acs_and_the_signing_key(pair: Pair) -> None:
    xml = pair.sp.metadata_xml()
    assert f'entityID="{SP_ENTITY}"' in xml
    assert f'Location="{ACS}"' in xml and "HTTP-POST" in xml
    assert 'AuthnRequestsSigned="true"' in xml and 'WantAssertionsSigned="true"' in xml
    assert "rsa-md5" not in xml  # pysaml2's list of every algorithm it knows is left out


# -- receiving ---------------------------------------------------------------------------------


def test_a_signed_response_verifies(pair: Pair) -> None:
    request_id, pending = pair.exchange()
    verified = pair.sp.verify_response(pair.idp.respond(pending).saml_response, request_id)
    assert verified.issuer == saml_idp.IDP_ENTITY_ID
    assert verified.class_ref == saml_idp.MIDDEN
    assert verified.name_id == f"s00000000:{BSN}"
    assert verified.valid_until > 0
    assert BSN not in repr(verified)


def test_a_response_signed_on_the_assertion_only_verifies(pair: Pair) -> None:
    """Profiles §4.1.4.5 asks for a signed assertion; the Response's own signature is optional."""
    request_id, pending = pair.exchange()
    posted = pair.idp.respond(pending, sign_response=False)
    assert pair.sp.verify_response(posted.saml_response, request_id).class_ref


def test_attributes_are_read(pair: Pair) -> None:
    request_id, pending = pair.exchange()
    posted = pair.idp.respond(pending, attributes={"urn:test:bsn": [f"s00000000:{BSN}"]})
    verified = pair.sp.verify_response(posted.saml_response, request_id)
    assert verified.attributes["urn:test:bsn"] == (f"s00000000:{BSN}",)


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("wrong audience", {"tweak": saml_idp.wrong_audience}, "audience"),
    ("wrong destination", {"tweak": saml_idp.wrong_destination}, "destination"),
    ("no destination", {"tweak": saml_idp.no_destination}, "destination"),
    ("wrong recipient", {"tweak": saml_idp.wrong_recipient}, "subject_confirmation"),
    ("expired", {"tweak": saml_idp.expired}, "conditions"),
    ("not yet valid", {"tweak": saml_idp.not_yet_valid}, "conditions"),
    ("unknown InResponseTo", {"tweak": saml_idp.unknown_in_response_to}, "in_response_to"),
    ("another issuer", {"tweak": saml_idp.other_issuer}, "issuer"),
    ("unsigned assertion", {"sign_assertion": False}, "unsafe_xml"),
    (
        "SHA-1 signature",
        {
            "sign_alg": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "digest_alg": "http://www.w3.org/2000/09/xmldsig#sha1",
        },
        "unsafe_xml",
    ),
]


@pytest.mark.parametrize(("case", "options", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_responses_are_refused(
    pair: Pair, case: str, options: dict[str, Any], reason: str
) -> None:
    request_id, pending = pair.exchange()
    assert rejection(pair, pair.idp.respond(pending, **options), request_id).reason == reason


def test_a_response_to_another_request_is_refused(pair: Pair) -> None:
    _, pending = pair.exchange()
    other_id, _ = pair.exchange()
    assert rejection(pair, pair.idp.respond(pending), other_id).reason == "in_response_to"


def test_an_altered_response_is_refused(pair: Pair) -> None:
    request_id, pending = pair.exchange()
    posted = edited(pair.idp.respond(pending), BSN.encode(), b"958310828")
    assert rejection(pair, posted, request_id).reason == "signature"


def test_a_response_signed_by_another_key_is_refused(pair: Pair, tmp_path: Path) -> None:
    impostor = SamlTestIdp(tmp_path / "impostor")  # the same entity ID, its own key
    impostor.trust_sp(pair.sp.metadata_xml())
    request_id, pending = pair.exchange()
    assert rejection(pair, impostor.respond(pending), request_id).reason == "signature"


def test_a_cancelled_login_is_reported_as_status(pair: Pair) -> None:
    request_id, pending = pair.exchange()
    assert rejection(pair, pair.idp.refuse(pending), request_id).reason == "status"


def test_a_wrapped_second_assertion_is_refused(pair: Pair) -> None:
    """XML signature wrapping: a forged assertion beside the signed one."""
    request_id, pending = pair.exchange()
    posted = pair.idp.respond(pending)
    document = base64.b64decode(posted.saml_response)
    start = document.index(b"<ns1:Assertion")
    end = document.index(b"</ns1:Assertion>") + len(b"</ns1:Assertion>")
    forged = document[start:end].replace(b'ID="id-', b'ID="forged-', 1)
    wrapped = document[:start] + forged + document[start:]
    attack = Posted(posted.action, base64.b64encode(wrapped).decode(), posted.relay_state)
    assert rejection(pair, attack, request_id).reason == "unsafe_xml"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: "not base64 at all!",
        lambda s: "",
        lambda s: base64.b64encode(b"<not-closed").decode(),
        lambda s: base64.b64encode(
            b'<!DOCTYPE r [<!ENTITY x "y">]>' + base64.b64decode(s).split(b"?>", 1)[-1]
        ).decode(),
        lambda s: "A" * (saml.MAX_RESPONSE_BYTES * 2),
    ],
    ids=["not base64", "empty", "not XML", "DOCTYPE", "too large"],
)
def test_malformed_input_is_refused_before_parsing(
    pair: Pair, mangle: Callable[[str], str]
) -> None:
    request_id, pending = pair.exchange()
    posted = pair.idp.respond(pending)
    broken = Posted(posted.action, mangle(posted.saml_response), posted.relay_state)
    assert rejection(pair, broken, request_id).reason in {"malformed", "unsafe_xml"}


def test_line_breaks_in_the_base64_are_tolerated(pair: Pair) -> None:
    request_id, pending = pair.exchange()
    posted = pair.idp.respond(pending)
    wrapped = "\r\n".join(
        posted.saml_response[i : i + 76] for i in range(0, len(posted.saml_response), 76)
    )
    assert pair.sp.verify_response(wrapped, request_id).class_ref == saml_idp.MIDDEN


# -- configuration -----------------------------------------------------------------------------


def test_missing_files_are_named(pair: Pair, tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    with pytest.raises(SamlConfigurationError, match=r"nope\.xml"):
        ServiceProvider(
            SpConfig(SP_ENTITY, ACS, pair.config.key_file, pair.config.cert_file, missing)
        )


def test_unreadable_metadata_stops_the_start(pair: Pair, tmp_path: Path) -> None:
    bad = tmp_path / "metadata.xml"
    bad.write_text("<not metadata/>")
    with pytest.raises(SamlConfigurationError):
        ServiceProvider(SpConfig(SP_ENTITY, ACS, pair.config.key_file, pair.config.cert_file, bad))


def test_an_idp_not_in_the_metadata_is_refused(pair: Pair) -> None:
    config = SpConfig(
        SP_ENTITY,
        ACS,
        pair.config.key_file,
        pair.config.cert_file,
        pair.config.idp_metadata,
        idp_entity_id="https://other.idp.test",
    )
    with pytest.raises(SamlConfigurationError, match="does not describe"):
        ServiceProvider(config)


def test_xmlsec1_is_required(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(saml.shutil, "which", lambda name: None)
    with pytest.raises(SamlConfigurationError, match="apt-get install xmlsec1"):
        ServiceProvider(pair.config)
