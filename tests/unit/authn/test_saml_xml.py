"""The pre-parse scan of a SAML Response (``idp.authn.saml_xml``): shapes no honest IdP sends.

The documents are small hand-written Responses in the shape of SAML Core §3.3.3 / §5.4: the scan
reads structure and algorithm names only, so signatures need not be real here.
"""

from __future__ import annotations

import pytest

from idp.authn.saml_xml import UnsafeXml, check_response

SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"


def signature(ref: str, sig_alg: str = RSA_SHA256, digest: str = SHA256) -> str:
    return (
        "<ds:Signature><ds:SignedInfo>"
        f'<ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/>'
        f'<ds:SignatureMethod Algorithm="{sig_alg}"/>'
        f'<ds:Reference URI="#{ref}"><ds:Transforms>'
        f'<ds:Transform Algorithm="{ENVELOPED}"/><ds:Transform Algorithm="{EXC_C14N}"/>'
        f'</ds:Transforms><ds:DigestMethod Algorithm="{digest}"/>'
        "<ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo>"
        "<ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>"
    )


def response(
    *,
    response_signature: str | None = "",
    assertion_signature: str | None = "",
    assertions: int = 1,
    status: str = SUCCESS,
    extra: str = "",
    prolog: str = "",
) -> bytes:
    def assertion(n: int) -> str:
        sig = signature(f"a{n}") if assertion_signature == "" else (assertion_signature or "")
        return (
            f'<saml:Assertion ID="a{n}" Version="2.0"><saml:Issuer>idp</saml:Issuer>{sig}'
            f"<saml:Subject><saml:NameID>s00000000:999991772</saml:NameID></saml:Subject>"
            "</saml:Assertion>"
        )

    sig = signature("r1") if response_signature == "" else (response_signature or "")
    body = "".join(assertion(n) for n in range(1, assertions + 1))
    return (
        f"{prolog}<samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol' "
        "xmlns:saml='urn:oasis:names:tc:SAML:2.0:assertion' "
        "xmlns:ds='http://www.w3.org/2000/09/xmldsig#' ID='r1' Version='2.0'>"
        f"<saml:Issuer>idp</saml:Issuer>{sig}"
        f"<samlp:Status><samlp:StatusCode Value='{status}'/></samlp:Status>{extra}{body}"
        "</samlp:Response>"
    ).encode()


def refusal(document: bytes) -> str:
    with pytest.raises(UnsafeXml) as caught:
        check_response(document)
    assert "999991772" not in str(caught.value)
    return caught.value.reason


def test_a_well_formed_signed_response_passes() -> None:
    assert check_response(response()).response_signed is True
    assert check_response(response(response_signature=None)).response_signed is False


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (response(prolog='<!DOCTYPE r [<!ENTITY x "y">]>'), "doctype"),
        (response(prolog="<?xml-stylesheet href='x'?>"), "processing_instruction"),
        (response(extra="<!-- a comment -->"), "comment"),
        (b"<samlp:Response", "not_well_formed"),
        (b"<other xmlns='urn:x'/>", "not_a_response"),
        (response(status="urn:oasis:names:tc:SAML:2.0:status:Responder"), "status"),
        (response(assertions=0), "assertion_count"),
        (response(assertions=2), "assertion_count"),
        (response(assertion_signature=None), "assertion_unsigned"),
        (
            response(extra="<saml:EncryptedAssertion/>"),
            "encrypted_assertion",
        ),
        (response(assertion_signature=signature("r1")), "signature_reference"),
        (response(response_signature=signature("a1")), "signature_reference"),
        (
            response(extra=f"<samlp:Extensions>{signature('r1')}</samlp:Extensions>"),
            "signature_position",
        ),
        (response(response_signature=signature("r1") + signature("r1")), "signature_position"),
        (
            response(
                assertion_signature=signature(
                    "a1", sig_alg="http://www.w3.org/2000/09/xmldsig#rsa-sha1"
                )
            ),
            "algorithm",
        ),
        (
            response(
                assertion_signature=signature("a1", digest="http://www.w3.org/2000/09/xmldsig#sha1")
            ),
            "algorithm",
        ),
        (response(extra="<saml:Assertion ID='r1'/>", assertions=0), "duplicate_id"),
    ],
    ids=[
        "DTD",
        "processing instruction",
        "comment",
        "not well-formed",
        "not a Response",
        "not Success",
        "no assertion",
        "two assertions",
        "unsigned assertion",
        "encrypted assertion",
        "assertion signature points elsewhere",
        "response signature points elsewhere",
        "signature in Extensions",
        "two signatures on one element",
        "SHA-1 signature",
        "SHA-1 digest",
        "duplicate ID",
    ],
)
def test_unsafe_shapes_are_refused(document: bytes, reason: str) -> None:
    assert refusal(document) == reason


def test_a_comment_inside_the_name_id_is_refused() -> None:
    """CVE-2017-11427: a comment can make a parser read only part of a signed NameID."""
    document = response().replace(b"999991772", b"99999<!---->1772")
    assert refusal(document) == "comment"
