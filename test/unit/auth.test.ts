// Forged and oversized tokens: everything but a well-formed HS256 token with
// a usable owner claim, signed with our secret, with an exp not passed, is
// UNAUTHENTICATED. (Identity providers' tokens: auth-jwks.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { Auth, MAX_AUTHORIZATION_CHARS } from '../../src/auth/jwt.js';
import { ApiError } from '../../src/domain/errors.js';

const SECRET = 'unit-test-secret-of-at-least-thirty-two-chars';
const auth = new Auth(SECRET);
const key = (s: string) => new TextEncoder().encode(s);
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function refused(header: string | null, message?: RegExp) {
  await assert.rejects(auth.verifyAuthorization(header), (e: unknown) => {
    assert.ok(e instanceof ApiError && e.code === 'UNAUTHENTICATED', String(e));
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('Auth.verifyAuthorization', () => {
  it('accepts our own token and returns its sub and expiry', async () => {
    const v = await auth.verifyAuthorization(`Bearer ${await auth.sign('alice', 60)}`);
    assert.equal(v.id, 'alice');
    assert.ok(v.expiresAt! > Date.now() / 1000);
  });

  it('refuses alg "none", another algorithm, and another secret', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(`Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', exp: now + 60 })}.`);
    const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject('mallory').sign(key(SECRET + SECRET));
    await refused(`Bearer ${hs512}`);
    await refused(`Bearer ${await new Auth('another-secret-of-at-least-thirty-two-chars').sign('mallory')}`);
  });

  it('refuses an expired token, a token without a usable sub, and a malformed header', async () => {
    await refused(`Bearer ${await auth.sign('bob', -5)}`, /expired/);
    const exp = Math.floor(Date.now() / 1000) + 60;
    await refused(`Bearer ${await new SignJWT({ exp }).setProtectedHeader({ alg: 'HS256' }).sign(key(SECRET))}`, /sub/);
    await refused(`Bearer ${await auth.sign('x'.repeat(201))}`, /sub/);
    for (const h of [null, '', 'Basic abc', 'Bearer', 'Bearer a b']) await refused(h);
  });

  it(`refuses a header over ${MAX_AUTHORIZATION_CHARS} characters without decoding it`, async () => {
    await refused(`Bearer ${'a'.repeat(MAX_AUTHORIZATION_CHARS)}`, /invalid/);
  });

  it('answers any string with a viewer or UNAUTHENTICATED, nothing else (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.string().map((s) => `Bearer ${s}`), fc.base64String().map((s) => `Bearer ${s}.${s}.${s}`)), async (h) => {
        await refused(h);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Auth: the verified-token cache', () => {
  /** An Auth on a clock the test moves, counting the verifications that reach jose. */
  function clocked(options: { cacheEntries?: number } = {}) {
    const clock = { ms: Date.now() };
    const a = new Auth(SECRET, { ...options, now: () => clock.ms });
    return { a, clock };
  }

  it('answers a repeated token from the cache with the same viewer', async () => {
    const { a } = clocked();
    const token = await a.sign('carol', 60);
    const first = await a.verifyToken(token);
    const second = await a.verifyToken(token);
    assert.equal(second, first, 'the second answer is the cached viewer');
    assert.deepEqual(second, { id: 'carol', expiresAt: first.expiresAt });
    assert.ok(Object.isFrozen(second), 'a shared viewer cannot be changed by one request');
  });

  it('refuses a cached token once its exp has passed, and keeps refusing it', async () => {
    const { a, clock } = clocked();
    const token = await a.sign('dave', 60);
    const v = await a.verifyToken(token);
    // The clock tolerance (5 s by default) applies to cached tokens as it does to jose.
    clock.ms = (v.expiresAt + 5) * 1000 - 1;
    assert.equal((await a.verifyToken(token)).id, 'dave', 'still valid one millisecond before exp + tolerance');
    clock.ms = (v.expiresAt + 5) * 1000;
    await assert.rejects(a.verifyToken(token), (e: unknown) => e instanceof ApiError && e.code === 'UNAUTHENTICATED' && /expired/.test(e.message));
    await assert.rejects(a.verifyToken(token), /expired/);
  });

  it('never caches a refusal: a forged or expired token is refused every time', async () => {
    const { a } = clocked();
    const forged = await new Auth('another-secret-of-at-least-thirty-two-chars').sign('mallory');
    await assert.rejects(a.verifyToken(forged), /invalid/);
    await assert.rejects(a.verifyToken(forged), /invalid/);
    const expired = await a.sign('erin', -5);
    await assert.rejects(a.verifyToken(expired), /expired/);
    await assert.rejects(a.verifyToken(expired), /expired/);
  });

  it('does not let a cached token vouch for a tampered copy of it', async () => {
    const { a } = clocked();
    const token = await a.sign('frank', 60);
    await a.verifyToken(token);
    const [h, , s] = token.split('.');
    const other = `${h}.${b64({ sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 60 })}.${s}`;
    await assert.rejects(a.verifyToken(other), /invalid/);
  });

  it('keeps at most cacheEntries tokens, dropping the least recently used', async () => {
    const { a } = clocked({ cacheEntries: 2 });
    const [t1, t2, t3] = await Promise.all(['u1', 'u2', 'u3'].map((u) => a.sign(u, 60)));
    const v1 = await a.verifyToken(t1!);
    const v2 = await a.verifyToken(t2!);
    assert.equal(await a.verifyToken(t1!), v1, 't1 is now the most recent');
    await a.verifyToken(t3!); // evicts t2
    assert.equal(await a.verifyToken(t1!), v1);
    const again = await a.verifyToken(t2!);
    assert.notEqual(again, v2, 't2 was verified afresh');
    assert.deepEqual(again, v2);
  });

  it('refuses a token without exp, however well signed (a token valid for ever cannot be revoked)', async () => {
    const { a } = clocked();
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('gina').sign(key(SECRET));
    await assert.rejects(a.verifyToken(token), /`exp` claim is missing/);
  });

  it('tolerates a few seconds of clock difference on exp, nbf and iat, and no more', async () => {
    const { a, clock } = clocked();
    const now = Math.floor(clock.ms / 1000);
    const signed = (claims: Record<string, number>) => new SignJWT({ sub: 'hal', exp: now + 60, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(key(SECRET));
    assert.equal((await a.verifyToken(await signed({ exp: now - 3 }))).id, 'hal', 'expired 3 s ago by our clock');
    assert.equal((await a.verifyToken(await signed({ nbf: now + 3 }))).id, 'hal', 'valid from 3 s ahead');
    await assert.rejects(a.verifyToken(await signed({ exp: now - 30 })), /expired/);
    await assert.rejects(a.verifyToken(await signed({ nbf: now + 30 })), /nbf/);
  });
});

describe('Auth: issuer, audience and owner claim', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const hs = (claims: Record<string, unknown>) => new SignJWT({ exp: now() + 60, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(key(SECRET));

  it('checks iss and aud when they are set, and names the claim that failed', async () => {
    const a = new Auth({ jwtSecret: SECRET, issuer: 'https://id.example/', audience: 'audio-api' });
    assert.equal((await a.verifyToken(await hs({ sub: 'u', iss: 'https://id.example/', aud: 'audio-api' }))).id, 'u');
    assert.equal((await a.verifyToken(await hs({ sub: 'u', iss: 'https://id.example/', aud: ['other', 'audio-api'] }))).id, 'u');
    await assert.rejects(a.verifyToken(await hs({ sub: 'u', iss: 'https://evil.example/', aud: 'audio-api' })), /`iss` claim is not accepted/);
    await assert.rejects(a.verifyToken(await hs({ sub: 'u', iss: 'https://id.example/', aud: 'other' })), /`aud` claim is not accepted/);
    await assert.rejects(a.verifyToken(await hs({ sub: 'u', aud: 'audio-api' })), /`iss` claim is missing/);
    assert.equal((await a.verifyToken(await a.sign('minted', 60))).id, 'minted', 'sign() sets what verify requires');
  });

  it('takes the owner from AUTH_OWNER_CLAIM, refusing a token without it', async () => {
    const a = new Auth({ jwtSecret: SECRET, ownerClaim: 'https://example.com/user_id' });
    assert.equal((await a.verifyToken(await hs({ sub: 'ignored', 'https://example.com/user_id': 'u-42' }))).id, 'u-42');
    await assert.rejects(a.verifyToken(await hs({ sub: 'only-sub' })), /no usable `https:\/\/example.com\/user_id` claim/);
    await assert.rejects(a.verifyToken(await hs({ 'https://example.com/user_id': 42 })), /no usable/);
  });

  it('refuses HS256 altogether when only a JWKS is configured', async () => {
    const a = new Auth({ jwtSecret: null, jwksUrl: 'http://127.0.0.1:9/jwks.json' });
    await assert.rejects(a.verifyToken(await hs({ sub: 'u' })), /invalid/);
    await assert.rejects(a.sign('u'), /no HS256 secret/);
  });
});
