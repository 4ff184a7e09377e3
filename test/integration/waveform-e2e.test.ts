// Waveform data through the real worker: upload, process, fetch each level
// through its presigned URL as a browser would, parse it with waveform-data.js
// and compare it with a plain ffmpeg decode; the objects go with the asset.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { COMPLETE, prepareAndPut, startTestAppWithDir, type TestApp } from '../helpers/app.js';
import { makeAudio } from '../helpers/fixtures.js';
import { checkLevels, makeSwellWav, referencePcm } from '../helpers/waveform-reference.js';

const WAVEFORM_DATA = /* GraphQL */ `
  query($id: ID!) {
    asset(id: $id) {
      status duration waveform(bars: 8)
      waveformData { sampleRate samplesPerPixel length bits datUrl jsonUrl }
      telegram: chatWaveform(format: TELEGRAM) { values encoded }
      discord: chatWaveform(format: DISCORD) { values encoded }
      matrix: chatWaveform(format: MATRIX) { values encoded }
      error { code }
    }
  }`;

interface Level { sampleRate: number; samplesPerPixel: number; length: number; bits: number; datUrl: string; jsonUrl: string }

async function processToEnd(t: TestApp, file: string, contentType: string): Promise<{ id: string; asset: any }> {
  const id = await prepareAndPut(t, file, { contentType });
  const c = await t.gql(COMPLETE, { id });
  assert.equal(c.errors, undefined, JSON.stringify(c.errors));
  for (const started = Date.now(); Date.now() - started < 60_000; await new Promise((r) => setTimeout(r, 100))) {
    const r = await t.gql(WAVEFORM_DATA, { id });
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    const asset = (r.data as any).asset;
    if (asset.status === 'DONE' || asset.status === 'FAILED') return { id, asset };
  }
  throw new Error('not processed within 60 s');
}

const waveformKeys = async (t: TestApp, id: string) => (await t.s3.listKeys()).filter((k) => k.startsWith(`waveform/${id}/`)).sort();

describe('waveform data through the worker', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    ({ t, dir } = await startTestAppWithDir('waveform-e2e-'));
  });
  after(() => t?.stop());

  it('serves every level as .dat and JSON that waveform-data.js parses, matching a plain ffmpeg decode, and deletes them with the asset', async () => {
    const file = path.join(dir, 'swell.wav');
    // Stereo at 48 kHz: the worker's downmix and resample must be those of `ffmpeg -ac 1 -ar 44100`.
    await makeSwellWav(file, 40, 2); // 1.76 M samples: levels 256 (6,891 pairs) and 1024 (1,723)
    const { id, asset } = await processToEnd(t, file, 'audio/wav');
    assert.equal(asset.status, 'DONE', JSON.stringify(asset.error));
    const levels = asset.waveformData as Level[];
    assert.ok(levels.every((l) => l.sampleRate === 44_100 && l.bits === 8));
    const fetched = await Promise.all(
      levels.map(async (l) => {
        const dat = await fetch(l.datUrl);
        assert.equal(dat.status, 200);
        const json = await fetch(l.jsonUrl);
        assert.equal(json.status, 200);
        assert.match(json.headers.get('content-type') ?? '', /application\/json/);
        const body = Buffer.from(await dat.arrayBuffer());
        assert.equal(body.length, 24 + 2 * l.length, 'header and one pair per length');
        return { samplesPerPixel: l.samplesPerPixel, dat: body, json: await json.json() };
      }),
    );
    const pcm = await referencePcm(file);
    await checkLevels(fetched, pcm, Math.round(asset.duration * 44_100));

    // Chat formats: the contract's counts and ranges, from the same envelope as `waveform`.
    assert.equal(asset.telegram.values.length, 100);
    assert.equal(Buffer.from(asset.telegram.encoded, 'base64').length, 63);
    assert.equal(asset.discord.values.length, 256);
    assert.deepEqual([...Buffer.from(asset.discord.encoded, 'base64')], asset.discord.values);
    assert.equal(Math.max(...asset.matrix.values), 1024);
    assert.equal(asset.matrix.encoded, null);

    assert.deepEqual(
      await waveformKeys(t, id),
      levels.flatMap((l) => [`waveform/${id}/${l.samplesPerPixel}.dat`, `waveform/${id}/${l.samplesPerPixel}.json`]).sort(),
    );
    const del = await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id });
    assert.equal(del.errors, undefined, JSON.stringify(del.errors));
    assert.deepEqual(await waveformKeys(t, id), []);
  });

  it('leaves no waveform object behind a FAILED asset', async () => {
    const file = await makeAudio(dir, { kind: 'mp3-garbage' });
    const { id, asset } = await processToEnd(t, file, 'audio/mpeg');
    assert.equal(asset.status, 'FAILED');
    assert.equal(asset.waveformData, null);
    assert.equal(asset.telegram, null);
    assert.deepEqual(await waveformKeys(t, id), []);
  });

  it('lets the sweep remove waveform objects of an asset that no longer exists', async () => {
    const ghost = '11111111-2222-4333-8444-555555555555';
    await t.app.storage.uploadFile({ key: `waveform/${ghost}/256.dat`, path: path.join(dir, 'swell.wav'), contentType: 'application/octet-stream' });
    const swept = await t.app.sweep({ full: true });
    assert.ok(swept.orphansDeleted.includes(`waveform/${ghost}/256.dat`), JSON.stringify(swept));
    assert.deepEqual(await waveformKeys(t, ghost), []);
  });
});
