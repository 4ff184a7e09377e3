// Quotas through the real GraphQL server, on two API processes sharing one
// PostgreSQL (the first also runs the worker): stored bytes and daily audio
// seconds, counted per user, decided atomically in the database.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ASSET, COMPLETE, type GqlResponse, PREPARE, prepareAndPut, startTestApp, type TestApp } from '../helpers/app.js';
import { makeAudio } from '../helpers/fixtures.js';

const MAX_BYTES = 1_000_000;
const MAX_SECONDS = 3;
const QUOTAS = { QUOTA_STORED_BYTES_PER_USER: String(MAX_BYTES), QUOTA_AUDIO_SECONDS_PER_DAY: String(MAX_SECONDS) };
const USAGE = /* GraphQL */ `query { usage { storedBytes audioSecondsToday maxStoredBytes maxAudioSecondsPerDay } }`;
const COUNT = /* GraphQL */ `query { assets(first: 100) { nodes { id status } } }`;
const DELETE = /* GraphQL */ `mutation($id: ID!) { deleteAudioAsset(id: $id) }`;

const codeOf = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code ?? 'OK';
const input = (size: number) => ({ input: { filename: 'q.mp3', size, contentType: 'audio/mpeg' } });

describe('quotas', () => {
  let one: TestApp;
  let two: TestApp;
  let dir: string;
  before(async () => {
    one = await startTestApp({ env: QUOTAS });
    two = await startTestApp({ role: 'api', env: QUOTAS, db: one.db, s3: one.s3 });
    dir = await mkdtemp(path.join(tmpdir(), 'audio-quota-'));
  });
  after(async () => {
    await two?.stop();
    await one?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const usage = async (token: string) => (await one.gql(USAGE, {}, token)).data.usage;
  const assetCount = async (token: string) => (await one.gql(COUNT, {}, token)).data.assets.nodes.length;

  it('refuses an upload that would pass the stored-bytes quota, says how much is left, and creates nothing', async () => {
    const token = await one.token('q-bytes');
    assert.equal(codeOf(await one.gql(PREPARE, input(600_000), token)), 'OK');
    const refused = await two.gql(PREPARE, input(500_000), token);
    assert.equal(codeOf(refused), 'QUOTA_EXCEEDED');
    assert.match(refused.errors![0]!.message, /stored-bytes quota/);
    assert.match(refused.errors![0]!.message, /400000 of your 1000000 bytes are left/);
    assert.equal(refused.errors![0]!.extensions!['remaining'], 400_000);
    assert.equal(await assetCount(token), 1);
    assert.deepEqual(await usage(token), { storedBytes: 600_000, audioSecondsToday: 0, maxStoredBytes: MAX_BYTES, maxAudioSecondsPerDay: MAX_SECONDS });
    // Exactly up to the limit fits.
    assert.equal(codeOf(await one.gql(PREPARE, input(400_000), token)), 'OK');
    assert.equal((await usage(token)).storedBytes, MAX_BYTES);
  });

  it('keeps the processing options of an upload it lets through (loudness target, renditions)', async () => {
    const token = await one.token('q-options');
    const r = await one.gql(PREPARE, { input: { ...input(10_000).input, loudnessTarget: -16, renditions: ['OPUS_OGG'] } }, token);
    assert.equal(codeOf(r), 'OK', JSON.stringify(r.errors));
    const db = new pg.Client({ connectionString: one.db.url });
    await db.connect();
    try {
      const { rows } = await db.query('select loudness_target, renditions_requested from audio_asset where id = $1', [(r.data as any).prepareAudioUpload.asset.id]);
      assert.deepEqual(rows, [{ loudness_target: -16, renditions_requested: ['OPUS_OGG'] }]);
    } finally {
      await db.end();
    }
  });

  it('refuses a multipart-sized upload over the quota before opening a multipart upload', async () => {
    const token = await one.token('q-multipart');
    const refused = await one.gql(PREPARE, input(100 * 1024 * 1024), token);
    assert.equal(codeOf(refused), 'QUOTA_EXCEEDED');
    assert.match(refused.errors![0]!.message, /1000000 of your 1000000 bytes are left/);
    assert.equal(await assetCount(token), 0);
    assert.equal((await usage(token)).storedBytes, 0);
  });

  it('frees the bytes of a deleted asset and of one that ends FAILED', async () => {
    const token = await one.token('q-free');
    const full = await one.gql(PREPARE, input(MAX_BYTES), token);
    assert.equal(codeOf(full), 'OK');
    assert.equal(codeOf(await one.gql(PREPARE, input(1), token)), 'QUOTA_EXCEEDED');
    assert.equal(codeOf(await two.gql(DELETE, { id: full.data.prepareAudioUpload.asset.id }, token)), 'OK');
    assert.equal((await usage(token)).storedBytes, 0);

    // Declared 900 kB, uploaded 1 kB: completion ends it FAILED SIZE_MISMATCH.
    const id = await prepareAndPut(one, Buffer.alloc(1000, 1), { size: 900_000 }, token);
    assert.equal((await usage(token)).storedBytes, 900_000);
    const completed = await one.gql(COMPLETE, { id }, token);
    assert.equal(completed.data.completeAudioUpload.error.code, 'SIZE_MISMATCH');
    assert.equal((await usage(token)).storedBytes, 0);
    assert.equal(codeOf(await one.gql(PREPARE, input(MAX_BYTES), token)), 'OK');
  });

  it('lets exactly the quota through when 20 prepares race on two API processes', async () => {
    const token = await one.token('q-race');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).gql(PREPARE, input(100_000), token)));
    const codes = results.map(codeOf);
    assert.equal(codes.filter((c) => c === 'OK').length, 10, codes.join());
    assert.equal(codes.filter((c) => c === 'QUOTA_EXCEEDED').length, 10, codes.join());
    assert.equal(await assetCount(token), 10);
    assert.equal((await usage(token)).storedBytes, MAX_BYTES);
  });

  it('counts audio that reached DONE today, and refuses uploads once the daily seconds are used', async () => {
    const token = await one.token('q-daily');
    const file = await makeAudio(dir, { kind: 'mp3', seconds: 4 });
    const id = await prepareAndPut(one, file, {}, token);
    assert.equal(codeOf(await one.gql(COMPLETE, { id }, token)), 'OK');
    const deadline = Date.now() + 60_000;
    let status = '';
    while (Date.now() < deadline && status !== 'DONE' && status !== 'FAILED') {
      status = (await one.gql(ASSET, { id }, token)).data.asset.status;
      if (status !== 'DONE') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 'DONE');
    const used = await usage(token);
    assert.ok(Math.abs(used.audioSecondsToday - 4) < 0.1, JSON.stringify(used));
    const refused = await two.gql(PREPARE, input(1000), token);
    assert.equal(codeOf(refused), 'QUOTA_EXCEEDED');
    assert.match(refused.errors![0]!.message, /daily audio quota exceeded: 4(\.\d)? of your 3 seconds .* 0 left/);
    // Deleting the result frees its bytes, not the seconds already processed today.
    assert.equal(codeOf(await one.gql(DELETE, { id }, token)), 'OK');
    assert.deepEqual({ ...(await usage(token)), audioSecondsToday: 0 }, { storedBytes: 0, audioSecondsToday: 0, maxStoredBytes: MAX_BYTES, maxAudioSecondsPerDay: MAX_SECONDS });
    assert.ok((await usage(token)).audioSecondsToday > 3.9);
    assert.equal(codeOf(await one.gql(PREPARE, input(1000), token)), 'QUOTA_EXCEEDED');
  });
});
