"""RP 2: panva's openid-client v6 (npm; JOSE by ``jose`` and ``oauth4webapi``) via Node.js.

``node/rp.mjs`` does discovery, builds the authorization URL with PKCE, state and nonce, prints it,
waits for the redirect URL on stdin, then completes the code grant with ``private_key_jwt``,
validates the ID token (claims, and the signature against the JWKS) and fetches userinfo. Python
drives the browser steps with httpx in between.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jwskate import Jwk

from tests.interop.live import LiveServer, new_client_key
from tests.support import CARER, login_through_forms, query_of

# Generous: the first test also pays for `npm ci` when node_modules is missing.
pytestmark = [pytest.mark.interop, pytest.mark.timeout(360)]

CHOSEN_URA = "90000112"
FIRST_LINE_TIMEOUT = 20.0
RESULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class NodeRp:
    client_id: str
    redirect_uri: str
    key: Jwk  # private
    alg: str
    id_token_alg: str


@pytest.fixture(scope="module")
def node_rps(live_server: LiveServer) -> dict[str, NodeRp]:
    rps: dict[str, NodeRp] = {}
    for alg in ("PS256", "ES256"):
        key = new_client_key(alg)
        client_id = f"interop-node-{alg.lower()}"
        rp = NodeRp(client_id, f"https://node.example/{client_id}/cb", key, alg, alg)
        live_server.register_client(
            rp.client_id,
            rp.redirect_uri,
            jwks={"keys": [dict(key.public_jwk())]},
            organisations=("90000101", CHOSEN_URA),
            name=f"openid-client {alg}",
            id_token_alg=rp.id_token_alg,
        )
        rps[alg] = rp
    return rps


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """One line from the child's stdout, read from the raw descriptor with a deadline."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise TimeoutError(f"no line from node within {timeout:.0f} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    line, _, rest = data.partition(b"\n")
    # rp.mjs writes nothing else before it has read its stdin.
    assert not rest, rest
    return line.decode()


def run_node_rp(
    server: LiveServer,
    node_dir: Path,
    rp: NodeRp,
    *,
    assertion_audience: str = "issuer",
    dezi_nummer: str = CARER,
    choose: str | None = CHOSEN_URA,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``rp.mjs`` through one flow; return (its first message, its result)."""
    node = shutil.which("node")
    assert node is not None
    settings = {
        "issuer": server.issuer,
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "alg": rp.alg,
        "id_token_alg": rp.id_token_alg,
        "private_jwk": dict(rp.key),
        "assertion_audience": assertion_audience,
    }
    env = {**os.environ, "INTEROP_RP_CONFIG": json.dumps(settings)}
    with subprocess.Popen(
        [node, "rp.mjs"],
        cwd=node_dir,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            first: dict[str, Any] = json.loads(_read_line(process, FIRST_LINE_TIMEOUT))
            assert "authorization_url" in first, first
            with server.browser() as browser:
                final = login_through_forms(
                    browser, first["authorization_url"], dezi_nummer, choose=choose
                )
            assert final.status_code == 303, final.text
            callback = final.headers["location"]
            assert callback.startswith(f"{rp.redirect_uri}?")
            stdout, stderr = process.communicate(f"{callback}\n", timeout=RESULT_TIMEOUT)
        except BaseException:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, f"node exited with {process.returncode}:\n{stderr}"
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"{stdout}\n{stderr}"
    result: dict[str, Any] = json.loads(lines[0])
    return first, result


@pytest.mark.parametrize("alg", ["PS256", "ES256"])
def test_code_flow_with_private_key_jwt(
    live_server: LiveServer, node_rp_dir: Path, node_rps: dict[str, NodeRp], alg: str
) -> None:
    rp = node_rps[alg]
    first, result = run_node_rp(live_server, node_rp_dir, rp)

    request = query_of(first["authorization_url"])
    assert request["code_challenge_method"] == "S256"
    assert request["state"] == first["state"] and request["nonce"] == first["nonce"]
    assert result["ok"] is True, result

    # openid-client v6 signs its assertion with aud = the issuer identifier (oauth4webapi
    # clientAssertionPayload: ``aud: as.issuer``), which is what the OP demands.
    [assertion] = result["assertions"]
    assert assertion["header"]["alg"] == alg
    assert assertion["header"]["kid"] == rp.key.kid
    assert assertion["payload"]["aud"] == live_server.issuer
    assert assertion["payload"]["iss"] == assertion["payload"]["sub"] == rp.client_id

    assert result["issuer"] == live_server.issuer
    assert result["token_type"] == "bearer"  # openid-client lower-cases it
    assert 0 < result["expires_in"] <= 3600
    assert result["id_token_header"]["alg"] == rp.id_token_alg
    claims = result["id_token_claims"]
    assert claims["iss"] == live_server.issuer
    assert claims["aud"] in (rp.client_id, [rp.client_id])
    assert claims["nonce"] == first["nonce"]
    assert claims["sub"] != CARER

    userinfo = result["userinfo"]
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["dezi_nummer"] == CARER
    assert userinfo["abonnee_nummer"] == CHOSEN_URA


def test_token_endpoint_as_assertion_audience_is_rejected(
    live_server: LiveServer, node_rp_dir: Path, node_rps: dict[str, NodeRp]
) -> None:
    rp = node_rps["ES256"]
    _, result = run_node_rp(live_server, node_rp_dir, rp, assertion_audience="token_endpoint")

    assert result["ok"] is False, result
    assert result["name"] == "ResponseBodyError", result
    assert result["status"] == 401
    assert result["error"] == "invalid_client"
    [assertion] = result["assertions"]
    assert assertion["payload"]["aud"] == result["token_endpoint"] == live_server.url("/token")
