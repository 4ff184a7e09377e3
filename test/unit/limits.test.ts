import 'reflect-metadata';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { GraphQLError, type GraphQLSchema, parse, specifiedRules, validate } from 'graphql';
import { ApiError } from '../../src/domain/errors.js';
import { buildAppSchema } from '../../src/resolvers/index.js';
import { formatWsErrors, makeFormatError } from '../../src/server/errors.js';
import { GRAPHQL_LIMITS, complexityPlugin, depthLimitRule, operationComplexity, prepareOperation } from '../../src/server/limits.js';
import { isOriginAllowed } from '../../src/server/origins.js';

let schema: GraphQLSchema;
before(async () => {
  schema = await buildAppSchema();
});

const depthErrors = (query: string, max = 3) =>
  validate(schema, parse(query), [depthLimitRule(max)]).map((e) => e.message);

describe('depthLimitRule', () => {
  it('counts nested selection sets through fragments and inline fragments', () => {
    assert.deepEqual(depthErrors(`{ assets { nodes { error { code } } } }`, 4), []);
    assert.equal(depthErrors(`{ assets { nodes { error { code } } } }`, 3).length, 1);
    assert.equal(depthErrors(`{ assets { ...P } } fragment P on AudioAssetConnection { nodes { ... on AudioAsset { error { code } } } }`, 3).length, 1);
  });

  it('counts introspection fields too (they are the only recursion in our schema)', () => {
    assert.equal(depthErrors(`{ __schema { types { fields { type { name } } } } }`, 3).length, 1);
  });

  it('survives fragment cycles and unknown fragments, leaving them to the standard rules', () => {
    const cyclic = `{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }`;
    assert.deepEqual(depthErrors(cyclic), []);
    assert.ok(validate(schema, parse(cyclic), [...specifiedRules, depthLimitRule(3)]).length > 0);
    assert.deepEqual(depthErrors(`{ ...Missing }`), []);
  });

  it('walks a document that spreads fragments 2^30 times over in one pass (memoised)', () => {
    const defs = Array.from({ length: 30 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
    const query = `{ ...F0 } ${defs.join(' ')} fragment F30 on Query { __typename }`;
    const started = Date.now();
    assert.deepEqual(depthErrors(query), []);
    assert.ok(Date.now() - started < 500);
  });
});

describe('operationComplexity', () => {
  const cost = (query: string, variables: Record<string, unknown> = {}) => operationComplexity(schema, parse(query), variables, undefined);

  it('multiplies what is under a connection by `first` (default 20), capped at 100', () => {
    assert.equal(cost(`{ assets { nodes { id } } }`), 1 + 20 * 2);
    assert.equal(cost(`query($n: Int!) { assets(first: $n) { nodes { id } } }`, { n: 5 }), 1 + 5 * 2);
    assert.equal(cost(`{ assets(first: 1000000) { nodes { id } } }`), 1 + 100 * 2);
  });

  it('prices work: a waveform more than a field, a mutation more than a query', () => {
    assert.ok(cost(`{ asset(id: "x") { waveform } }`)! > cost(`{ asset(id: "x") { id } }`)! + 5);
    assert.ok(cost(`{ asset(id: "x") { waveform(bars: 1024) } }`)! > cost(`{ asset(id: "x") { waveform } }`)! + 10, "more bars cost more");
    assert.ok(cost(`mutation { deleteAudioAsset(id: "x") }`)! >= 100);
  });

  it('prices waveform data by its levels (up to seven) and their signed URLs', () => {
    const one = cost(`{ asset(id: "x") { id } }`)!;
    assert.equal(cost(`{ asset(id: "x") { id waveformData { samplesPerPixel datUrl jsonUrl } } }`), one + 1 + 7 * (1 + 2 + 2));
    assert.ok(cost(`{ asset(id: "x") { chatWaveform(format: DISCORD) { values } } }`)! >= one + 10);
  });

  it('stops counting a document that spreads fragments 2^30 times over (node budget)', () => {
    const defs = Array.from({ length: 30 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
    const bomb = `{ ...F0 } ${defs.join(' ')} fragment F30 on Query { __typename }`;
    const started = Date.now();
    assert.throws(() => cost(bomb), /maximum allowed number of nodes/);
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    assert.deepEqual(validate(schema, parse(bomb), specifiedRules), [], 'the standard rules let it through: the cost walk must stop it');
  });

  it('leaves variables that do not coerce to execution (null: no opinion)', () => {
    assert.equal(cost(`query($n: Int!) { assets(first: $n) { nodes { id } } }`, { n: 'many' }), null);
  });
});

describe('prepareOperation (graphql-ws)', () => {
  it('never throws, whatever the payload (property)', () => {
    const query = fc.oneof(fc.string(), fc.constantFrom('{ __typename }', '{', 'subscription { assetUpdated { id } }', '{ __schema { types { name } } }'));
    const payload = fc.record({ query: fc.oneof(query, fc.anything()), variables: fc.option(fc.dictionary(fc.string(), fc.anything())), operationName: fc.option(fc.string()) });
    fc.assert(
      fc.property(payload, (p) => {
        const r = prepareOperation(schema, p as never, false);
        if (Array.isArray(r)) assert.ok(r.every((e) => e instanceof GraphQLError && typeof e.extensions['code'] === 'string'));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses introspection when it is off, and allows it when on', () => {
    const q = { query: '{ __schema { queryType { name } } }' };
    assert.ok(Array.isArray(prepareOperation(schema, q, false)));
    assert.ok(!Array.isArray(prepareOperation(schema, q, true)));
  });

  it('refuses a document over the size limit before parsing it', () => {
    const r = prepareOperation(schema, { query: `#${'x'.repeat(GRAPHQL_LIMITS.maxDocumentBytes)}\n{ __typename }` }, true);
    assert.ok(Array.isArray(r) && r[0]!.extensions['code'] === 'PAYLOAD_TOO_LARGE');
  });
});

describe('error formatting', () => {
  const format = makeFormatError({ production: true, onUnexpected: () => {} });
  const sqlError = Object.assign(new Error('select "a0".* from "audio_asset" where id = $1 - relation does not exist'), { stack: 'Error\n    at /srv/app/node_modules/pg/lib/client.js:1:1' });

  it('hides an unexpected error entirely in production, over HTTP and WebSocket', () => {
    const wrapped = new GraphQLError(sqlError.message, { path: ['assets'], originalError: sqlError });
    const [ws] = formatWsErrors([wrapped], format);
    assert.deepEqual(ws, { message: 'Internal server error', path: ['assets'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    // An async iterator's error arrives without a path; still hidden.
    const [iter] = formatWsErrors([new GraphQLError(sqlError.message, { originalError: sqlError })], format);
    assert.equal(iter!.message, 'Internal server error');
  });

  it('keeps the contract code of a typed error, wherever it was thrown', () => {
    const limited = new ApiError('RATE_LIMITED', 'slow down', { retryAfterSeconds: 3 });
    const [e] = formatWsErrors([new GraphQLError('slow down', { originalError: limited })], format);
    assert.deepEqual(e!.extensions, { code: 'RATE_LIMITED', retryAfterSeconds: 3 });
  });

  it('drops the HTTP-only `http` extension on sockets', () => {
    const [e] = formatWsErrors([new GraphQLError('too big', { extensions: { code: 'PAYLOAD_TOO_LARGE', http: { status: 413 } } })], format);
    assert.deepEqual(e!.extensions, { code: 'PAYLOAD_TOO_LARGE' });
  });
});

describe('isOriginAllowed', () => {
  const strict = { allowed: ['https://app.example'], allowLocalhost: false };
  const dev = { allowed: [], allowLocalhost: true };

  it('allows non-browser clients (no Origin), the same origin and listed origins only', () => {
    assert.equal(isOriginAllowed(undefined, 'api.example', strict), true);
    assert.equal(isOriginAllowed('https://api.example', 'api.example', strict), true);
    assert.equal(isOriginAllowed('https://app.example', 'api.example', strict), true);
    assert.equal(isOriginAllowed('https://app.example.evil', 'api.example', strict), false);
    assert.equal(isOriginAllowed('https://evil.example', 'api.example', strict), false);
    assert.equal(isOriginAllowed('null', 'api.example', strict), false);
    assert.equal(isOriginAllowed('http://localhost:5173', 'api.example', strict), false);
  });

  it('allows localhost on any port in development, and nothing that only looks like it', () => {
    for (const o of ['http://localhost:5173', 'http://127.0.0.1:1', 'http://[::1]:8080']) assert.equal(isOriginAllowed(o, 'x:1', dev), true, o);
    for (const o of ['http://localhost.evil.example', 'http://127.0.0.1.nip.io', 'file://localhost', 'javascript:alert(1)']) {
      assert.equal(isOriginAllowed(o, 'x:1', dev), false, o);
    }
  });

  it('never throws and never allows an unlisted foreign origin in production (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl()), (origin) => {
        const allowed = isOriginAllowed(origin, 'api.example', strict);
        if (allowed) assert.ok(['https://app.example', 'https://api.example', 'http://api.example'].includes(new URL(origin).origin), origin);
      }),
      { numRuns: 200 },
    );
  });
});

describe('complexityPlugin: the cost of a document is remembered only where variables cannot change it', () => {
  /** Runs the plugin's check for one request, as Apollo does: the same DocumentNode for the same query text. */
  async function check(document: ReturnType<typeof parse>, variables: Record<string, unknown> = {}): Promise<'ok' | string> {
    const plugin = complexityPlugin(schema);
    const hooks = (await plugin.requestDidStart!({} as never)) as { didResolveOperation: (rc: unknown) => Promise<void> };
    try {
      await hooks.didResolveOperation({ request: { variables, operationName: undefined }, document });
      return 'ok';
    } catch (e) {
      return (e as GraphQLError).message;
    }
  }
  const heavy = (first: string, directive = '') =>
    Array.from({ length: 10 }, (_, i) => `a${i}: assets(first: ${first}) ${directive} { nodes { id waveform } }`).join(' ');

  it('prices `first: $n` anew for every request of the same document', async () => {
    const doc = parse(`query($n: Int!) { ${heavy('$n')} }`);
    assert.equal(await check(doc, { n: 1 }), 'ok');
    assert.match(await check(doc, { n: 100 }), /complexity \d+ is over the limit/);
    assert.equal(await check(doc, { n: 1 }), 'ok');
    assert.match(await check(doc, { n: 100 }), /over the limit/);
  });

  it('prices @include(if: $x) anew for every request of the same document', async () => {
    const doc = parse(`query($big: Boolean!) { asset(id: "x") { id } ${heavy('100', '@include(if: $big)')} }`);
    assert.equal(await check(doc, { big: false }), 'ok');
    assert.match(await check(doc, { big: true }), /over the limit/);
    assert.equal(await check(doc, { big: false }), 'ok');
  });

  it('refuses an over-budget document every time, and accepts a cheap one every time', async () => {
    const over = parse(`{ ${heavy('100')} }`);
    const cheap = parse(`query($id: ID!) { asset(id: $id) { id status progress duration url } }`);
    for (let i = 0; i < 3; i++) {
      assert.match(await check(over), /over the limit/);
      assert.equal(await check(cheap, { id: `id-${i}` }), 'ok');
    }
  });
});
