// Authentication end to end: an identity provider's tokens (a JWKS served by
// a real HTTP server, keys made with jose) on HTTP and graphql-ws, start-up
// refusal without a real way to verify tokens, and development tokens only
// for requests addressed to a loopback name.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { type JwksServer, type ProviderKey, makeKey, signToken, startJwksServer } from '../helpers/jwks.js';
import { waitFor } from '../helpers/processes.js';
import { type TestDatabase, type TestS3, testDatabase, testS3 } from '../helpers/services.js';

const MAIN = new URL('../../src/main.js', import.meta.url).pathname;
const ISSUER = 'https://tenant.id.example.test/';
const AUDIENCE = 'https://audio.example.test';
const QUERY = '{ assets { nodes { id } } }';
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** The first error code of an HTTP GraphQL call with this token, or 'ok'. */
async function httpOutcome(t: TestApp, token: string): Promise<{ code: string; message: string }> {
  const r = await t.gql(QUERY, {}, token);
  return r.errors ? { code: String(r.errors[0]!.extensions?.code), message: r.errors[0]!.message } : { code: 'ok', message: '' };
}

/** connection_init with this token: 'ack', or the close code. */
function wsOutcome(t: TestApp, token: string): Promise<'ack' | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${t.app.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    ws.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') {
        resolve('ack');
        ws.close();
      }
    });
    ws.once('close', (code) => resolve(code));
    ws.once('error', reject);
  });
}

describe('tokens from an identity provider (AUTH_JWKS_URL)', () => {
  let jwks: JwksServer;
  let rsa: ProviderKey, ec: ProviderKey, stranger: ProviderKey;
  let t: TestApp;
  const claims = { sub: 'idp-user', iss: ISSUER, aud: AUDIENCE };

  before(async () => {
    [rsa, ec, stranger] = await Promise.all([makeKey('RS256', 'key-1'), makeKey('ES256', 'key-2'), makeKey('RS256', 'key-1')]);
    jwks = await startJwksServer([rsa, ec]);
    t = await startTestApp({
      role: 'api',
      // A 1 s cooldown: a new kid is looked up within a second of the last fetch, not 30.
      env: { AUTH_JWKS_URL: jwks.url, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, AUTH_CLOCK_TOLERANCE_SECONDS: '1', AUTH_JWKS_COOLDOWN_SECONDS: '1' },
    });
  });
  after(async () => {
    await t?.stop();
    await jwks?.stop();
  });

  it('accepts valid RS256 and ES256 tokens on HTTP and WebSocket, owned by their sub', async () => {
    for (const key of [rsa, ec]) {
      const token = await signToken(key, claims);
      assert.deepEqual(await httpOutcome(t, token), { code: 'ok', message: '' }, key.alg);
      assert.equal(await wsOutcome(t, token), 'ack', key.alg);
    }
    const prepared = await t.gql(
      `mutation { prepareAudioUpload(input: { filename: "a.mp3", size: 10, contentType: "audio/mpeg" }) { asset { id } } }`,
      {},
      await signToken(rsa, { ...claims, sub: 'owner-from-idp' }),
    );
    assert.ok(prepared.data, JSON.stringify(prepared.errors));
    const mine = await t.gql(QUERY, {}, await signToken(ec, { ...claims, sub: 'owner-from-idp' }));
    assert.equal(mine.data.assets.nodes.length, 1, 'the same sub owns it, whichever key signed');
  });

  it('refuses wrong issuer, wrong audience, expired, unknown kid, alg none, HS256 with the public key and another key set: UNAUTHENTICATED on HTTP, 4403 on WebSocket', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad: Record<string, string> = {
      'wrong issuer': await signToken(rsa, { ...claims, iss: 'https://evil.example/' }),
      'wrong audience': await signToken(rsa, { ...claims, aud: 'https://other.example' }),
      expired: await signToken(rsa, { ...claims, exp: now - 120 }),
      'unknown kid': await signToken(rsa, claims, { kid: 'never-published' }),
      'alg none': `${b64({ alg: 'none', kid: 'key-1' })}.${b64({ ...claims, exp: now + 60 })}.`,
      'HS256 with the public key': await new SignJWT({ ...claims, exp: now + 60 })
        .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
        .sign(new TextEncoder().encode(JSON.stringify(rsa.publicJwk))),
      'another key set': await signToken(stranger, claims),
    };
    for (const [what, token] of Object.entries(bad)) {
      assert.equal((await httpOutcome(t, token)).code, 'UNAUTHENTICATED', what);
      assert.equal(await wsOutcome(t, token), 4403, what);
    }
  });

  it('accepts a rotated key (new kid published) without a restart', async () => {
    const rotated = await makeKey('ES256', 'key-3');
    jwks.publish([rotated, rsa, ec]);
    await new Promise((r) => setTimeout(r, 1100)); // past the cooldown of the last fetch (the unknown kid above)
    const token = await signToken(rotated, claims);
    assert.equal((await httpOutcome(t, token)).code, 'ok');
    assert.equal(await wsOutcome(t, token), 'ack');
  });

  it('closes a socket with 4403 when its provider token expires', async () => {
    const token = await signToken(rsa, { ...claims, exp: Math.floor(Date.now() / 1000) + 2 });
    const ws = new WebSocket(`${t.app.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: String(reason) })));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    const started = Date.now();
    const { code, reason } = await closed;
    assert.equal(code, 4403);
    assert.match(reason, /expired/);
    // exp is 1-2 s ahead (whole seconds), plus the 1 s tolerance.
    assert.ok(Date.now() - started < 4_500, `closed after ${Date.now() - started} ms`);
  });

  it('keeps HS256 tokens of AUTH_JWT_SECRET working beside the provider', async () => {
    const token = await t.token('hs-user');
    assert.equal((await httpOutcome(t, token)).code, 'ok');
    assert.equal(await wsOutcome(t, token), 'ack');
  });
});

describe('the owner from another claim (AUTH_OWNER_CLAIM)', () => {
  const CLAIM = 'https://audio.example.test/user_id';
  let jwks: JwksServer;
  let key: ProviderKey;
  let t: TestApp;
  before(async () => {
    key = await makeKey('RS256', 'key-1');
    jwks = await startJwksServer([key]);
    t = await startTestApp({ role: 'api', env: { AUTH_JWKS_URL: jwks.url, AUTH_OWNER_CLAIM: CLAIM } });
  });
  after(async () => {
    await t?.stop();
    await jwks?.stop();
  });

  it('owns assets by that claim, not by sub, on HTTP and WebSocket, and refuses a token without it', async () => {
    const PREPARE = `mutation { prepareAudioUpload(input: { filename: "a.mp3", size: 10, contentType: "audio/mpeg" }) { asset { id } } }`;
    // One user, as the provider names it, behind two different subs (two sessions, two clients).
    const prepared = await t.gql(PREPARE, {}, await signToken(key, { sub: 'session-1', [CLAIM]: 'user-42' }));
    assert.ok(prepared.data, JSON.stringify(prepared.errors));
    const same = await t.gql(QUERY, {}, await signToken(key, { sub: 'session-2', [CLAIM]: 'user-42' }));
    assert.equal(same.data.assets.nodes.length, 1, 'the claim owns it, whatever the sub');
    const other = await t.gql(QUERY, {}, await signToken(key, { sub: 'session-1', [CLAIM]: 'user-7' }));
    assert.equal(other.data.assets.nodes.length, 0, 'the same sub with another claim owns nothing of it');
    const without = await signToken(key, { sub: 'user-42' });
    assert.equal((await httpOutcome(t, without)).code, 'UNAUTHENTICATED');
    assert.equal(await wsOutcome(t, without), 4403);
    assert.equal(await wsOutcome(t, await signToken(key, { sub: 'x', [CLAIM]: 'user-42' })), 'ack');
  });
});

describe('an identity provider unreachable at start-up', () => {
  let jwks: JwksServer;
  let key: ProviderKey;
  let t: TestApp;
  before(async () => {
    key = await makeKey('RS256', 'k');
    jwks = await startJwksServer([key]);
    await jwks.down();
    t = await startTestApp({ role: 'api', env: { AUTH_JWKS_URL: jwks.url } });
  });
  after(async () => {
    await t?.stop();
    await jwks?.stop();
  });

  it('starts, says so on /healthz, refuses provider tokens with UNAUTHENTICATED (never a 500), and recovers by itself', async () => {
    const token = await signToken(key, { sub: 'early-bird' });
    const health = await fetch(`${t.app.url}/healthz`);
    assert.equal(health.status, 200, 'PostgreSQL, storage and the queue answer: the node still serves');
    assert.deepEqual(await health.json(), { status: 'degraded' });
    const refused = await t.gql(QUERY, {}, token);
    assert.equal(refused.status, 200);
    assert.equal(refused.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.match(refused.errors![0]!.message, /signing keys could not be fetched/);
    assert.equal(await wsOutcome(t, token), 4403);
    assert.equal((await httpOutcome(t, await t.token('hs-user'))).code, 'ok', 'HS256 still works');

    await jwks.up();
    await waitFor('provider tokens accepted again', async () => (await httpOutcome(t, token)).code === 'ok', 15_000);
    await waitFor('/healthz ok again', async () => ((await (await fetch(`${t.app.url}/healthz`)).json()) as { status: string }).status === 'ok', 15_000);
  });
});

describe('start-up fails closed', () => {
  const run = promisify(execFile);
  const start = (env: Record<string, string>, role = 'all') =>
    run(process.execPath, [MAIN, '--role', role], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 }).then(
      (r) => ({ code: 0, stderr: r.stderr, stdout: r.stdout }),
      (e) => ({ code: e.code as number, stderr: String(e.stderr), stdout: String(e.stdout) }),
    );

  it('refuses to start an API without AUTH_JWT_SECRET or AUTH_JWKS_URL on external PostgreSQL/S3 or a non-loopback HOST, whatever NODE_ENV says', async () => {
    const cases: Record<string, string>[] = [
      { DATABASE_URL: 'postgres://db.example/audio', S3_ENDPOINT: 'http://minio.example:9000' },
      { DATABASE_URL: 'postgres://db.example/audio', NODE_ENV: 'development' },
      { HOST: '0.0.0.0' },
      { NODE_ENV: 'production' },
    ];
    for (const env of cases) {
      const r = await start(env);
      assert.equal(r.code, 2, JSON.stringify(env));
      const line = r.stderr.split('\n').find((l) => l.includes('AUTH_JWT_SECRET or AUTH_JWKS_URL'));
      assert.ok(line, r.stderr);
      assert.match(line, /required when .* \(the development secret is public/);
      assert.doesNotMatch(r.stdout + r.stderr, /Dev token|Bearer ey/);
    }
  });
});

describe('development tokens only for a loopback Host', () => {
  let t: TestApp;
  let db: TestDatabase;
  let s3: TestS3;
  before(async () => {
    [db, s3] = await Promise.all([testDatabase(), testS3()]);
    t = await startTestApp({ role: 'api', developmentAuth: true, db, s3 });
  });
  after(async () => {
    await t?.stop();
    await s3?.stop();
    await db?.drop();
  });

  /** GET /dev/token with this Host header (fetch would not let a page choose it; a rebound DNS name does). */
  const devToken = (host: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get(`${t.app.url}/dev/token`, { headers: { host } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.once('error', reject);
    });

  it('hands a token to requests addressed to localhost, 127.0.0.1 or [::1], and nothing to any other name (DNS rebinding)', async () => {
    const port = t.app.port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
      const r = await devToken(host);
      assert.equal(r.status, 200, host);
      const token = JSON.parse(r.body).token as string;
      assert.equal((await httpOutcome(t, token)).code, 'ok');
    }
    for (const host of [`evil.example:${port}`, `127.0.0.1.nip.io:${port}`, `localhost.evil.example:${port}`, `10.0.0.1:${port}`]) {
      const r = await devToken(host);
      assert.equal(r.status, 403, `${host}: ${r.body}`);
      assert.doesNotMatch(r.body, /eyJ/);
    }
  });
});
