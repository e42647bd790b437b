"""``zorg-idp verklaring verify``: check a userinfo response or a bare verklaring as an EPD would.

The checks are ``idp.verklaring_check`` (Dezi v0.7 §2.5–§2.8, §6). Exit status: 0 valid,
1 rejected, 2 unusable input or options. ``--json`` prints one JSON object instead of text.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from joserfc.jwk import KeySet, RSAKey

from idp.protocol.jose import JoseRejected, unverified_header
from idp.verklaring_check import (
    CheckedUserinfo,
    CheckedVerklaring,
    KeyFetcher,
    RevocationCheck,
    RevocationList,
    StatusCheck,
    UserinfoChecker,
    VerklaringChecker,
    VerklaringRejected,
)

verklaring_app = typer.Typer(
    no_args_is_help=True, help="Dezi verklaringen, as a relying party sees them."
)


@verklaring_app.callback()
def _group() -> None:
    """Dezi verklaringen, as a relying party sees them (``verify``)."""


def http_client(timeout: float) -> httpx.Client:
    """The HTTP client for JWKS, discovery and revocation (tests replace it)."""
    return httpx.Client(timeout=timeout, follow_redirects=False)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _read(source: str) -> str:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {source}: {exc}") from None
    return text.strip()


def _decryption_keys(path: Path) -> KeySet:
    """A private JWK, a JWKS with private keys, or a PEM private key."""
    try:
        raw = path.read_text(encoding="utf-8")
        if raw.lstrip().startswith("{"):
            data = json.loads(raw)
            entries = data["keys"] if "keys" in data else [data]
            return KeySet([RSAKey.import_key(entry) for entry in entries])
        return KeySet([RSAKey.import_key(raw)])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _fail(f"cannot read the decryption key {path}: {exc}") from None


def _discover_jwks_uri(http: httpx.Client, issuer: str) -> str:
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = http.get(url)
        jwks_uri = response.json().get("jwks_uri") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        jwks_uri = None
    if not isinstance(jwks_uri, str):
        raise _fail(f"no jwks_uri from {url}; give --op-jwks-uri")
    return jwks_uri


def _report(result: CheckedVerklaring | CheckedUserinfo, as_json: bool) -> None:
    checked = result.verklaring if isinstance(result, CheckedUserinfo) else result
    claims = checked.claims
    if as_json:
        out: dict[str, Any] = {
            "valid": True,
            "revocation": checked.revocation,
            "verklaring": claims,
        }
        if isinstance(result, CheckedUserinfo):
            out["encrypted"] = result.encrypted
            out["envelope"] = {k: v for k, v in result.envelope.items() if k != "verklaring"}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    name = " ".join(str(p) for p in (claims["voorletters"], claims.get("voorvoegsel")) if p)
    typer.echo(f"valid: verklaring {claims['verklaring_id']}")
    typer.echo(f"  dezi_nummer   {claims['dezi_nummer']}  {name} {claims['achternaam']}")
    typer.echo(f"  abonnee       {claims['abonnee_nummer']}  {claims['abonnee_naam']}")
    typer.echo(f"  rol           {claims['rol_code']}  {claims['rol_naam']}")
    typer.echo(f"  valid until   {claims['exp']} (unix time); loa_dezi {claims['loa_dezi']}")
    typer.echo(f"  revocation    {checked.revocation}")
    if isinstance(result, CheckedUserinfo):
        kind = "encrypted (JWE)" if result.encrypted else "signed, NOT encrypted"
        typer.echo(f"  envelope      {kind}; loa_authn {result.envelope.get('loa_authn')}")


@verklaring_app.command("verify")
def verify(
    jku: Annotated[
        list[str], typer.Option("--jku", help="An allowed jku (JWKS URL); repeat for more.")
    ],
    source: Annotated[
        str, typer.Argument(help="File with the userinfo body or a verklaring; '-' = stdin.")
    ] = "-",
    issuer: Annotated[
        str | None, typer.Option("--issuer", help="The OP's issuer (for a userinfo response).")
    ] = None,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="Your client id (the envelope's aud).")
    ] = None,
    decryption_key: Annotated[
        Path | None, typer.Option("--decryption-key", help="Your private key: JWK, JWKS or PEM.")
    ] = None,
    op_jwks_uri: Annotated[
        str | None, typer.Option("--op-jwks-uri", help="Default: from the issuer's discovery.")
    ] = None,
    revocation_list: Annotated[
        str | None, typer.Option("--revocation-list", help="Check the signed list at this URL.")
    ] = None,
    no_revocation_check: Annotated[
        bool, typer.Option("--no-revocation-check", help="Skip revocation (not advised).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    timeout: Annotated[float, typer.Option(help="HTTP timeout in seconds.")] = 10.0,
) -> None:
    """Check a userinfo response (JWE or signed envelope) or a bare verklaring; print the verdict.

    Revocation: the signed list with --revocation-list, else the verklaring's status_uri.
    """
    token = _read(source)
    if revocation_list is not None and no_revocation_check:
        raise _fail("give --revocation-list or --no-revocation-check, not both")
    with http_client(timeout) as http:
        keys = KeyFetcher(http)
        allowed = frozenset(jku)
        revocation: RevocationCheck | None = None
        if revocation_list is not None:
            revocation = RevocationList(revocation_list, http, keys, allowed)
        elif not no_revocation_check:
            revocation = StatusCheck(http)
        try:
            checker = VerklaringChecker(allowed, keys, revocation)
        except ValueError as exc:
            raise _fail(str(exc)) from None
        is_verklaring = token.count(".") == 2 and _looks_like_verklaring(token)
        try:
            result: CheckedVerklaring | CheckedUserinfo
            if is_verklaring:
                result = checker.check(token)
            else:
                if issuer is None or client_id is None:
                    raise _fail("a userinfo response needs --issuer and --client-id")
                keys_for_jwe = _decryption_keys(decryption_key) if decryption_key else None
                userinfo = UserinfoChecker(
                    checker,
                    issuer=issuer,
                    client_id=client_id,
                    op_jwks_uri=op_jwks_uri or _discover_jwks_uri(http, issuer),
                    decryption_keys=keys_for_jwe,
                )
                result = userinfo.check(token)
        except VerklaringRejected as exc:
            if as_json:
                verdict = {"valid": False, "error": exc.code, "description": exc.description}
                typer.echo(json.dumps(verdict, ensure_ascii=False))
            else:
                typer.echo(f"rejected ({exc.code}): {exc.description}")
            raise typer.Exit(1) from None
    _report(result, as_json)


def _looks_like_verklaring(token: str) -> bool:
    """A compact JWS whose header names a ``jku`` (a verklaring), not an envelope."""
    try:
        return "jku" in unverified_header(token)
    except JoseRejected:
        return True  # let the checker say what is wrong with it
