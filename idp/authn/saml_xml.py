"""A strict look at a SAML ``<Response>`` before any SAML library parses it (stdlib expat only).

Refusing shapes no honest identity provider sends closes the known attack classes against
XML signatures early, whatever the library underneath does:

- No DOCTYPE, entity declaration, processing instruction or comment: no XXE or entity expansion
  (xmlsec1 before 1.2.23 fetched external DTDs, CVE-2017-1000061), and no comment-truncated
  NameID (CVE-2017-11427 class).
- Signature wrapping (XSW): a ``ds:Signature`` may only be a direct child of the Response or of
  the one Assertion, with exactly one ``ds:Reference`` whose URI is ``#`` + the ID of that parent
  (an enveloped signature, SAML Core §5.4.1-5.4.2); every ID attribute is unique; the Response
  holds exactly one Assertion and no EncryptedAssertion (this product accepts one assertion).
- Algorithms from an allow-list (STYLE.md #6): SHA-2 digests and RSA or ECDSA signatures with
  SHA-2, exclusive or inclusive canonicalisation without comments (SAML Core §5.4.3-5.4.4).
- The assertion is signed (SAML Profiles §4.1.4.5: assertions delivered by HTTP-POST MUST be).

It reads structure and algorithm names only and returns nothing from the document's content, so
no value from the response (a BSN) can leak out of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from xml.parsers import expat

PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG = "http://www.w3.org/2000/09/xmldsig#"

SIGNATURE_ALGORITHMS = frozenset(
    {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    }
)
DIGEST_ALGORITHMS = frozenset(
    {
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "http://www.w3.org/2001/04/xmldsig-more#sha384",
        "http://www.w3.org/2001/04/xmlenc#sha512",
    }
)
CANONICALISATION = frozenset(
    {
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/2006/12/xml-c14n11",
    }
)
TRANSFORMS = CANONICALISATION | {"http://www.w3.org/2000/09/xmldsig#enveloped-signature"}

_ALGORITHM_SETS = {
    f"{DSIG} SignatureMethod": SIGNATURE_ALGORITHMS,
    f"{DSIG} DigestMethod": DIGEST_ALGORITHMS,
    f"{DSIG} CanonicalizationMethod": CANONICALISATION,
    f"{DSIG} Transform": TRANSFORMS,
}
RESPONSE = f"{PROTOCOL} Response"
ASSERTION_ELEMENT = f"{ASSERTION} Assertion"
ENCRYPTED_ASSERTION = f"{ASSERTION} EncryptedAssertion"
SIGNATURE = f"{DSIG} Signature"
REFERENCE = f"{DSIG} Reference"
STATUS_CODE = f"{PROTOCOL} StatusCode"
STATUS = f"{PROTOCOL} Status"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"


class UnsafeXml(ValueError):
    """The document has a shape this product refuses; ``reason`` is a short code for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ResponseShape:
    """What the scan established (no content of the document)."""

    response_signed: bool  # the assertion is always signed, or the scan refuses


@dataclass
class _Signature:
    parent_id: str
    references: list[str] = field(default_factory=list)


@dataclass
class _Scan:
    stack: list[tuple[str, str | None]] = field(default_factory=list)  # (name, ID attribute)
    ids: set[str] = field(default_factory=set)
    assertions: int = 0
    signatures: list[_Signature] = field(default_factory=list)
    open_signature: _Signature | None = None
    signed: set[str] = field(default_factory=set)  # RESPONSE and/or ASSERTION_ELEMENT
    status: str | None = None  # the top-level StatusCode (SAML Core §3.2.2.2)

    def start(self, name: str, attributes: dict[str, str]) -> None:
        depth = len(self.stack)
        parent = self.stack[-1][0] if self.stack else None
        if depth == 0 and name != RESPONSE:
            raise UnsafeXml("not_a_response")
        element_id = attributes.get("ID")
        if element_id is not None:
            if element_id in self.ids:
                raise UnsafeXml("duplicate_id")  # XSW relies on two elements with one ID
            self.ids.add(element_id)
        if parent == RESPONSE and name == ENCRYPTED_ASSERTION:
            raise UnsafeXml("encrypted_assertion")
        if parent == RESPONSE and name == ASSERTION_ELEMENT:
            self.assertions += 1
            if self.assertions > 1:
                raise UnsafeXml("assertion_count")
        if name == STATUS_CODE and depth == 2 and parent == STATUS:
            self.status = attributes.get("Value")
        if name == SIGNATURE:
            self._signature(depth)
        elif name == REFERENCE:
            if self.open_signature is None:
                raise UnsafeXml("reference_outside_signature")
            self.open_signature.references.append(attributes.get("URI", ""))
        allowed = _ALGORITHM_SETS.get(name)
        if allowed is not None and attributes.get("Algorithm") not in allowed:
            raise UnsafeXml("algorithm")
        self.stack.append((name, element_id))

    def _signature(self, depth: int) -> None:
        parent, parent_id = self.stack[-1]
        at_response = depth == 1 and parent == RESPONSE
        at_assertion = depth == 2 and parent == ASSERTION_ELEMENT
        if not (at_response or at_assertion) or self.open_signature is not None:
            raise UnsafeXml("signature_position")
        if parent_id is None or parent in self.signed:
            raise UnsafeXml("signature_position")
        self.signed.add(parent)
        self.open_signature = _Signature(parent_id)
        self.signatures.append(self.open_signature)

    def end(self, name: str) -> None:
        self.stack.pop()
        if name == SIGNATURE:
            self.open_signature = None


def check_response(document: bytes) -> ResponseShape:
    """Scan ``document`` (the decoded ``SAMLResponse``); raise ``UnsafeXml`` on any refusal."""
    scan = _Scan()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.StartDoctypeDeclHandler = _refuse("doctype")
    parser.EntityDeclHandler = _refuse("entity")
    parser.ProcessingInstructionHandler = _refuse("processing_instruction")
    parser.CommentHandler = _refuse("comment")
    parser.ExternalEntityRefHandler = _refuse_external
    try:
        parser.Parse(document, True)
    except expat.ExpatError:
        raise UnsafeXml("not_well_formed") from None
    if scan.status != SUCCESS:
        # Checked before the assertion count: an IdP that reports a cancelled or failed login
        # sends no assertion. This refuses only; a Success status is verified when signed.
        raise UnsafeXml("status")
    if scan.assertions != 1:
        raise UnsafeXml("assertion_count")
    for signature in scan.signatures:
        if signature.references != [f"#{signature.parent_id}"]:
            raise UnsafeXml("signature_reference")
    if ASSERTION_ELEMENT not in scan.signed:
        raise UnsafeXml("assertion_unsigned")
    return ResponseShape(response_signed=RESPONSE in scan.signed)


def _refuse(reason: str) -> Callable[..., None]:
    def handler(*_args: object) -> None:
        raise UnsafeXml(reason)

    return handler


def _refuse_external(*_args: object) -> int:
    raise UnsafeXml("entity")


__all__ = ["ResponseShape", "UnsafeXml", "check_response"]
