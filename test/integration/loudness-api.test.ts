// loudnessTarget / renditions through the real GraphQL API, and how a DONE
// asset's loudness and Opus rendition are served (the worker's side is in
// worker-loudness.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { PREPARE, startTestApp, type TestApp } from '../helpers/app.js';

const INPUT = { filename: 'note.mp3', size: 1000, contentType: 'audio/mpeg' };
const LOUDNESS = /* GraphQL */ `
  query($id: ID!) { asset(id: $id) { status loudness { integrated range truePeak } renditions { format url size mimeType } } }`;

describe('loudness and renditions in the API', () => {
  let t: TestApp;
  let db: pg.Client;
  before(async () => {
    t = await startTestApp({ role: 'api' });
    db = new pg.Client({ connectionString: t.db.url });
    await db.connect();
  });
  after(async () => {
    await db?.end();
    await t?.stop();
  });

  it('refuses a loudnessTarget outside -40..-5 LUFS with BAD_USER_INPUT and creates nothing', async () => {
    for (const loudnessTarget of [-40.5, -4.9, 0, 10]) {
      const r = await t.gql(PREPARE, { input: { ...INPUT, loudnessTarget } });
      assert.equal(r.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(r));
    }
    assert.equal((await db.query('select count(*)::int as n from audio_asset')).rows[0].n, 0);
  });

  it('stores the target and the renditions asked for; loudness null and renditions empty until DONE', async () => {
    const r = await t.gql(PREPARE, { input: { ...INPUT, loudnessTarget: -16, renditions: ['OPUS_OGG'] } });
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    const id = r.data.prepareAudioUpload.asset.id;
    const row = (await db.query('select loudness_target, renditions_requested from audio_asset where id = $1', [id])).rows[0];
    assert.deepEqual(row, { loudness_target: -16, renditions_requested: ['OPUS_OGG'] });
    const q = await t.gql(LOUDNESS, { id });
    assert.deepEqual(q.data.asset, { status: 'AWAITING_UPLOAD', loudness: null, renditions: [] });
  });

  it('serves a DONE asset\'s loudness and its Opus rendition as audio/ogg, and deletes the rendition with the asset', async () => {
    const r = await t.gql(PREPARE, { input: { ...INPUT, renditions: ['OPUS_OGG'] } });
    const id: string = r.data.prepareAudioUpload.asset.id;
    const ogg = Buffer.from('OggS fake opus bytes');
    await t.s3.client.send(new PutObjectCommand({ Bucket: t.s3.bucket, Key: `audio/${id}.ogg`, Body: ogg }));
    // What the worker records with DONE (asset_events carries it to the API).
    await db.query(
      `update audio_asset set status = 'DONE', duration_seconds = 1, loudness_integrated = -18.5, loudness_range = 3.25,
         loudness_true_peak = -1.5, rendition_sizes = $2 where id = $1`,
      [id, { OPUS_OGG: ogg.length }],
    );
    let asset: any;
    for (let i = 0; i < 50 && asset?.status !== 'DONE'; i++) {
      asset = (await t.gql(LOUDNESS, { id })).data.asset;
      if (asset.status !== 'DONE') await new Promise((res) => setTimeout(res, 50));
    }
    assert.deepEqual(asset.loudness, { integrated: -18.5, range: 3.25, truePeak: -1.5 });
    assert.equal(asset.renditions.length, 1);
    const [opus] = asset.renditions;
    assert.equal(opus.format, 'OPUS_OGG');
    assert.equal(opus.size, ogg.length);
    assert.equal(opus.mimeType, 'audio/ogg');
    const got = await fetch(opus.url);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'audio/ogg');
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), ogg);
    // The same URL within a signing window, like `url`.
    assert.equal((await t.gql(LOUDNESS, { id })).data.asset.renditions[0].url, opus.url);

    const del = await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id });
    assert.equal(del.data.deleteAudioAsset, true);
    assert.ok(!(await t.s3.listKeys()).includes(`audio/${id}.ogg`));
  });
});
