// waveformData through the API for a DONE asset whose levels are stored:
// presigned GETs that a browser page can fetch, one URL per object and
// signing window, and deleteAudioAsset removing every level object.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import WaveformData from 'waveform-data';
import { WaveformLevelsAnalyser } from '../../src/analysis/waveform-files.js';
import { PeakReducer, encodeEnvelope } from '../../src/analysis/peaks.js';
import { waveformLevelsOf, waveformOutputs } from '../../src/storage/waveform-objects.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const QUERY = /* GraphQL */ `
  query($id: ID!) { asset(id: $id) { status waveformData { sampleRate samplesPerPixel length bits datUrl jsonUrl } } }`;

describe('waveformData through the API', () => {
  let t: TestApp;
  let dir: string;
  let pool: pg.Pool;
  const id = crypto.randomUUID();

  before(async () => {
    t = await startTestApp({ role: 'api' });
    dir = await mkdtemp(path.join(tmpdir(), 'waveform-api-'));
    pool = new pg.Pool({ connectionString: t.db.url, max: 2 });
    // Levels of 1,100,000 samples of a ramp: 256 (4,297 pairs) and 1,024 (1,075).
    const pcm = new Int16Array(1_100_000).map((_, i) => ((i % 5000) - 2500) * 10);
    const analyser = new WaveformLevelsAnalyser(dir);
    const peaks = new PeakReducer();
    analyser.push(pcm);
    peaks.push(pcm);
    const files = await analyser.finish();
    await Promise.all(waveformOutputs(id, files).map((f) => t.app.storage.uploadFile(f)));
    const levels = waveformLevelsOf(files);
    await pool.query(
      `insert into audio_asset (id, owner_id, status, filename, size, content_type, duration_seconds, envelope, waveform_levels, upload_expires_at)
       values ($1, 'user-a', 'DONE', 'ramp.wav', 1000, 'audio/wav', $2, $3, $4, now())`,
      [id, pcm.length / 44_100, encodeEnvelope(peaks.result()), JSON.stringify(levels)],
    );
  });
  after(async () => {
    await pool?.end();
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every level with URLs a browser page can fetch and waveform-data.js can read, the same URL on every read', async () => {
    const first = await t.gql(QUERY, { id });
    assert.equal(first.errors, undefined, JSON.stringify(first.errors));
    const levels = (first.data as any).asset.waveformData;
    assert.deepEqual(levels.map((l: any) => [l.sampleRate, l.samplesPerPixel, l.length, l.bits]), [[44_100, 256, 4297, 8], [44_100, 1024, 1075, 8]]);
    const again = await t.gql(QUERY, { id });
    assert.deepEqual((again.data as any).asset.waveformData, levels, 'cached per object and signing window');
    for (const l of levels) {
      // A player on another site: the bucket's CORS rules let any origin GET (contract).
      const dat = await fetch(l.datUrl, { headers: { origin: 'https://player.example' } });
      assert.equal(dat.status, 200);
      assert.ok(['*', 'https://player.example'].includes(dat.headers.get('access-control-allow-origin') ?? ''), 'CORS allows the foreign page');
      const wd = WaveformData.create(await dat.arrayBuffer());
      assert.equal(wd.length, l.length);
      assert.equal(wd.scale, l.samplesPerPixel);
      const json = await fetch(l.jsonUrl, { headers: { origin: 'https://editor.example' } });
      assert.equal(json.headers.get('content-type'), 'application/json');
      assert.ok(['*', 'https://editor.example'].includes(json.headers.get('access-control-allow-origin') ?? ''), 'CORS allows the foreign page');
      assert.equal(WaveformData.create((await json.json()) as never).length, l.length);
    }
  });

  it('deletes every level object with the asset', async () => {
    const keys = async () => (await t.s3.listKeys()).filter((k) => k.startsWith(`waveform/${id}/`));
    assert.equal((await keys()).length, 4);
    const r = await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id });
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    assert.deepEqual(await keys(), []);
  });
});
