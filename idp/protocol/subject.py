"""Pairwise subject identifiers (OIDC Core §8.1; NL GOV OIDC; DECISIONS.md #5).

``sub`` is a keyed hash of the Dezi number per sector, never the BSN and never the Dezi number
itself, so two relying parties cannot correlate a care worker by ``sub``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def pairwise_sub(secret: bytes, sector: str, dezi_nummer: str) -> str:
    mac = hmac.new(secret, f"{sector}\x00{dezi_nummer}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
