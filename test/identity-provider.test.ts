import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { ConfigError, loadConfig } from '../src/config.js';
import { graphql } from './generated/gql.js';
import { startTestServer, uniqueName, type TestServer } from './support/server.js';
import { createUser } from './support/users.js';
import { connectSocket } from './support/ws.js';

const LogInWithIdToken = graphql(`
  mutation LogInWithIdToken($idToken: String!) {
    logInWithIdToken(idToken: $idToken) {
      token
      user {
        id
        username
        displayName
      }
    }
  }
`);

const IdpMe = graphql(`
  query IdpMe {
    me {
      id
    }
  }
`);

const IdpDeleteAccount = graphql(`
  mutation IdpDeleteAccount($password: String, $idToken: String) {
    deleteAccount(password: $password, idToken: $idToken)
  }
`);

const IdpLogIn = graphql(`
  mutation IdpLogIn($input: LogInInput!) {
    logIn(input: $input) {
      token
    }
  }
`);

const CLIENT_ID = 'parley-test-client';

/** A real OpenID Connect issuer on loopback: discovery and JWKS over HTTP, keys made by the test. */
async function startIssuer() {
  const signing = await generateKeyPair('RS256', { extractable: true });
  const published: JWK[] = [{ ...(await exportJWK(signing.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' }];
  let jwksFetches = 0;
  const server: Server = createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') return send({ issuer: url, jwks_uri: `${url}/jwks` });
    if (req.url === '/jwks') {
      jwksFetches++;
      return send({ keys: published });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = (claims: Record<string, unknown>, options: { key?: CryptoKey; kid?: string; expiresIn?: string | number; issuedAt?: number } = {}) =>
    new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'key-1' })
      .setIssuer((claims.iss as string | undefined) ?? url)
      .setAudience((claims.aud as string | undefined) ?? CLIENT_ID)
      .setSubject((claims.sub as string | undefined) ?? 'subject-1')
      .setIssuedAt(options.issuedAt)
      .setExpirationTime(options.expiresIn ?? '5m')
      .sign(options.key ?? signing.privateKey);
  return {
    url,
    sign,
    /** Publishes another key from now on (a rotation), returning it for signing. */
    async rotate(kid: string): Promise<CryptoKey> {
      const next = await generateKeyPair('RS256', { extractable: true });
      published.push({ ...(await exportJWK(next.publicKey)), kid, alg: 'RS256', use: 'sig' });
      return next.privateKey;
    },
    jwksFetches: () => jwksFetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const codeOf = (result: { errors?: { extensions?: { code?: string } }[] }) => result.errors?.[0]?.extensions?.code;

describe('signing in with an identity provider (OpenID Connect)', () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let api: TestServer;
  before(async () => {
    issuer = await startIssuer();
    api = await startTestServer({ env: { OIDC_ISSUER: issuer.url, OIDC_CLIENT_ID: CLIENT_ID, OIDC_KEYS_REFRESH: '1s' } });
  });
  after(async () => {
    await api.close();
    await issuer.close();
  });

  it('makes the account at the first sign-in and finds it at the next', async () => {
    const name = uniqueName('Dana');
    const first = await api.ok(LogInWithIdToken, {
      idToken: await issuer.sign({ sub: `sub-${name}`, preferred_username: name, name: 'Dana D.' }),
    });
    assert.equal(first.logInWithIdToken.user.username, name.toLowerCase());
    assert.equal(first.logInWithIdToken.user.displayName, 'Dana D.');
    assert.equal((await api.ok(IdpMe, {}, first.logInWithIdToken.token)).me?.id, first.logInWithIdToken.user.id);

    const again = await api.ok(LogInWithIdToken, { idToken: await issuer.sign({ sub: `sub-${name}`, preferred_username: 'renamed-there' }) });
    assert.equal(again.logInWithIdToken.user.id, first.logInWithIdToken.user.id, 'same (issuer, sub), same account');

    // Another subject with the same preferred name gets an account of its own, under a unique name.
    const other = await api.ok(LogInWithIdToken, { idToken: await issuer.sign({ sub: `other-${name}`, preferred_username: name }) });
    assert.notEqual(other.logInWithIdToken.user.id, first.logInWithIdToken.user.id);
    assert.match(other.logInWithIdToken.user.username, new RegExp(`^${name.toLowerCase().slice(0, 27)}_[0-9a-f]{4}$`));

    // The provider account has no password: logIn with any password fails.
    const logIn = await api.request(IdpLogIn, { input: { username: name, password: 'parley-decoy-password' } });
    assert.equal(codeOf(logIn), 'UNAUTHENTICATED');
  });

  it('never joins a password account by name or email', async () => {
    const local = await createUser(api, 'local');
    const signedIn = await api.ok(LogInWithIdToken, {
      idToken: await issuer.sign({ sub: `sub-${local.username}`, preferred_username: local.username, email: `${local.username}@example.com` }),
    });
    assert.notEqual(signedIn.logInWithIdToken.user.id, local.id);
    assert.notEqual(signedIn.logInWithIdToken.user.username, local.username);
  });

  it('derives a username from the email when there is no preferred_username', async () => {
    const local = uniqueName('mail');
    const result = await api.ok(LogInWithIdToken, { idToken: await issuer.sign({ sub: `sub-${local}`, email: `${local}@example.com` }) });
    assert.equal(result.logInWithIdToken.user.username, local.toLowerCase());
  });

  it('accepts a key the issuer published after the keys were cached (unknown kid: the keys are fetched again)', async () => {
    await api.ok(LogInWithIdToken, { idToken: await issuer.sign({ sub: 'before-rotation' }) });
    const fetches = issuer.jwksFetches();
    const rotated = await issuer.rotate('key-2');
    // Keys are fetched again for an unknown kid at most once per OIDC_KEYS_REFRESH (1 s here).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const result = await api.ok(LogInWithIdToken, { idToken: await issuer.sign({ sub: 'after-rotation' }, { key: rotated, kid: 'key-2' }) });
    assert.ok(result.logInWithIdToken.token);
    assert.equal(issuer.jwksFetches(), fetches + 1);
  });

  it('refuses tokens that do not verify, each with UNAUTHENTICATED and a reason', async () => {
    const stranger = await generateKeyPair('RS256');
    const unsigned = (() => {
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      return `${encode({ alg: 'none' })}.${encode({ iss: issuer.url, aud: CLIENT_ID, sub: 'x', iat: now, exp: now + 300 })}.`;
    })();
    const cases: [string, string, RegExp][] = [
      ['wrong audience', await issuer.sign({ aud: 'someone-else' }), /another client/],
      ['wrong issuer', await issuer.sign({ iss: 'https://evil.example.com' }), /another issuer/],
      ['expired', await issuer.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 3600 }), /expired/],
      ['bad signature', await issuer.sign({}, { key: stranger.privateKey }), /signature/],
      ['unknown kid', await issuer.sign({}, { key: stranger.privateKey, kid: 'nobody-knows' }), /key the issuer does not publish/],
      ['alg none', unsigned, /unsigned|algorithm/],
      ['not a JWT', 'hello', /well-formed/],
    ];
    for (const [label, idToken, reason] of cases) {
      const result = await api.request(LogInWithIdToken, { idToken });
      assert.equal(codeOf(result), 'UNAUTHENTICATED', label);
      assert.match(result.errors?.[0]?.message ?? '', reason, label);
      assert.equal(result.data, null, label);
    }
  });

  it('deletes a provider account with a fresh ID token of its own', async () => {
    const sub = `deleting-${uniqueName()}`;
    const signedIn = await api.ok(LogInWithIdToken, { idToken: await issuer.sign({ sub }) });
    const token = signedIn.logInWithIdToken.token;
    const attempts: [string, { password?: string; idToken?: string }, string][] = [
      ['a password it does not have', { password: 'correct horse battery' }, 'BAD_USER_INPUT'],
      ['neither', {}, 'BAD_USER_INPUT'],
      ["another subject's token", { idToken: await issuer.sign({ sub: 'someone-else' }) }, 'FORBIDDEN'],
      ['a stale token', { idToken: await issuer.sign({ sub }, { issuedAt: Math.floor(Date.now() / 1000) - 600 }) }, 'BAD_USER_INPUT'],
      ['a token that does not verify', { idToken: await issuer.sign({ sub, aud: 'someone-else' }) }, 'UNAUTHENTICATED'],
    ];
    for (const [label, variables, code] of attempts) {
      assert.equal(codeOf(await api.request(IdpDeleteAccount, variables, token)), code, label);
    }
    const socket = await connectSocket(api.wsUrl, token);
    try {
      const result = await socket.execute(IdpDeleteAccount, { idToken: await issuer.sign({ sub }) }).catch(() => null);
      if (result) assert.equal(result.data?.deleteAccount, true);
      assert.equal((await socket.closed).code, 4403);
    } finally {
      await socket.dispose();
    }
    // The next sign-in of that subject makes a new account.
    const again = await api.ok(LogInWithIdToken, { idToken: await issuer.sign({ sub }) });
    assert.notEqual(again.logInWithIdToken.user.id, signedIn.logInWithIdToken.user.id);
  });

  it('over graphql-ws', async () => {
    const socket = await connectSocket(api.wsUrl);
    try {
      const ok = await socket.execute(LogInWithIdToken, { idToken: await issuer.sign({ sub: 'ws-subject', preferred_username: uniqueName('ws') }) });
      assert.ok(ok.data?.logInWithIdToken.token);
      const refused = await socket.execute(LogInWithIdToken, { idToken: await issuer.sign({ aud: 'someone-else' }) });
      assert.equal(codeOf(refused), 'UNAUTHENTICATED');
    } finally {
      await socket.dispose();
    }
  });
});

describe('without an identity provider', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  it('needs both OIDC_ISSUER and OIDC_CLIENT_ID, or neither', () => {
    assert.throws(() => loadConfig({ OIDC_ISSUER: 'https://idp.example.com' }), ConfigError);
    assert.throws(() => loadConfig({ OIDC_CLIENT_ID: 'parley' }), ConfigError);
    assert.throws(() => loadConfig({ OIDC_ISSUER: 'not a url', OIDC_CLIENT_ID: 'parley' }), /OIDC_ISSUER/);
    const config = loadConfig({ OIDC_ISSUER: 'https://idp.example.com/', OIDC_CLIENT_ID: 'parley', JWT_SECRET: 'x'.repeat(32) });
    assert.deepEqual(config.oidc, { issuer: 'https://idp.example.com', clientId: 'parley', keysRefreshMs: 30_000 });
  });

  it('refuses logInWithIdToken', async () => {
    const result = await api.request(LogInWithIdToken, { idToken: 'anything' });
    assert.equal(codeOf(result), 'UNAUTHENTICATED');
    assert.match(result.errors?.[0]?.message ?? '', /no identity provider/);
  });
});
