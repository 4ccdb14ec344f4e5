// Upstream identity providers for Identa's social-login peer tests: node oidc-provider 9.13.3.
//
// Reads a JSON array from stdin, one entry per provider: {port, clients: [{client_id,
// client_secret, redirect_uris}]}; starts each on 127.0.0.1:port and prints {"ready": [...]}.
// The login string typed on the dev login page decides the account: it is the `sub`; an
// e-mail address is used as such (else `<login>@upstream.test`); a leading "unverified:"
// makes email_verified false. Google-like: email and profile claims are put into the ID token.
import Provider from 'oidc-provider';

const input = await new Promise((resolve) => {
  let data = '';
  process.stdin.on('data', (chunk) => { data += chunk; });
  process.stdin.on('end', () => resolve(data));
});
const configs = JSON.parse(input);

function claimsFor(id) {
  let login = id;
  let verified = true;
  if (login.startsWith('unverified:')) {
    verified = false;
    login = login.slice('unverified:'.length);
  }
  const email = login.includes('@') ? login : `${login}@upstream.test`;
  const local = email.split('@')[0];
  return {
    sub: id,
    email,
    email_verified: verified,
    name: `User ${local}`,
    given_name: 'User',
    family_name: local,
    picture: `https://pictures.upstream.test/${encodeURIComponent(local)}.png`,
    locale: 'en-GB',
  };
}

const ready = [];
for (const config of configs) {
  const issuer = `http://127.0.0.1:${config.port}`;
  const provider = new Provider(issuer, {
    clients: config.clients.map((client) => ({
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...client,
    })),
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'picture', 'locale'],
    },
    async findAccount(ctx, id) {
      return { accountId: id, async claims() { return claimsFor(id); } };
    },
    features: { devInteractions: { enabled: true } },
    conformIdTokenClaims: false,
    cookies: { keys: [`identa-peer-op-${config.port}`] },
    ttl: {
      AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60, Interaction: 600,
      Session: 3600, Grant: 3600,
    },
  });
  await new Promise((resolve) => { provider.listen(config.port, '127.0.0.1', resolve); });
  ready.push(issuer);
}
console.log(JSON.stringify({ ready }));
