import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import pg from 'pg';
import { COMPLETE, PREPARE, prepareAndPut, startTestApp, type TestApp } from '../helpers/app.js';

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

  describe('/healthz', () => {
    it('answers 200 when the database, storage and queue answer', async () => {
      const r = await fetch(`${t.app.url}/healthz`);
      assert.equal(r.status, 200);
      const body = (await r.json()) as { checks: Record<string, string> };
      assert.deepEqual(Object.values(body.checks), Object.values(body.checks).map(() => 'ok'));
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
