// Assets DONE before waveform levels existed get them from the backfill
// (issue 19, item 7): decoded from their stored M4A, stored beside it, served
// like any other asset's. One that cannot be decoded is marked, not retried.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { COMPLETE, prepareAndPut, readUntil, startTestAppWithDir, waitForEnd, type TestApp } from '../helpers/app.js';
import { checkLevels, makeSwellWav, referencePcm } from '../helpers/waveform-reference.js';

const LEVELS = /* GraphQL */ `
  query($id: ID!) { asset(id: $id) { status duration url loudness { integrated } waveformData { samplesPerPixel length datUrl jsonUrl } } }`;

interface Level { samplesPerPixel: number; length: number; datUrl: string; jsonUrl: string }

describe('waveform level backfill', () => {
  let t: TestApp;
  let dir: string;
  let db: pg.Client;
  before(async () => {
    ({ t, dir } = await startTestAppWithDir('waveform-backfill-'));
    db = new pg.Client({ connectionString: t.db.url });
    await db.connect();
  });
  after(async () => {
    await db?.end();
    await t?.stop();
  });

  const asset = async (id: string) => {
    const r = await t.gql(LEVELS, { id });
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    return (r.data as any).asset;
  };
  const waveformKeys = async (id: string) => (await t.s3.listKeys()).filter((k) => k.startsWith(`waveform/${id}/`)).sort();

  /** A DONE asset made to look as it did before levels existed: no levels recorded, none stored. */
  async function olderAsset(name: string): Promise<string> {
    const file = path.join(dir, `${name}.wav`);
    await makeSwellWav(file, 40, 1); // 1.76 M samples: levels 256 and 1024
    const id = await prepareAndPut(t, file, { contentType: 'audio/wav' });
    assert.equal((await t.gql(COMPLETE, { id })).errors, undefined);
    assert.equal((await waitForEnd(t, id)).status, 'DONE');
    await db.query('update audio_asset set waveform_levels = null where id = $1', [id]);
    for (const key of await waveformKeys(id)) await t.app.storage.delete(key);
    assert.equal(await readUntil(async () => (await asset(id)).waveformData, (w) => w === null), null, 'the contract: null until the backfill has run');
    return id;
  }

  it('makes the levels of an older asset from its stored M4A, as a plain decode of that M4A gives them', async () => {
    const id = await olderAsset('old');
    const result = await t.app.backfill();
    assert.deepEqual(result, { measured: 1, failed: 0, yielded: false });
    const done = await asset(id);
    const levels = done.waveformData as Level[];
    assert.deepEqual(levels.map((l) => l.samplesPerPixel), [256, 1024]);
    const fetched = await Promise.all(levels.map(async (l) => ({
      samplesPerPixel: l.samplesPerPixel,
      dat: Buffer.from(await (await fetch(l.datUrl)).arrayBuffer()),
      json: await (await fetch(l.jsonUrl)).json(),
    })));
    const m4a = path.join(dir, 'stored.m4a');
    await writeFile(m4a, Buffer.from(await (await fetch(done.url)).arrayBuffer()));
    const pcm = await referencePcm(m4a);
    await checkLevels(fetched, pcm, pcm.length);
    assert.deepEqual(await waveformKeys(id), [`waveform/${id}/1024.dat`, `waveform/${id}/1024.json`, `waveform/${id}/256.dat`, `waveform/${id}/256.json`]);
    // Its loudness was already measured: left as it was. Nothing is owed any more.
    assert.ok(Number.isFinite(done.loudness.integrated));
    assert.deepEqual(await t.app.backfill(), { measured: 0, failed: 0, yielded: false });
  });

  it('marks an asset whose stored M4A cannot be decoded, keeps it null and does not try it again', async () => {
    const id = await olderAsset('broken');
    await db.query('update audio_asset set loudness_measured_at = null where id = $1', [id]);
    await t.s3.client.send(new PutObjectCommand({ Bucket: t.s3.bucket, Key: `audio/${id}.m4a`, Body: Buffer.alloc(4096, 7) }));
    assert.deepEqual(await t.app.backfill(), { measured: 0, failed: 1, yielded: false });
    const row = (await db.query('select waveform_levels, loudness_measured_at from audio_asset where id = $1', [id])).rows[0];
    assert.deepEqual(row.waveform_levels, []);
    assert.ok(row.loudness_measured_at instanceof Date);
    const after = await asset(id);
    assert.equal(after.status, 'DONE');
    assert.equal(after.waveformData, null);
    assert.deepEqual(await waveformKeys(id), []);
    assert.deepEqual(await t.app.backfill(), { measured: 0, failed: 0, yielded: false });
  });
});
