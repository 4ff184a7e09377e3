// Tokens from an identity provider: RS256/ES256/EdDSA against its JWKS,
// served by a real HTTP server on a free port (keys made here with jose).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { Auth } from '../../src/auth/jwt.js';
import { ApiError } from '../../src/domain/errors.js';
import { type JwksServer, type ProviderKey, makeKey, signToken, startJwksServer } from '../helpers/jwks.js';

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'audio-api';
const SECRET = 'unit-test-secret-of-at-least-thirty-two-chars';
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function refused(auth: Auth, token: string, message: RegExp) {
  await assert.rejects(auth.verifyToken(token), (e: unknown) => {
    assert.ok(e instanceof ApiError && e.code === 'UNAUTHENTICATED', String(e));
    assert.match(e.message, message);
    return true;
  });
}

describe('Auth with AUTH_JWKS_URL', () => {
  let rsa: ProviderKey, ec: ProviderKey, ed: ProviderKey, stranger: ProviderKey;
  let jwks: JwksServer;
  const claims = { sub: 'idp-user', iss: ISSUER, aud: AUDIENCE };
  const auth = (o: { cooldownMs?: number; retryAfterFailureMs?: number; cacheMaxAgeMs?: number } = {}) =>
    new Auth({ jwtSecret: SECRET, jwksUrl: jwks.url, issuer: ISSUER, audience: AUDIENCE }, { jwks: o });

  before(async () => {
    [rsa, ec, ed, stranger] = await Promise.all([makeKey('RS256', 'rsa-1'), makeKey('ES256', 'ec-1'), makeKey('EdDSA', 'ed-1'), makeKey('RS256', 'rsa-1')]);
    jwks = await startJwksServer([rsa, ec, ed]);
  });
  after(() => jwks?.stop());

  it('accepts RS256, ES256 and EdDSA tokens signed with the published keys, and HS256 with the secret beside them', async () => {
    const a = auth();
    for (const key of [rsa, ec, ed]) assert.equal((await a.verifyToken(await signToken(key, claims))).id, 'idp-user', key.alg);
    assert.equal((await a.verifyToken(await a.sign('hs-user', 60))).id, 'hs-user');
  });

  it('refuses wrong issuer, wrong audience, expired, unknown kid, alg none, HS256 signed with the public key, and another key set', async () => {
    const a = auth();
    const now = Math.floor(Date.now() / 1000);
    await refused(a, await signToken(rsa, { ...claims, iss: 'https://evil.example/' }), /`iss` claim is not accepted/);
    await refused(a, await signToken(rsa, { ...claims, aud: 'another-api' }), /`aud` claim is not accepted/);
    await refused(a, await signToken(rsa, { ...claims, exp: now - 60 }), /expired/);
    await refused(a, await signToken(rsa, claims, { kid: 'no-such-kid' }), /invalid/);
    await refused(a, `${b64({ alg: 'none', kid: 'rsa-1' })}.${b64({ ...claims, exp: now + 60 })}.`, /invalid/);
    // The classic confusion: the RSA public key (as published) used as an HMAC secret.
    const publicAsSecret = new TextEncoder().encode(JSON.stringify(rsa.publicJwk));
    const confused = await new SignJWT({ ...claims, exp: now + 60 }).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(publicAsSecret);
    await refused(a, confused, /invalid/);
    const pemish = new TextEncoder().encode(rsa.publicJwk.n!);
    await refused(a, await new SignJWT({ ...claims, exp: now + 60 }).setProtectedHeader({ alg: 'HS256' }).sign(pemish), /invalid/);
    // Same kid, another provider's key pair.
    await refused(a, await signToken(stranger, claims), /invalid/);
  });

  it('refuses HS384 and HS512, even signed with the HS256 secret', async () => {
    const a = auth();
    const now = Math.floor(Date.now() / 1000);
    for (const alg of ['HS384', 'HS512']) {
      const t = await new SignJWT({ ...claims, exp: now + 60 }).setProtectedHeader({ alg }).sign(new TextEncoder().encode(SECRET + SECRET));
      await refused(a, t, /invalid/);
    }
  });

  it('picks up a rotated key (new kid) without a restart, fetching again only on an unknown kid', async () => {
    const a = auth({ cooldownMs: 0 });
    await a.verifyToken(await signToken(rsa, claims));
    const before = jwks.fetches;
    await a.verifyToken(await signToken(ec, claims));
    assert.equal(jwks.fetches, before, 'known kids are served from the cached set');
    const rotated = await makeKey('RS256', 'rsa-2');
    jwks.publish([rotated, ec, ed]);
    assert.equal((await a.verifyToken(await signToken(rotated, claims))).id, 'idp-user');
    assert.equal(jwks.fetches, before + 1);
    jwks.publish([rsa, ec, ed]);
  });

  it('fetches at most once per cooldown for a flood of unknown kids', async () => {
    const a = auth({ cooldownMs: 60_000 });
    await a.verifyToken(await signToken(rsa, claims));
    const before = jwks.fetches;
    for (let i = 0; i < 20; i++) await refused(a, await signToken(rsa, claims, { kid: `flood-${i}` }), /invalid/);
    assert.equal(jwks.fetches, before);
  });

  it('answers UNAUTHENTICATED saying the keys could not be fetched while the JWKS is down, and recovers by itself', async () => {
    const a = auth({ retryAfterFailureMs: 0 });
    await jwks.down();
    try {
      await refused(a, await signToken(rsa, claims), /signing keys could not be fetched/);
      assert.equal(a.keySet!.available, false);
      assert.equal((await a.verifyToken(await a.sign('hs-user', 60))).id, 'hs-user', 'HS256 is unaffected');
    } finally {
      await jwks.up();
    }
    assert.equal((await a.verifyToken(await signToken(rsa, claims))).id, 'idp-user');
    assert.equal(a.keySet!.available, true);
  });

  it('keeps verifying with the last keys it fetched while the JWKS is down (stale if error)', async () => {
    const a = auth({ cacheMaxAgeMs: 0, retryAfterFailureMs: 0 });
    await a.verifyToken(await signToken(rsa, { ...claims, sub: 'before' }));
    await jwks.down();
    try {
      assert.equal((await a.verifyToken(await signToken(rsa, { ...claims, sub: 'during' }))).id, 'during');
      assert.equal(a.keySet!.available, false);
      await refused(a, await signToken(rsa, claims, { kid: 'published-during-outage' }), /signing keys could not be fetched/);
    } finally {
      await jwks.up();
    }
  });

  it('does not retry a failed fetch on every request', async () => {
    const a = auth({ retryAfterFailureMs: 60_000 });
    await jwks.down();
    try {
      await refused(a, await signToken(rsa, claims), /could not be fetched/);
      await jwks.up();
      const before = jwks.fetches;
      await refused(a, await signToken(rsa, claims), /could not be fetched/);
      assert.equal(jwks.fetches, before, 'within the back-off, no new fetch');
    } finally {
      await jwks.up().catch(() => {});
    }
  });

  it('verifies a cached provider token in well under 0.2 ms', async () => {
    const a = auth();
    const token = await signToken(rsa, claims);
    await a.verifyToken(token);
    const n = 2000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await a.verifyToken(token);
    const perCallMs = Number(process.hrtime.bigint() - started) / 1e6 / n;
    assert.ok(perCallMs < 0.2, `${perCallMs.toFixed(4)} ms per verification`);
  });
});
