// The real OpenID Connect server `oidc-provider`, configured for OAuth Desk's tests: its own
// login and consent pages (devInteractions), PKCE, refresh, client credentials, introspection,
// revocation, discovery, and a password grant added with registerGrantType (it has none built in).
// Listens on 127.0.0.1 (PORT, default any free port) and prints `ready <issuer>`.
import http from 'node:http';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';

// Clients that authenticate with private_key_jwt (RFC 7523 §2.2): their public keys, from the
// test key files whose private halves the tests sign client assertions with.
const publicJwk = (file, alg) => ({ ...createPublicKey(readFileSync(new URL(`keys/${file}`, import.meta.url))).export({ format: 'jwk' }), alg, use: 'sig', kid: file });

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.PORT || 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const USERS = { ada: { password: 'Passw0rd!', name: 'Ada Lovelace', email: 'ada@example.com' } };
const grantTypes = ['authorization_code', 'refresh_token', 'client_credentials', 'password', 'urn:ietf:params:oauth:grant-type:device_code'];
const scope = 'openid offline_access profile email api';

const provider = new Provider(issuer, {
  clients: [
    { client_id: 'desk-basic', client_secret: 'desk-basic-secret', token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: ['https://app.example.com/oidc/callback'], grant_types: grantTypes, response_types: ['code'], scope },
    { client_id: 'desk-post', client_secret: 'desk-post-secret', token_endpoint_auth_method: 'client_secret_post',
      redirect_uris: ['https://app.example.com/oidc/callback'], grant_types: grantTypes, response_types: ['code'], scope },
    ...[['desk-pkjwt-rs256', 'client-rs256.pem', 'RS256'], ['desk-pkjwt-es256', 'client-es256.pem', 'ES256']].map(([id, file, alg]) => ({
      client_id: id, token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: alg,
      jwks: { keys: [publicJwk(file, alg)] }, redirect_uris: ['https://app.example.com/oidc/callback'],
      grant_types: grantTypes, response_types: ['code'], scope })),
    // A native app (RFC 8252): loopback redirect on any port, no secret, PKCE.
    { client_id: 'desk-native', token_endpoint_auth_method: 'none', application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], scope },
  ],
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api'],
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
    // RFC 8628; the user approves at /device (the tests drive its pages over HTTP).
    deviceFlow: { enabled: true },
  },
  pkce: { required: () => true },
  // ACCESS_TOKEN_TTL (seconds): short-lived access tokens, for tests of the provider refusing them.
  ttl: { AccessToken: Number(process.env.ACCESS_TOKEN_TTL) || 600, ClientCredentials: 600, AuthorizationCode: 60, RefreshToken: 86400, IdToken: 600, Grant: 86400, Interaction: 600, Session: 86400 },
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  // ROTATE_REFRESH_TOKENS=1: every refresh consumes its refresh token and issues a new one; a
  // consumed one comes back as invalid_grant (and oidc-provider revokes the whole grant).
  ...(process.env.ROTATE_REFRESH_TOKENS === '1' ? { rotateRefreshToken: () => true } : {}),
  async findAccount(ctx, id) {
    const u = USERS[id] || { name: id, email: `${id}@example.com` };
    return { accountId: id, async claims() { return { sub: id, name: u.name, email: u.email, email_verified: true }; } };
  },
  cookies: { keys: ['oauth-desk-test-cookie-key'] },
  // Accepted past expiry by this many seconds (oidc-provider's default 15); CLOCK_TOLERANCE=0
  // makes an expired access token a refused one at once.
  clockTolerance: Number(process.env.CLOCK_TOLERANCE ?? 15),
});

// RFC 6749 §4.3, which oidc-provider leaves to the deployer.
provider.registerGrantType('password', async (ctx) => {
  const { username, password } = ctx.oidc.params;
  const user = USERS[username];
  if (!user || user.password !== password) throw new errors.InvalidGrant('invalid username or password');
  const client = ctx.oidc.client;
  const requested = new Set(String(ctx.oidc.params.scope || 'openid').split(' ').filter((s) => s && client.scope.split(' ').includes(s)));
  requested.add('openid');
  const grant = new provider.Grant({ accountId: username, clientId: client.clientId });
  grant.addOIDCScope([...requested].join(' '));
  const grantId = await grant.save();
  const at = new provider.AccessToken({ accountId: username, client, grantId, gty: 'password', scope: [...requested].join(' ') });
  ctx.body = { access_token: await at.save(), expires_in: at.expiration, token_type: 'Bearer', scope: at.scope };
}, ['username', 'password', 'scope']);

server.on('request', provider.callback());
console.log(`ready ${issuer}`);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
