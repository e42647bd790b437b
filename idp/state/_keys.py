"""Key names and argument checks shared by the in-process and the Redis store.

Both stores use the same key scheme, so the two implementations stay one design and the contract
tests can assert the same properties (no raw code in a key, a TTL on every key) against both.
"""

from __future__ import annotations

import hashlib

from idp.protocol.models import CodeRecord

PREFIX = "zorg:"

# Value of the reuse marker ``zorg:codeused:{<sha>}``: ``pending:<grant_id>`` from issuance,
# ``redeemed:<grant_id>`` once the code has been redeemed. Only the second reports reuse, so an
# expired code that was never redeemed is not mistaken for a replayed one.
MARKER_PENDING = "pending:"
MARKER_REDEEMED = "redeemed:"


def _sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def code_digest(code: str) -> str:
    """SHA-256 hex of an authorization code: keys never hold the bearer value itself."""
    return _sha256_hex(code)


def code_key(digest: str) -> str:
    # The hash tag ``{digest}`` puts the record and its marker in one Redis Cluster slot, which
    # the single-script redemption needs.
    return f"{PREFIX}code:{{{digest}}}"


def code_used_key(digest: str) -> str:
    return f"{PREFIX}codeused:{{{digest}}}"


def transaction_key(tx_id: str) -> str:
    return f"{PREFIX}tx:{tx_id}"


def seen_key(namespace: str, key: str) -> str:
    # Replay-cache keys (``jti`` values) come from clients: hashing bounds their length.
    return f"{PREFIX}seen:{namespace}:{_sha256_hex(key)}"


def challenge_key(key: str) -> str:
    # Hashed like replay-cache keys: the key names a login transaction or a session.
    return f"{PREFIX}challenge:{_sha256_hex(key)}"


def upstream_login_key(state: str) -> str:
    # ``state`` comes back in a query string: hashing bounds its length (idp.authn.oidc_upstream).
    return f"{PREFIX}upstream:{_sha256_hex(state)}"


def postback_key(ticket: str) -> str:
    # The ticket travels in a URL: only its hash names the stored (sealed) form.
    return f"{PREFIX}postback:{_sha256_hex(ticket)}"


def saml_request_key(tx_id: str) -> str:
    return f"{PREFIX}samlreq:{_sha256_hex(tx_id)}"


def grant_key(grant_id: str) -> str:
    # Hash tag: the grant and its revocation marker share a Redis Cluster slot (one MGET).
    return f"{PREFIX}grant:{{{grant_id}}}"


def grant_revoked_key(grant_id: str) -> str:
    return f"{PREFIX}grantrevoked:{{{grant_id}}}"


# A revocation outlives any access token issued under the grant (at most 1 h, DECISIONS #8), so a
# revocation that races ahead of ``put_grant`` (code reuse during the first redemption) still wins.
REVOKED_MARKER_TTL = 3600 + 300


def revocation_mark_key(key: str) -> str:
    """A mark that a register record is no longer usable (``decl:<id>``, ``prof:<dezi_nummer>``,
    ``org:<ura>``). Hashed: the key names a person, and a hash keeps it out of key listings.

    No hash tag: marks spread over Redis Cluster slots, and the multi-key ``EXISTS`` that reads
    them is split per slot by redis-py's cluster client (a count, so the split is harmless).
    """
    return f"{PREFIX}revoked:{_sha256_hex(key)}"


def person_sessions_key(dezi_nummer: str) -> str:
    """The set of session ids of one person (to end them all: ASVS 7.4.2, 7.4.5)."""
    return f"{PREFIX}person:{_sha256_hex(dezi_nummer)}"


def session_key(sid: str) -> str:
    return f"{PREFIX}sso:{sid}"


def hits_key(scope: str, key: str) -> str:
    # Rate-limit keys name accounts and addresses: the policy passes keyed hashes, and hashing
    # again here bounds the length whatever a caller passes.
    return f"{PREFIX}hits:{scope}:{_sha256_hex(key)}"


def check_ttl(ttl: int, name: str = "ttl") -> None:
    """Every entry expires: a TTL is a whole number of seconds, at least 1."""
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
        raise ValueError(f"{name} must be a whole number of seconds >= 1, got {ttl!r}")


def check_code_ttls(ttl: int, reuse_window: int) -> None:
    """The reuse marker is written at issuance, so it must outlive the code itself.

    Otherwise a code redeemed late in its life would leave no trace, and a second redemption could
    not revoke what the first issued (RFC 6749 §4.1.2; RFC 9700 §4.2.4).
    """
    check_ttl(ttl)
    check_ttl(reuse_window, "reuse_window")
    if reuse_window < ttl:
        raise ValueError(f"reuse_window ({reuse_window} s) must be >= the code ttl ({ttl} s)")


def check_login(
    ttl: int, code: str | None, code_record: CodeRecord | None, code_ttl: int, reuse_window: int
) -> None:
    """``save_login``'s arguments, checked before anything is written."""
    check_ttl(ttl)
    if (code is None) != (code_record is None):
        raise ValueError("save_login: code and code_record come together or not at all")
    if code is not None:
        check_code_ttls(code_ttl, reuse_window)
