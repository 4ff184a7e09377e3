// Floods of the upload mutations against two API processes sharing one
// PostgreSQL: the budgets are per user and counted in the database.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ApiError } from '../../src/domain/errors.js';
import { RateLimitService } from '../../src/services/rate-limit.service.js';
import { COMPLETE, PREPARE, type GqlResponse, startTestApp, type TestApp } from '../helpers/app.js';
import { type TestDatabase, testDatabase } from '../helpers/services.js';

const LIMITS = { UPLOAD_RATE_LIMIT_PER_MINUTE: '3', COMPLETE_RATE_LIMIT_PER_MINUTE: '2', RENEW_RATE_LIMIT_PER_MINUTE: '2' };
const INPUT = { filename: 'flood.mp3', size: 1000, contentType: 'audio/mpeg' };
const codeOf = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code ?? 'OK';

describe('rate limits under a flood, across API processes', () => {
  let one: TestApp;
  let two: TestApp;
  before(async () => {
    one = await startTestApp({ role: 'api', env: LIMITS });
    // Same database and bucket: a second API process behind the same load balancer.
    two = await startTestApp({ role: 'api', env: LIMITS, db: one.db, s3: one.s3 });
  });
  after(async () => {
    await two?.stop();
    await one?.stop();
  });

  const prepare = (app: TestApp, token: string) => app.gql(PREPARE, { input: INPUT }, token);

  it('answers RATE_LIMITED after UPLOAD_RATE_LIMIT_PER_MINUTE prepares, and other users are not affected', async () => {
    const flooder = await one.token('flooder');
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push(codeOf(await prepare(one, flooder)));
    assert.deepEqual(codes, ['OK', 'OK', 'OK', 'RATE_LIMITED']);
    const limited = await prepare(one, flooder);
    assert.match(limited.errors![0]!.message, /limited to 3 calls a minute/);
    const retry = limited.errors![0]!.extensions!['retryAfterSeconds'] as number;
    assert.ok(retry >= 1 && retry <= 60, String(retry));
    const bystander = await one.token('bystander');
    for (let i = 0; i < 3; i++) assert.equal(codeOf(await prepare(one, bystander)), 'OK');
  });

  it('counts one budget across two API processes on one database', async () => {
    const roamer = await one.token('roamer');
    assert.equal(codeOf(await prepare(one, roamer)), 'OK');
    assert.equal(codeOf(await prepare(two, roamer)), 'OK');
    assert.equal(codeOf(await prepare(one, roamer)), 'OK');
    assert.equal(codeOf(await prepare(two, roamer)), 'RATE_LIMITED');
    assert.equal(codeOf(await prepare(one, roamer)), 'RATE_LIMITED');
  });

  it('lets exactly the budget through when 20 prepares race on both processes', async () => {
    const racer = await one.token('racer');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => prepare(i % 2 ? one : two, racer)));
    const codes = results.map(codeOf);
    assert.equal(codes.filter((c) => c === 'OK').length, 3, codes.join());
    assert.equal(codes.filter((c) => c === 'RATE_LIMITED').length, 17, codes.join());
  });

  it('limits completeAudioUpload and renewUploadUrls per user too', async () => {
    const poller = await one.token('poller');
    const id = (await prepare(one, poller)).data!.prepareAudioUpload.asset.id as string;
    // Not uploaded yet: UPLOAD_NOT_FOUND, which still counts (each call HEADs the storage).
    const completes = [];
    for (let i = 0; i < 3; i++) completes.push(codeOf(await (i % 2 ? two : one).gql(COMPLETE, { id }, poller)));
    assert.deepEqual(completes, ['UPLOAD_NOT_FOUND', 'UPLOAD_NOT_FOUND', 'RATE_LIMITED']);
    const renew = `mutation($id: ID!) { renewUploadUrls(id: $id) { uploadUrl } }`;
    const renews = [];
    for (let i = 0; i < 3; i++) renews.push(codeOf(await two.gql(renew, { id }, poller)));
    assert.deepEqual(renews, ['OK', 'OK', 'RATE_LIMITED']);
    // Other budgets of the same user are separate.
    assert.equal(codeOf(await prepare(two, poller)), 'OK');
  });
});

describe('a query budget per user, in complexity points (issue 25, item 4)', () => {
  let one: TestApp;
  let two: TestApp;
  before(async () => {
    one = await startTestApp({ role: 'api', env: { QUERY_COST_PER_MINUTE: '5000' } });
    two = await startTestApp({ role: 'api', env: { QUERY_COST_PER_MINUTE: '5000' }, db: one.db, s3: one.s3 });
  });
  after(async () => {
    await two?.stop();
    await one?.stop();
  });

  const heavy = `{ ${['a', 'b', 'c', 'd'].map((k) => `${k}: assets(first: 100) { nodes { waveform } }`).join(' ')} }`;

  it('refuses the second four-alias waveform query of a user in a minute on any process, and nobody else', async () => {
    const looper = await one.token('looper');
    assert.equal(codeOf(await one.gql(heavy, {}, looper)), 'OK');
    const refused = await two.gql(heavy, {}, looper);
    assert.equal(codeOf(refused), 'RATE_LIMITED');
    assert.equal(refused.status, 429);
    assert.match(refused.errors![0]!.message, /limited to 5000 complexity points a minute/);
    assert.ok((refused.errors![0]!.extensions!['retryAfterSeconds'] as number) >= 1);
    // Cheap operations are not counted: the looper can still read one asset.
    assert.equal(codeOf(await one.gql(`{ asset(id: "00000000-0000-4000-8000-000000000000") { id } }`, {}, looper)), 'OK');
    const bystander = await one.token('bystander');
    assert.equal(codeOf(await two.gql(heavy, {}, bystander)), 'OK');
  });

  it('charges operations over graphql-ws too', async () => {
    const socket = one.ws(await one.token('ws-looper'));
    const run = () =>
      new Promise<string>((resolve) => {
        let code = 'OK';
        socket.subscribe({ query: heavy }, {
          next: (r) => {
            if (r.errors) code = String(r.errors[0]?.extensions?.['code']);
          },
          error: (e) => resolve(String((e as { extensions?: { code?: string } }[])[0]?.extensions?.code ?? e)),
          complete: () => resolve(code),
        });
      });
    assert.equal(await run(), 'OK');
    assert.equal(await run(), 'RATE_LIMITED');
  });
});

describe('RateLimitService: calls counted together in one statement', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let statements = 0;
  const LIMIT = { prepareAudioUpload: 3, completeAudioUpload: 2, renewUploadUrls: 1, query: 10 };
  before(async () => {
    db = await testDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => {});
    const query = pool.query.bind(pool) as (...a: unknown[]) => unknown;
    (pool as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
      statements++;
      return query(...a);
    };
  });
  after(async () => {
    await pool?.end();
    await db?.drop();
  });

  const outcome = (p: Promise<void>) =>
    p.then(
      () => 'OK',
      (e: unknown) => (e instanceof ApiError ? e.code : `unexpected ${String(e)}`),
    );

  it('lets exactly the budget of each user and action through a burst, in fewer statements than calls', async () => {
    const limits = await RateLimitService.start(pool, LIMIT);
    statements = 0;
    const calls: { user: string; action: keyof typeof LIMIT; result: Promise<string> }[] = [];
    for (let i = 0; i < 60; i++) {
      const user = `burst-${i % 4}`;
      const action = (['prepareAudioUpload', 'completeAudioUpload', 'renewUploadUrls'] as const)[i % 3]!;
      calls.push({ user, action, result: outcome(limits.consume(action, user)) });
    }
    const results = await Promise.all(calls.map((c) => c.result));
    for (const user of ['burst-0', 'burst-1', 'burst-2', 'burst-3']) {
      for (const action of Object.keys(LIMIT) as (keyof typeof LIMIT)[]) {
        const mine = calls.map((c, i) => ({ ...c, r: results[i] })).filter((c) => c.user === user && c.action === action);
        assert.deepEqual(
          mine.map((c) => c.r),
          mine.map((_, i) => (i < LIMIT[action] ? 'OK' : 'RATE_LIMITED')),
          `${user} ${action}: the first calls in arrival order pass`,
        );
      }
    }
    assert.ok(statements < 10, `60 calls took ${statements} statements`);
  });

  it('shares one count with another process counting the same users at the same time', async () => {
    const [a, b] = await Promise.all([RateLimitService.start(pool, LIMIT), RateLimitService.start(pool, LIMIT)]);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => outcome((i % 2 ? a : b).consume('prepareAudioUpload', `shared-${i % 5}`))));
    for (let u = 0; u < 5; u++) {
      const mine = results.filter((_, i) => i % 5 === u);
      assert.equal(mine.filter((r) => r === 'OK').length, 3, mine.join());
      assert.equal(mine.filter((r) => r === 'RATE_LIMITED').length, 5, mine.join());
    }
  });

  it('counts query points by weight, and a budget of 0 never refuses', async () => {
    const limits = await RateLimitService.start(pool, LIMIT);
    const results = await Promise.all([4, 4, 4, 1].map((p) => outcome(limits.consume('query', 'weigher', p))));
    assert.deepEqual(results, ['OK', 'OK', 'RATE_LIMITED', 'RATE_LIMITED']);
    const open = await RateLimitService.start(pool, { ...LIMIT, query: 0 });
    for (let i = 0; i < 3; i++) assert.equal(await outcome(open.consume('query', 'free', 1_000_000)), 'OK');
  });

  it('starts counting again once the minute has passed, and says when', async () => {
    const limits = await RateLimitService.start(pool, LIMIT);
    assert.equal(await outcome(limits.consume('renewUploadUrls', 'waiter')), 'OK');
    await assert.rejects(limits.consume('renewUploadUrls', 'waiter'), (e: unknown) => {
      assert.ok(e instanceof ApiError && e.code === 'RATE_LIMITED');
      const retry = e.details['retryAfterSeconds'] as number;
      assert.ok(retry >= 59 && retry <= 60, String(retry));
      return true;
    });
    await pool.query(`update rate_limit set expire = $1 where key = 'renewUploadUrls:waiter'`, [Date.now() - 1]);
    assert.equal(await outcome(limits.consume('renewUploadUrls', 'waiter')), 'OK');
  });

  it('refuses every call of a batch when the count fails, letting none through uncounted', async () => {
    const broken = new pg.Pool({ connectionString: db.url, max: 1 });
    broken.on('error', () => {});
    const limits = await RateLimitService.start(broken, LIMIT);
    await broken.query('drop table rate_limit');
    try {
      const results = await Promise.all([1, 2, 3].map((i) => outcome(limits.consume('prepareAudioUpload', `u${i}`))));
      for (const r of results) assert.match(r, /unexpected/);
    } finally {
      await broken.end();
    }
  });
});
