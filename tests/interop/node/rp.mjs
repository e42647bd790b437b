// RP 2 of the interop suite: panva's openid-client v6 (JOSE: jose + oauth4webapi) against zorg-idp.
//
// Driven by tests/interop/test_openid_client.py:
//   1. reads its settings (JSON) from the INTEROP_RP_CONFIG environment variable;
//   2. does discovery, builds the authorization URL (PKCE S256, state, nonce) and prints
//      {"authorization_url": ...} as one JSON line on stdout;
//   3. reads the redirect URL (code, state, iss) as one line on stdin;
//   4. completes authorizationCodeGrant with private_key_jwt, validates the ID token (claims by
//      openid-client, signature against the OP's jwks_uri via enableNonRepudiationChecks),
//      fetches userinfo and prints one JSON line with the results (or the error).
//
// Settings: issuer, client_id, redirect_uri, alg (PS256|ES256), id_token_alg, private_jwk (with kid),
// assertion_audience ("issuer", openid-client's own default, or "token_endpoint" for the negative
// check).

import * as client from 'openid-client';
import { createInterface } from 'node:readline';

const IMPORT_PARAMS = {
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
};

function emit(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function decodeJwtPart(jwt, index) {
  return JSON.parse(Buffer.from(jwt.split('.')[index], 'base64url').toString('utf8'));
}

async function readLine() {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    lines.close();
    return line.trim();
  }
  throw new Error('stdin closed before the redirect URL arrived');
}

function describeError(err) {
  return {
    ok: false,
    name: err?.name,
    code: err?.code,
    message: err?.message,
    error: err?.error,
    error_description: err?.error_description,
    status: err?.status,
  };
}

async function main() {
  const cfg = JSON.parse(process.env.INTEROP_RP_CONFIG ?? '');
  const { kid, ...jwk } = cfg.private_jwk;
  delete jwk.alg; // WebCrypto checks "alg" against its own names; the import params decide
  const key = await crypto.subtle.importKey('jwk', jwk, IMPORT_PARAMS[cfg.alg], false, ['sign']);

  let config;
  const sentAssertions = [];
  const authOptions = {
    // Observe (and, for the negative check, change) the assertion openid-client builds.
    [client.modifyAssertion]: (header, payload) => {
      if (cfg.assertion_audience === 'token_endpoint') {
        payload.aud = config.serverMetadata().token_endpoint;
      }
      sentAssertions.push({ header: { ...header }, payload: { ...payload } });
    },
  };
  config = await client.discovery(
    new URL(cfg.issuer),
    cfg.client_id,
    {
      redirect_uris: [cfg.redirect_uri],
      id_token_signed_response_alg: cfg.id_token_alg,
      token_endpoint_auth_method: 'private_key_jwt',
    },
    client.PrivateKeyJwt({ key, kid }, authOptions),
    // allowInsecureRequests only because the test issuer is plain-http loopback.
    { execute: [client.allowInsecureRequests], timeout: 10 },
  );
  client.enableNonRepudiationChecks(config); // verify the ID token signature with the JWKS

  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: cfg.redirect_uri,
    scope: 'openid',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  emit({ authorization_url: authorizationUrl.href, state, nonce });

  const callback = new URL(await readLine());
  try {
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    emit({
      ok: true,
      issuer: config.serverMetadata().issuer,
      token_endpoint: config.serverMetadata().token_endpoint,
      assertions: sentAssertions,
      token_type: tokens.token_type,
      expires_in: tokens.expiresIn(),
      id_token_header: decodeJwtPart(tokens.id_token, 0),
      id_token_claims: claims,
      userinfo,
    });
  } catch (err) {
    emit({
      ...describeError(err),
      token_endpoint: config.serverMetadata().token_endpoint,
      assertions: sentAssertions,
    });
  }
}

main().catch((err) => {
  emit(describeError(err));
  process.exitCode = 1;
});
