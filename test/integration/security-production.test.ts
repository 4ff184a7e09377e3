// NODE_ENV=production: no secrets by default, no development doors, no
// internals in errors, no introspection, only listed browser origins.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { COMPLETE, PREPARE, startTestApp, type TestApp } from '../helpers/app.js';

const MAIN = new URL('../../src/main.js', import.meta.url).pathname;
const INPUT = { filename: 'prod.mp3', size: 1000, contentType: 'audio/mpeg' };
/** What an error body must never contain: stacks, SQL, table names, paths, storage keys and endpoints. */
const LEAKS = [/stack/i, /\bselect\b/i, /\bfrom\b.*"?audio_asset/i, /audio_asset/, /\/tmp/, /uploads\//, /\bat .*\.js:\d+/, /ECONNREFUSED/, /127\.0\.0\.1:\d+/, /node_modules/];

function assertNoLeak(body: string) {
  for (const leak of LEAKS) assert.doesNotMatch(body, leak, `leaked ${leak}: ${body.slice(0, 500)}`);
}

describe('production mode', () => {
  it('refuses to start without AUTH_JWT_SECRET or AUTH_JWKS_URL, saying why', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.notEqual(code, 0);
    assert.match(output, /AUTH_JWT_SECRET or AUTH_JWKS_URL: required when NODE_ENV=production/);
    assert.doesNotMatch(output, /GraphQL API ready|Dev token/);
  });

  describe('a production API', () => {
    let t: TestApp;
    let token: string;
    before(async () => {
      t = await startTestApp({ role: 'api', env: { NODE_ENV: 'production', CORS_ALLOWED_ORIGINS: 'https://app.example' } });
      token = await t.token('prod-user');
    });
    after(async () => {
      await t?.stop();
    });

    it('hands out no development token (GET /dev/token is 404)', async () => {
      const res = await fetch(`${t.app.url}/dev/token`);
      assert.equal(res.status, 404);
      assert.doesNotMatch(await res.text(), /eyJ/);
    });

    it('refuses introspection over HTTP and over WebSocket', async () => {
      const r = await t.gql(`{ __schema { types { name } } }`, {}, token);
      assert.equal(r.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
      const client = t.ws(token);
      const result = await new Promise<any>((resolve) => {
        client.subscribe({ query: `{ __type(name: "AudioAsset") { fields { name } } }` }, { next: resolve, error: resolve, complete: () => {} });
      });
      assert.ok(Array.isArray(result) && /introspection/i.test(result[0].message), JSON.stringify(result));
    });

    it('gives no "Did you mean" field suggestions to piece the schema together', async () => {
      const r = await t.gql(`{ asset { idd } assetz { x } }`, {}, token);
      assert.ok(r.errors && r.errors.length > 0);
      assert.doesNotMatch(JSON.stringify(r.errors), /Did you mean/);
      const client = t.ws(token);
      const result = await new Promise<any>((resolve) => client.subscribe({ query: `{ assetz { x } }` }, { next: resolve, error: resolve, complete: () => {} }));
      assert.doesNotMatch(JSON.stringify(result), /Did you mean/);
    });

    it('serves no explorer to a browser', async () => {
      const res = await fetch(`${t.app.url}/graphql`, { headers: { accept: 'text/html' } });
      assert.doesNotMatch(await res.text(), /graphiql|sandbox|embeddable/i);
    });

    it('answers a malformed JSON body with a plain 400, no stack', async () => {
      const res = await fetch(`${t.app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
      assert.equal(res.status, 400);
      assertNoLeak(await res.text());
    });

    it('lets only the listed origin in (HTTP and WebSocket); localhost is nothing special in production', async () => {
      const call = (origin: string) =>
        fetch(`${t.app.url}/graphql`, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
      assert.equal((await call('https://app.example')).headers.get('access-control-allow-origin'), 'https://app.example');
      assert.equal((await call('https://evil.example')).status, 403);
      assert.equal((await call('http://localhost:5173')).status, 403);
      const upgrade = (origin: string) =>
        new Promise<number>((resolve) => {
          const ws = new WebSocket(`${t.app.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers: { origin } });
          ws.once('open', () => (ws.close(), resolve(101)));
          ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
          ws.once('error', () => {});
        });
      assert.equal(await upgrade('https://app.example'), 101);
      assert.equal(await upgrade('http://localhost:5173'), 403);
    });

    it('hides SQL and table names when the database breaks under a query', async () => {
      const admin = new pg.Client({ connectionString: t.db.url });
      await admin.connect();
      try {
        await admin.query('alter table audio_asset rename to audio_asset_gone');
        const res = await fetch(`${t.app.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: `{ assets { nodes { id } } }` }),
        });
        const body = await res.text();
        assert.equal(JSON.parse(body).errors[0].extensions.code, 'INTERNAL_SERVER_ERROR');
        assert.equal(JSON.parse(body).errors[0].message, 'Internal server error');
        assertNoLeak(body);
      } finally {
        await admin.query('alter table audio_asset_gone rename to audio_asset');
        await admin.end();
      }
    });

    // Last: it stops the storage.
    it('answers SERVICE_UNAVAILABLE and hides storage keys, endpoints and paths when the storage is down', async () => {
      const prepared = await t.gql(PREPARE, { input: INPUT }, token);
      const id = prepared.data.prepareAudioUpload.asset.id as string;
      await t.s3.stop();
      const body = JSON.stringify(await t.gql(COMPLETE, { id }, token));
      // Unreachable storage is a clear, retryable SERVICE_UNAVAILABLE, with nothing of the internals.
      assert.match(body, /SERVICE_UNAVAILABLE/);
      assertNoLeak(body);
      const client = createClient({ url: `${t.app.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
      try {
        const errors = await new Promise<any>((resolve) => {
          client.subscribe({ query: `mutation($id: ID!) { completeAudioUpload(input: { id: $id }) { id } }`, variables: { id } }, { next: resolve, error: resolve, complete: () => {} });
        });
        const wsBody = JSON.stringify(errors);
        assert.match(wsBody, /SERVICE_UNAVAILABLE/);
        assertNoLeak(wsBody);
      } finally {
        await client.dispose();
      }
    });
  });
});
