// Forged and oversized tokens: everything but a well-formed HS256 token with
// a usable `sub`, signed with our secret and not expired, is UNAUTHENTICATED.
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
    await refused(`Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(key(SECRET))}`, /sub/);
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
