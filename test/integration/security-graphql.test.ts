// Hostile HTTP clients against the real GraphQL server: each test is one
// attack and the limit that stops it (SECURITY.md, "GraphQL over HTTP").
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getIntrospectionQuery } from 'graphql';
import { PREPARE, startTestApp, type TestApp } from '../helpers/app.js';

const INPUT = { filename: 'a.mp3', size: 1000, contentType: 'audio/mpeg' };

describe('GraphQL over HTTP under attack', () => {
  let t: TestApp;
  let token: string;
  before(async () => {
    t = await startTestApp({ role: 'api' });
    token = await t.token('http-attacker');
  });
  after(async () => {
    await t?.stop();
  });

  /** A raw POST, so status, headers and body can be checked as sent. */
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${t.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
      body,
    });
  const codeOf = async (res: Response) => ((await res.json()) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;

  it('refuses a query nested 50 deep before execution', async () => {
    const query = `{ __schema { types { ${'fields { type { '.repeat(24)}name${' } }'.repeat(24)} } } }`;
    const r = await t.gql(query, {}, token);
    assert.equal(r.status, 400);
    assert.equal(r.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.match(r.errors![0]!.message, /depth \d+ is over the limit of 15/);
    assert.equal(r.data, null);
  });

  it('still answers the introspection query the explorers send (development)', async () => {
    const r = await t.gql(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }), {}, token);
    assert.equal(r.status, 200, JSON.stringify(r.errors));
    assert.ok((r.data as { __schema: unknown }).__schema);
  });

  it('refuses a fragment cycle as invalid, with a 400 and not a crash', async () => {
    const query = `query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }`;
    const r = await t.gql(query, {}, token);
    assert.equal(r.status, 400);
    assert.equal(r.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses thousands of aliased fields before execution: by size, else by token count', async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i.toString(36)}:__typename`).join(' ')} }`;
    const huge = await t.gql(aliases(5000), {}, token);
    assert.equal(huge.status, 413);
    assert.equal(huge.errors?.[0]?.extensions?.code, 'PAYLOAD_TOO_LARGE');
    const dense = await t.gql(aliases(1800), {}, token); // under 32 KiB, 5,400 tokens
    assert.equal(dense.status, 400);
    assert.equal(dense.errors?.[0]?.extensions?.code, 'GRAPHQL_PARSE_FAILED');
    assert.match(dense.errors![0]!.message, /more tha[nt] 5000 tokens/);
  });

  it('refuses 300 aliased prepareAudioUpload mutations before any of them runs (complexity)', async () => {
    const victim = await t.token('alias-batcher');
    const fields = Array.from({ length: 300 }, (_, i) => `m${i}: prepareAudioUpload(input: $input) { asset { id } }`);
    const r = await t.gql(`mutation($input: PrepareAudioUploadInput!) { ${fields.join(' ')} }`, { input: INPUT }, victim);
    assert.equal(r.status, 400);
    assert.equal(r.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.match(r.errors![0]!.message, /complexity \d+ is over the limit of 5000/);
    const left = await t.gql(`{ assets { nodes { id } } }`, {}, victim);
    assert.deepEqual(left.data, { assets: { nodes: [] } }, 'no mutation may have run');
  });

  it('refuses four aliased pages of 100 assets with waveforms (complexity), counted with the variables', async () => {
    const page = (n: number) => `p${n}: assets(first: $first) { nodes { id url waveform(bars: 1024) } }`;
    const query = `query($first: Int!) { ${[1, 2, 3, 4].map(page).join(' ')} }`;
    const r = await t.gql(query, { first: 100 }, token);
    assert.equal(r.status, 400);
    assert.match(r.errors![0]!.message, /complexity \d+ is over the limit/);
    const small = await t.gql(query, { first: 5 }, token);
    assert.equal(small.errors, undefined, JSON.stringify(small.errors));
  });

  it('refuses a small document that spreads fragments 2^30 times over, in well under a second', async () => {
    const defs = Array.from({ length: 30 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
    const started = Date.now();
    const r = await t.gql(`{ ...F0 } ${defs.join(' ')} fragment F30 on Query { __typename }`, {}, token);
    assert.equal(r.status, 400);
    assert.match(r.errors![0]!.message, /maximum allowed number of nodes/);
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
  });

  it("keeps the web app's largest query (100 assets, every field) within the budget", async () => {
    const r = await t.gql(
      `query($first: Int!) { assets(first: $first) { nodes { ...F } pageInfo { hasNextPage endCursor } } }
       fragment F on AudioAsset { id status filename size progress url duration waveform(bars: 64) error { code message } createdAt }`,
      { first: 100 },
      token,
    );
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  });

  // decodeCursor takes only strict UUIDs and dates PostgreSQL can store.
  it('answers a forged pagination cursor with BAD_USER_INPUT, never an internal error', async () => {
    const forge = (s: string) => Buffer.from(s).toString('base64url');
    for (const after of [forge(`2020-01-01T00:00:00.000Z|${'-'.repeat(36)}`), forge('-271821-04-20T00:00:00.000Z|00000000-0000-4000-8000-000000000000')]) {
      const r = await t.gql(`query($after: String) { assets(after: $after) { nodes { id } } }`, { after }, token);
      assert.equal(r.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(r.errors));
    }
  });

  // A content type's parameters are checked too, not only the part before ';'.
  it('refuses a declared content type with a line break or of 100 KB as BAD_USER_INPUT', async () => {
    for (const contentType of ['audio/mpeg;\r\nx-amz-acl: public-read', `audio/mpeg; x=${'a'.repeat(100_000)}`]) {
      const r = await t.gql(PREPARE, { input: { ...INPUT, contentType } }, token);
      assert.equal(r.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', contentType.slice(0, 40));
    }
  });

  it('refuses a 40 KiB query document with 413 before parsing it', async () => {
    const query = `# ${'x'.repeat(40 * 1024)}\n{ __typename }`;
    const res = await post(JSON.stringify({ query }));
    assert.equal(res.status, 413);
    assert.equal(await codeOf(res), 'PAYLOAD_TOO_LARGE');
  });

  it('refuses an HTTP body over 1 MiB with 413', async () => {
    const res = await post(JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1024 * 1024) } }));
    assert.equal(res.status, 413);
    assert.equal(await codeOf(res), 'PAYLOAD_TOO_LARGE');
  });

  it('refuses a batched HTTP request (many operations in one body)', async () => {
    const res = await post(JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]));
    assert.equal(res.status, 400);
    assert.match(await res.text(), /batch/i);
  });

  it('refuses a cross-site form POST (text/plain) through CSRF prevention', async () => {
    const res = await post(JSON.stringify({ query: `mutation { deleteAudioAsset(id: "x") }` }), { 'content-type': 'text/plain' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Cross-Site Request Forgery/);
  });

  it('refuses a GET query without a preflight-forcing header, and runs it with one', async () => {
    const url = `${t.app.url}/graphql?query=${encodeURIComponent('{ __typename }')}`;
    const bare = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(bare.status, 400);
    assert.match(await bare.text(), /Cross-Site Request Forgery/);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' } });
    assert.equal(ok.status, 200);
  });

  it('refuses a browser request from another site with 403 and no CORS headers', async () => {
    const res = await post(JSON.stringify({ query: PREPARE, variables: { input: INPUT } }), { origin: 'https://evil.example' });
    assert.equal(res.status, 403);
    assert.equal(await codeOf(res), 'FORBIDDEN_ORIGIN');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const preflight = await fetch(`${t.app.url}/graphql`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    assert.equal(preflight.status, 403);
  });

  it('allows the same origin, and localhost origins in development, with CORS headers', async () => {
    const same = await post(JSON.stringify({ query: '{ __typename }' }), { origin: t.app.url });
    assert.equal(same.status, 200);
    const preflight = await fetch(`${t.app.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://localhost:5173');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), null);
  });
});
