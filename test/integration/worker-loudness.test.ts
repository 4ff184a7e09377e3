// Loudness, normalisation and the Opus rendition through the real worker:
// upload, complete, wait for DONE, then measure what was stored.
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { COMPLETE, PREPARE, readUntil, startTestAppWithDir, type TestApp } from '../helpers/app.js';
import { ebur128, filePcm, lavfiMp3 } from '../helpers/ebur128.js';
import { probe } from '../helpers/inspect-audio.js';

const ASSET = /* GraphQL */ `
  query($id: ID!) { asset(id: $id) {
    status duration url error { code message }
    loudness { integrated range truePeak } renditions { format url size mimeType } } }`;

const SPEECH = ['anoisesrc=color=pink:seed=11:sample_rate=44100:amplitude=0.5', 'bandpass=f=1000:width_type=o:w=2,tremolo=f=3:d=0.9'] as const;

/** prepare (with options) + PUT + complete, then poll until the asset ends. */
async function processWith(t: TestApp, file: string, options: Record<string, unknown> = {}): Promise<{ id: string; asset: any }> {
  const body = await (await import('node:fs/promises')).readFile(file);
  const prepared = await t.gql(PREPARE, { input: { filename: 'in.mp3', size: body.length, contentType: 'audio/mpeg', ...options } });
  assert.equal(prepared.errors, undefined, JSON.stringify(prepared.errors));
  const p = prepared.data.prepareAudioUpload;
  const headers = Object.fromEntries(p.uploadHeaders.map((h: { name: string; value: string }) => [h.name, h.value]));
  assert.ok((await fetch(p.uploadUrl, { method: 'PUT', headers, body })).ok);
  const id: string = p.asset.id;
  assert.equal((await t.gql(COMPLETE, { id })).errors, undefined);
  for (let i = 0; i < 600; i++) {
    const asset = (await t.gql(ASSET, { id })).data.asset;
    if (asset.status === 'DONE' || asset.status === 'FAILED') return { id, asset };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`asset ${id} did not end`);
}

async function download(url: string, dir: string, name: string): Promise<{ file: string; type: string | null }> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  const file = path.join(dir, name);
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  return { file, type: res.headers.get('content-type') };
}

describe('loudness through the worker', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    ({ t, dir } = await startTestAppWithDir('loudness-e2e-'));
  });
  after(() => t?.stop());

  it('measures the PCM it encodes as ffmpeg ebur128 does, and the M4A keeps that loudness', async () => {
    const input = await lavfiMp3(path.join(dir, 'speech.mp3'), SPEECH[0], 8, SPEECH[1]);
    const { asset } = await processWith(t, input);
    assert.equal(asset.status, 'DONE', JSON.stringify(asset.error));
    const ref = await ebur128(await filePcm(input)); // the worker's decode: mono 44.1 kHz
    const l = asset.loudness;
    assert.ok(l && ref.integrated !== null, JSON.stringify({ l, ref }));
    assert.ok(Math.abs(l.integrated - ref.integrated) <= 0.55, JSON.stringify({ l, ref }));
    assert.ok(Math.abs(l.range - ref.range) <= 1.05, JSON.stringify({ l, ref }));
    assert.ok(Math.abs(l.truePeak - ref.truePeak) <= 0.55, JSON.stringify({ l, ref }));
    const out = await ebur128(await filePcm((await download(asset.url, dir, 'speech.m4a')).file));
    assert.ok(Math.abs(out.integrated! - l.integrated) <= 0.5, JSON.stringify({ l, out }));
    assert.deepEqual(asset.renditions, []);
  });

  it('normalises a quiet file to the target with one gain, its true peak at or below -1 dBTP', async () => {
    const input = await lavfiMp3(path.join(dir, 'quiet.mp3'), SPEECH[0], 8, `${SPEECH[1]},volume=-18dB`);
    const { asset } = await processWith(t, input, { loudnessTarget: -16 });
    assert.equal(asset.status, 'DONE', JSON.stringify(asset.error));
    assert.ok(Math.abs(asset.loudness.integrated - -16) <= 1, JSON.stringify(asset.loudness));
    assert.ok(asset.loudness.truePeak <= -1, JSON.stringify(asset.loudness));
    const out = await ebur128(await filePcm((await download(asset.url, dir, 'quiet.m4a')).file));
    assert.ok(Math.abs(out.integrated! - -16) <= 1, JSON.stringify(out));
  });

  it('stops the gain at -1 dBTP rather than limiting a file with loud peaks', async () => {
    // A quiet bed with sharp clicks: reaching -5 LUFS would push the clicks far over full scale.
    const input = await lavfiMp3(path.join(dir, 'peaky.mp3'), "aevalsrc='0.02*sin(2*PI*300*t)+if(lt(mod(t\\,1)\\,0.002)\\,0.7\\,0)':s=44100", 6);
    const { asset } = await processWith(t, input, { loudnessTarget: -5 });
    assert.equal(asset.status, 'DONE', JSON.stringify(asset.error));
    assert.ok(asset.loudness.truePeak <= -1 && asset.loudness.truePeak > -1.6, JSON.stringify(asset.loudness));
    assert.ok(asset.loudness.integrated < -10, JSON.stringify(asset.loudness));
  });

  it('makes the Opus rendition from the same decode: audio/ogg, mono 48 kHz, the duration within 20 ms, deleted with the asset', async () => {
    const input = await lavfiMp3(path.join(dir, 'note.mp3'), SPEECH[0], 3.37, SPEECH[1]);
    const { id, asset } = await processWith(t, input, { renditions: ['OPUS_OGG'] });
    assert.equal(asset.status, 'DONE', JSON.stringify(asset.error));
    assert.equal(asset.renditions.length, 1);
    const [opus] = asset.renditions;
    assert.equal(opus.format, 'OPUS_OGG');
    assert.equal(opus.mimeType, 'audio/ogg');
    const got = await download(opus.url, dir, 'note.ogg');
    assert.equal(got.type, 'audio/ogg');
    // What the contract says the file is: Ogg Opus, mono, 48 kHz; its size as the API reports it.
    const info = await probe(got.file);
    assert.match(info.format.format_name ?? '', /ogg/);
    assert.deepEqual(info.streams.map((st) => [st.codec_name, st.channels, st.sample_rate]), [['opus', 1, '48000']]);
    assert.equal(opus.size, (await stat(got.file)).size);
    const pcm48 = await filePcm(got.file, 48_000);
    assert.ok(Math.abs(pcm48.length / 48_000 - asset.duration) <= 0.02, `${pcm48.length / 48_000} vs ${asset.duration}`);
    assert.ok((await t.s3.listKeys()).includes(`audio/${id}.ogg`));
    assert.equal((await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id })).data.deleteAudioAsset, true);
    assert.deepEqual((await t.s3.listKeys()).filter((k) => k.includes(id)), []);
  });

  it('reports null loudness for digital silence', async () => {
    const input = await lavfiMp3(path.join(dir, 'silence.mp3'), 'anullsrc=r=44100:cl=stereo', 3);
    const { asset } = await processWith(t, input, { loudnessTarget: -16 });
    assert.equal(asset.status, 'DONE', JSON.stringify(asset.error));
    assert.equal(asset.loudness, null);
  });

  it('backfills the loudness of an asset processed before it was measured, from its stored M4A', async () => {
    const input = await lavfiMp3(path.join(dir, 'old.mp3'), SPEECH[0], 6, SPEECH[1]);
    const { id, asset } = await processWith(t, input);
    assert.equal(asset.status, 'DONE');
    const db = new pg.Client({ connectionString: t.db.url });
    await db.connect();
    try {
      // As a row from before the meter: no loudness, never measured.
      await db.query(`update audio_asset set loudness_integrated = null, loudness_range = null, loudness_true_peak = null,
        loudness_measured_at = null where id = $1`, [id]);
      assert.equal(await readUntil(async () => (await t.gql(ASSET, { id })).data.asset.loudness, (l) => l === null), null);
      await t.app.backfill();
      const row = (await db.query('select loudness_integrated, loudness_measured_at from audio_asset where id = $1', [id])).rows[0];
      assert.ok(row.loudness_measured_at instanceof Date);
      // Measured on the AAC's decode: the integrated loudness stays within 0.5 LU of the encoded PCM's.
      assert.ok(Math.abs(row.loudness_integrated - asset.loudness.integrated) <= 0.5, JSON.stringify({ row, was: asset.loudness }));
      assert.equal((await t.app.backfill()).measured, 0);
    } finally {
      await db.end();
    }
  });
});
