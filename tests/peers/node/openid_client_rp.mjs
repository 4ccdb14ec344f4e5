// openid-client v6 as a relying party of a live Identa server, driven by
// tests/peers/test_openid_client.py. The Python test walks the login page itself, so the flow
// is split in two commands that share nothing but what the test hands back:
//
//   node openid_client_rp.mjs authorize < config.json
//     → {"url", "code_verifier", "state", "nonce"}
//   node openid_client_rp.mjs redeem < config.json   (config also has callback_url,
//                                                     code_verifier, state, nonce)
//     → {"tokens", "claims", "userinfo", "refreshed", "refreshed_claims",
//        "after_revocation", "end_session_url"}
//
// config.json: {"issuer", "client_id", "client_secret" (null for a public client),
//               "redirect_uri", "scope", "post_logout_redirect_uri", "logout_state"}
// One JSON object is printed on stdout; on failure the error goes to stderr, exit code 1.

import * as client from 'openid-client';

async function readConfig() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function discover(config) {
  // The issuer is http://127.0.0.1:PORT/ in tests: openid-client refuses http without this.
  const authentication = config.client_secret
    ? client.ClientSecretBasic(config.client_secret)
    : client.None();
  return client.discovery(
    new URL(config.issuer),
    config.client_id,
    config.client_secret ?? undefined,
    authentication,
    { execute: [client.allowInsecureRequests] },
  );
}

function tokenFields(tokens) {
  const { access_token, refresh_token, id_token, token_type, expires_in, scope } = tokens;
  return { access_token, refresh_token, id_token, token_type, expires_in, scope };
}

async function authorize(config) {
  const server = await discover(config);
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(server, {
    redirect_uri: config.redirect_uri,
    scope: config.scope,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url: url.href, code_verifier: codeVerifier, state, nonce };
}

async function redeem(config) {
  const server = await discover(config);
  const tokens = await client.authorizationCodeGrant(server, new URL(config.callback_url), {
    pkceCodeVerifier: config.code_verifier,
    expectedState: config.state,
    expectedNonce: config.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(server, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(server, tokens.refresh_token);
  await client.tokenRevocation(server, refreshed.refresh_token, {
    token_type_hint: 'refresh_token',
  });
  let afterRevocation;
  try {
    await client.refreshTokenGrant(server, refreshed.refresh_token);
    afterRevocation = { error: null };
  } catch (error) {
    afterRevocation = { error: error.error ?? error.code ?? String(error) };
  }
  const endSession = client.buildEndSessionUrl(server, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: config.post_logout_redirect_uri,
    state: config.logout_state,
  });
  return {
    tokens: tokenFields(tokens),
    claims,
    userinfo,
    refreshed: tokenFields(refreshed),
    refreshed_claims: refreshed.claims() ?? null,
    after_revocation: afterRevocation,
    end_session_url: endSession.href,
  };
}

const commands = { authorize, redeem };

async function main() {
  const command = commands[process.argv[2]];
  if (!command) {
    throw new Error(`usage: openid_client_rp.mjs ${Object.keys(commands).join('|')} < config`);
  }
  const answer = await command(await readConfig());
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

main().catch((error) => {
  const detail = { name: error.name, code: error.code, message: error.message };
  if (error.error) detail.error = error.error;
  if (error.error_description) detail.error_description = error.error_description;
  if (error.cause) detail.cause = String(error.cause?.message ?? error.cause);
  process.stderr.write(`${JSON.stringify(detail)}\n${error.stack ?? ''}\n`);
  process.exit(1);
});
