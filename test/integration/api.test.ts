import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import pg from 'pg';
import { COMPLETE, PREPARE, collect, prepareAndPut, startTestApp, type TestApp } from '../helpers/app.js';

const PREPARE_INPUT = { filename: 'note.mp3', size: 1000, contentType: 'audio/mpeg' };

describe('GraphQL API (api role: nothing consumes the queue)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ role: 'api' });
  });
  after(async () => {
    await t?.stop();
  });

  describe('authentication', () => {
    it('answers UNAUTHENTICATED without a token, with a bad token and with an expired one', async () => {
      const expired = await t.app.auth.sign('user-a', -10);
      for (const token of [null, 'not-a-jwt', expired]) {
        const r = await t.gql(`{ assets { nodes { id } } }`, {}, token);
        assert.equal(r.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', `token ${token}`);
      }
    });

    it('accepts a token signed with the configured secret and scopes by its sub', async () => {
      const r = await t.gql(`{ assets { nodes { id } pageInfo { hasNextPage endCursor } } }`, {}, await t.token('nobody-yet'));
      assert.deepEqual(r.data, { assets: { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } } });
    });
  });

  describe('prepareAudioUpload', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['size 0', { size: 0 }],
      ['negative size', { size: -5 }],
      ['size over MAX_UPLOAD_BYTES', { size: 1024 * 1024 * 1024 + 1 }],
      ['a content type that is not audio', { contentType: 'text/html' }],
      ['an executable content type', { contentType: 'application/x-msdownload' }],
      ['an empty filename', { filename: '' }],
      ['a filename of 256 characters', { filename: 'a'.repeat(252) + '.mp3' }],
    ];
    for (const [name, patch] of cases) {
      it(`refuses ${name} with BAD_USER_INPUT`, async () => {
        const r = await t.gql(PREPARE, { input: { ...PREPARE_INPUT, ...patch } });
        assert.equal(r.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(r));
      });
    }

    it('accepts what browsers and phones report for audio', async () => {
      for (const contentType of ['audio/mpeg', 'audio/webm;codecs=opus', 'video/mp4', 'application/octet-stream', 'application/ogg']) {
        const r = await t.gql(PREPARE, { input: { ...PREPARE_INPUT, contentType } });
        assert.equal(r.errors, undefined, contentType);
      }
    });

    it('returns a presigned PUT for uploads/<id> that signs content-type and content-length', async () => {
      const r = await t.gql(PREPARE, { input: { ...PREPARE_INPUT, filename: '../../etc/passwd' } });
      const p = r.data.prepareAudioUpload;
      assert.equal(p.asset.status, 'AWAITING_UPLOAD');
      assert.equal(p.asset.filename, '../../etc/passwd');
      assert.equal(p.multipart, null);
      const url = new URL(p.uploadUrl);
      assert.equal(url.pathname, `/${t.s3.bucket}/uploads/${p.asset.id}`);
      const signed = url.searchParams.get('X-Amz-SignedHeaders')!.split(';');
      assert.ok(signed.includes('content-length') && signed.includes('content-type'), signed.join(';'));
      assert.equal(url.searchParams.get('X-Amz-Expires'), '900');
      assert.deepEqual(p.uploadHeaders, [{ name: 'Content-Type', value: 'audio/mpeg' }]);
      assert.ok(Math.abs(new Date(p.expiresAt).getTime() - (Date.now() + 900_000)) < 10_000);
    });

    it('signs the length and type: another length or type gives another signature', async () => {
      const signingDate = new Date('2026-01-01T00:00:00Z');
      const sign = (contentType: string, length: number) =>
        t.app.storage.presignPut('uploads/00000000-0000-4000-8000-000000000000', contentType, length, 900, signingDate);
      const sig = async (ct: string, n: number) => new URL(await sign(ct, n)).searchParams.get('X-Amz-Signature');
      assert.equal(await sig('audio/mpeg', 1000), await sig('audio/mpeg', 1000));
      assert.notEqual(await sig('audio/mpeg', 1000), await sig('audio/mpeg', 1001));
      assert.notEqual(await sig('audio/mpeg', 1000), await sig('audio/wav', 1000));
    });

    it('lets the client PUT the bytes straight to storage with the given headers', async () => {
      const body = Buffer.alloc(1234, 7);
      const id = await prepareAndPut(t, body, { contentType: 'audio/wav' });
      const keys = await t.s3.listKeys();
      assert.ok(keys.includes(`uploads/${id}`), keys.join(','));
    });
  });

  describe('completeAudioUpload', () => {
    it('answers UPLOAD_NOT_FOUND before the object exists, and the asset stays AWAITING_UPLOAD', async () => {
      const r = await t.gql(PREPARE, { input: PREPARE_INPUT });
      const id = r.data.prepareAudioUpload.asset.id;
      const c = await t.gql(COMPLETE, { id });
      assert.equal(c.errors?.[0]?.extensions?.code, 'UPLOAD_NOT_FOUND');
      const a = await t.gql(`query($id: ID!) { asset(id: $id) { status } }`, { id });
      assert.equal(a.data.asset.status, 'AWAITING_UPLOAD');
    });

    it('fails SIZE_MISMATCH when the stored object has another size, and deletes it', async () => {
      const id = await prepareAndPut(t, Buffer.alloc(500, 1), { size: 1000 });
      const c = await t.gql(COMPLETE, { id });
      assert.equal(c.data.completeAudioUpload.status, 'FAILED');
      assert.equal(c.data.completeAudioUpload.error.code, 'SIZE_MISMATCH');
      assert.ok(!(await t.s3.listKeys()).some((k) => k.includes(id)));
    });

    it('queues exactly one job when many completes race, and later calls return the asset unchanged', async () => {
      const id = await prepareAndPut(t, Buffer.alloc(2000, 3));
      const results = await Promise.all(Array.from({ length: 8 }, () => t.gql(COMPLETE, { id })));
      for (const r of results) assert.equal(r.data.completeAudioUpload.status, 'QUEUED', JSON.stringify(r));
      const again = await t.gql(COMPLETE, { id });
      assert.equal(again.data.completeAudioUpload.status, 'QUEUED');
      const client = new pg.Client({ connectionString: t.db.url });
      await client.connect();
      try {
        const jobs = await client.query(`select count(*)::int as n from pgboss.job where name = 'process-audio' and data->>'assetId' = $1`, [id]);
        assert.equal(jobs.rows[0].n, 1);
      } finally {
        await client.end();
      }
    });

    it('answers NOT_FOUND for an id that does not exist or is not an id', async () => {
      for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) {
        const c = await t.gql(COMPLETE, { id });
        assert.equal(c.errors?.[0]?.extensions?.code, 'NOT_FOUND');
      }
    });
  });

  describe('assetUpdated(id)', () => {
    it('never sends AWAITING_UPLOAD to a subscriber of one asset: its first event is QUEUED, even after renewed URLs', async () => {
      const token = await t.token();
      const id = await prepareAndPut(t, Buffer.alloc(1000, 1), {}, token);
      const ws = t.ws(token);
      const all = collect<{ assetUpdated: { status: string } }>(ws, `subscription { assetUpdated { id status } }`, {}, (e) => e.assetUpdated.status === 'QUEUED');
      const one = collect<{ assetUpdated: { status: string } }>(ws, `subscription($id: ID) { assetUpdated(id: $id) { status } }`, { id }, (e) => e.assetUpdated.status === 'QUEUED');
      await Promise.all([all.ready, one.ready]);
      // A renewal is a committed change of the row while it still awaits its file.
      const renewed = await t.gql(`mutation($id: ID!) { renewUploadUrls(id: $id) { expiresAt } }`, { id }, token);
      assert.equal(renewed.errors, undefined, JSON.stringify(renewed.errors));
      await t.gql(COMPLETE, { id }, token);
      // The owner-wide subscriber saw the renewal: proof that the event was published.
      assert.deepEqual((await all.done).map((e) => e.assetUpdated.status), ['AWAITING_UPLOAD', 'QUEUED']);
      assert.deepEqual((await one.done).map((e) => e.assetUpdated.status), ['QUEUED']);
      await ws.dispose();
    });
  });

  describe('assets', () => {
    it('pages newest first with cursors and filters by status', async () => {
      const token = await t.token('pager');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await t.gql(PREPARE, { input: { ...PREPARE_INPUT, filename: `n${i}.mp3` } }, token);
        ids.push(r.data.prepareAudioUpload.asset.id);
        await new Promise((r) => setTimeout(r, 5));
      }
      const q = `query($after: String, $status: AssetStatus) { assets(first: 2, after: $after, status: $status) { nodes { id filename } pageInfo { hasNextPage endCursor } } }`;
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 3; page++) {
        const r: any = await t.gql(q, { after }, token);
        seen.push(...r.data.assets.nodes.map((n: { id: string }) => n.id));
        after = r.data.assets.pageInfo.endCursor;
        assert.equal(r.data.assets.pageInfo.hasNextPage, page < 2);
      }
      assert.deepEqual(seen, [...ids].reverse());
      const filtered = await t.gql(q, { status: 'DONE' }, token);
      assert.deepEqual(filtered.data.assets.nodes, []);
      const bad = await t.gql(`{ assets(first: 0) { nodes { id } } }`, {}, token);
      assert.equal(bad.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      const badCursor = await t.gql(`{ assets(after: "garbage") { nodes { id } } }`, {}, token);
      assert.equal(badCursor.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    });
  });

  describe('deleteAudioAsset', () => {
    it('deletes the row and every stored object, then answers NOT_FOUND', async () => {
      const id = await prepareAndPut(t, Buffer.alloc(100, 1));
      const del = await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id });
      assert.equal(del.data.deleteAudioAsset, true);
      assert.ok(!(await t.s3.listKeys()).some((k) => k.includes(id)));
      const a = await t.gql(`query($id: ID!) { asset(id: $id) { id } }`, { id });
      assert.equal(a.data.asset, null);
      const again = await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id });
      assert.equal(again.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    });
  });

  it('deletes a QUEUED asset with its original; the job that later runs finds nothing to do', async () => {
    const id = await prepareAndPut(t, Buffer.alloc(100, 1));
    assert.equal((await t.gql(COMPLETE, { id })).data.completeAudioUpload.status, 'QUEUED');
    const del = await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id });
    assert.equal(del.data.deleteAudioAsset, true);
    assert.ok(!(await t.s3.listKeys()).some((k) => k.includes(id)));
  });

  describe('ownership', () => {
    it("never shows, completes or deletes another owner's asset", async () => {
      const id = await prepareAndPut(t, Buffer.alloc(100, 1));
      const other = await t.token('user-b');
      const a = await t.gql(`query($id: ID!) { asset(id: $id) { id } }`, { id }, other);
      assert.equal(a.data.asset, null);
      const list = await t.gql(`{ assets { nodes { id } } }`, {}, other);
      assert.ok(!list.data.assets.nodes.some((n: { id: string }) => n.id === id));
      const c = await t.gql(COMPLETE, { id }, other);
      assert.equal(c.errors?.[0]?.extensions?.code, 'NOT_FOUND');
      const d = await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id }, other);
      assert.equal(d.errors?.[0]?.extensions?.code, 'NOT_FOUND');
      const mine = await t.gql(`query($id: ID!) { asset(id: $id) { status } }`, { id });
      assert.equal(mine.data.asset.status, 'AWAITING_UPLOAD');
    });

    it('answers an id that is no asset id as not found: null for asset(id), NOT_FOUND for the mutations', async () => {
      for (const id of ['not-an-id', '00000000-0000-0000-0000-000000000000', `${randomUUID()}x`]) {
        assert.equal((await t.gql(`query($id: ID!) { asset(id: $id) { id } }`, { id })).data.asset, null, id);
        const c = await t.gql(COMPLETE, { id });
        assert.equal(c.errors?.[0]?.extensions?.code, 'NOT_FOUND', id);
        const d = await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id });
        assert.equal(d.errors?.[0]?.extensions?.code, 'NOT_FOUND', id);
      }
    });
  });

  describe('storage URLs', () => {
    it('stores nothing under a key made from the filename', async () => {
      await prepareAndPut(t, Buffer.alloc(10, 1), { filename: 'evil/../../name.mp3' });
      for (const key of await t.s3.listKeys()) assert.match(key, /^uploads\/[0-9a-f-]{36}$/);
    });

    it('presigned GET and PUT URLs work against the storage for real', async () => {
      const put = await getSignedUrl(t.s3.client, new PutObjectCommand({ Bucket: t.s3.bucket, Key: 'probe' }), { expiresIn: 60 });
      assert.equal((await fetch(put, { method: 'PUT', body: 'x' })).status, 200);
      const get = await getSignedUrl(t.s3.client, new GetObjectCommand({ Bucket: t.s3.bucket, Key: 'probe' }), { expiresIn: 60 });
      assert.equal(await (await fetch(get)).text(), 'x');
      await t.app.storage.delete('probe');
    });
  });

  describe('DONE and FAILED assets kept in memory (each node hears every change through LISTEN)', () => {
    const sql = async (text: string, values: unknown[] = []) => {
      const c = new pg.Client({ connectionString: t.db.url });
      await c.connect();
      try {
        return await c.query(text, values);
      } finally {
        await c.end();
      }
    };
    /** A finished asset, as the worker would leave it (the bench does the same). */
    const doneAsset = async (token?: string) => {
      const r = await t.gql(PREPARE, { input: PREPARE_INPUT }, token);
      const id = r.data.prepareAudioUpload.asset.id as string;
      await sql(`update audio_asset set status = 'DONE', progress = 1, duration_seconds = 12.5, detected_type = 'audio/mpeg' where id = $1`, [id]);
      return id;
    };
    const READ = `query($id: ID!) { asset(id: $id) { id status duration url } }`;
    const until = async (what: string, check: () => Promise<boolean>) => {
      const deadline = Date.now() + 5000;
      while (!(await check())) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    it("answers a cached DONE asset to its owner only, with the row's own fields", async () => {
      const id = await doneAsset();
      for (let i = 0; i < 3; i++) {
        const mine = await t.gql(READ, { id });
        assert.equal(mine.data.asset.status, 'DONE');
        assert.equal(mine.data.asset.duration, 12.5);
      }
      const other = await t.token('user-b');
      assert.equal((await t.gql(READ, { id }, other)).data.asset, null);
      assert.equal((await t.gql(READ, { id: id.toUpperCase() }, other)).data.asset, null);
      assert.equal((await t.gql(READ, { id: id.toUpperCase() })).data.asset.id, id);
    });

    it('never answers a deleted DONE asset: deleted here at once, deleted by another node once it hears of it', async () => {
      const here = await doneAsset();
      await t.gql(READ, { id: here });
      assert.equal((await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id: here })).data.deleteAudioAsset, true);
      assert.equal((await t.gql(READ, { id: here })).data.asset, null, 'no window after our own deletion');

      const elsewhere = await doneAsset();
      await t.gql(READ, { id: elsewhere });
      await sql('delete from audio_asset where id = $1', [elsewhere]);
      await until('the deletion to be heard', async () => (await t.gql(READ, { id: elsewhere })).data.asset === null);
    });

    it('forgets what it kept when its LISTEN connection drops, so a deletion missed meanwhile is not served', async () => {
      const id = await doneAsset();
      assert.equal((await t.gql(READ, { id })).data.asset.status, 'DONE');
      const listeners = async () =>
        (await sql(`select pid from pg_stat_activity where datname = current_database() and application_name = 'audio-service/listen'`)).rows.map((r) => r.pid as number);
      const before = await listeners();
      assert.equal(before.length, 1);
      await sql('select pg_terminate_backend($1)', [before[0]]);
      await sql('delete from audio_asset where id = $1', [id]);
      await until('the LISTEN connection to come back', async () => (await listeners()).some((p) => !before.includes(p)));
      assert.equal((await t.gql(READ, { id })).data.asset, null);
    });

    it('hands out the same playback URL within a window; the storage serves it as audio/mp4 for at least the TTL', async () => {
      const id = await doneAsset();
      await t.s3.client.send(new PutObjectCommand({ Bucket: t.s3.bucket, Key: `audio/${id}.m4a`, Body: 'm4a-bytes', ContentType: 'application/octet-stream' }));
      const first = (await t.gql(READ, { id })).data.asset.url as string;
      assert.equal((await t.gql(READ, { id })).data.asset.url, first);
      const u = new URL(first);
      const d = u.searchParams.get('X-Amz-Date')!;
      const signedAt = Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 11)}:${d.slice(11, 13)}:${d.slice(13)}`);
      const expiresAt = signedAt + Number(u.searchParams.get('X-Amz-Expires')) * 1000;
      assert.ok(signedAt <= Date.now());
      assert.ok(expiresAt - Date.now() >= 86_400_000 - 5000, `valid for ${(expiresAt - Date.now()) / 1000} s`);
      const res = await fetch(first);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'audio/mp4');
      assert.equal(res.headers.get('content-disposition'), `inline; filename="audio-${id}.m4a"`);
      assert.equal(await res.text(), 'm4a-bytes');
    });

    it("signs upload URLs with the service's own SigV4 code, which the storage accepts until they expire", async () => {
      // s3rver checks a V4 URL's form and expiry but not its signature: test/unit/sigv4.test.ts
      // shows the signature is byte for byte the AWS SDK's, for any key, type, size and date.
      assert.equal(await t.app.storage.usesOwnPresigner(), true);
      const r = await t.gql(PREPARE, { input: { ...PREPARE_INPUT, size: 5 } });
      const id = r.data.prepareAudioUpload.asset.id as string;
      const put = (url: string) => fetch(url, { method: 'PUT', headers: { 'Content-Type': 'audio/mpeg' }, body: '12345' });
      assert.equal((await put(r.data.prepareAudioUpload.uploadUrl)).status, 200);
      const got = await t.s3.client.send(new GetObjectCommand({ Bucket: t.s3.bucket, Key: `uploads/${id}` }));
      assert.equal(await got.Body!.transformToString(), '12345');
      const stale = await t.app.storage.presignPut(`uploads/${id}`, 'audio/mpeg', 5, 60, new Date(Date.now() - 61_000));
      const refused = await put(stale);
      assert.equal(refused.status, 403);
      assert.match(await refused.text(), /expired/);
    });
  });

  describe('HTTP answers', () => {
    it('carries a request id and Cache-Control: no-store, for results and for errors, over POST and GET', async () => {
      const token = await t.token();
      const post = (query: string) =>
        fetch(`${t.app.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query }),
        });
      const get = await fetch(`${t.app.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${token}` },
      });
      for (const res of [await post('{ __typename }'), await post('{ asset(id: "nope") { id } }'), await post('{ nope }'), get]) {
        assert.equal(res.headers.get('cache-control'), 'no-store');
        assert.ok(Number(res.headers.get('content-length')) > 0, 'a length, not chunks');
        assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
        assert.match(res.headers.get('content-type') ?? '', /^application\/(graphql-response\+)?json/);
      }
      assert.deepEqual(await get.json(), { data: { __typename: 'Query' } });
    });
  });

  describe('/healthz', () => {
    it('answers 200 when the database, storage and queue answer, with its status and nothing more', async () => {
      const r = await fetch(`${t.app.url}/healthz`);
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { status: 'ok' });
    });
  });

  it('serves the schema as a non-breaking superset of the contract', async () => {
    const { buildSchema, findBreakingChanges, getIntrospectionQuery, buildClientSchema } = await import('graphql');
    const contract = buildSchema(await readFile(new URL('../../../test/contract/schema.graphql', import.meta.url), 'utf8'));
    const r = await t.gql(getIntrospectionQuery(), {}, null);
    const served = buildClientSchema(r.data);
    assert.deepEqual(findBreakingChanges(contract, served), []);
  });
});
