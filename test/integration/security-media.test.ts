// Hostile uploads through the real pipeline (presigned PUT -> complete ->
// worker -> ffmpeg -> storage): bombs, polyglots, replayed upload URLs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { resolveFfmpeg } from '../../src/media/ffmpeg-binary.js';
import { ASSET, COMPLETE, PREPARE, prepareAndPut, startTestApp, type TestApp } from '../helpers/app.js';
import { objectsOf } from '../helpers/waveform-reference.js';

const MB = 1024 * 1024;
const PHP = Buffer.from('<?php system($_GET["cmd"]); __halt_compiler(); ?>\n');
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.from('ELF-PAYLOAD-MARKER'), Buffer.alloc(256, 0x90)]);

async function ffmpeg(args: string[]): Promise<void> {
  const { path: bin } = await resolveFfmpeg(process.env.FFMPEG_PATH);
  await new Promise<void>((resolve, reject) =>
    execFile(bin, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], { timeout: 120_000 }, (e, _o, err) =>
      e ? reject(new Error(err || e.message)) : resolve(),
    ),
  );
}

/** Bytes under `dir`, recursively (files vanish while we walk: that is fine). */
async function duBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? await duBytes(p) : (await stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('hostile media through the real pipeline', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    t = await startTestApp({ env: { UPLOAD_URL_TTL_SECONDS: '120' } });
    dir = await mkdtemp(path.join(tmpdir(), 'security-media-'));
  });
  after(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Completes an uploaded asset and polls it to its end, sampling TMPDIR's size meanwhile. */
  async function runToEnd(id: string, timeoutMs: number) {
    const started = Date.now();
    let peakTmpBytes = 0;
    const c = await t.gql(COMPLETE, { id });
    assert.equal(c.errors, undefined, JSON.stringify(c.errors));
    for (;;) {
      peakTmpBytes = Math.max(peakTmpBytes, await duBytes(t.tmpDir));
      const a = (await t.gql(ASSET, { id })).data.asset;
      if (a.status === 'DONE' || a.status === 'FAILED') return { asset: a, seconds: (Date.now() - started) / 1000, peakTmpBytes };
      if (Date.now() - started > timeoutMs) return { asset: a, seconds: (Date.now() - started) / 1000, peakTmpBytes };
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('ends a 70 KB FLAC that decodes to 10 hours TOO_LONG within seconds, TMPDIR never over 2 MB', async () => {
    const file = path.join(dir, 'bomb.flac');
    await ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '36000', '-c:a', 'flac', '-frame_size', '65535', file]);
    const size = (await stat(file)).size;
    assert.ok(size < 100 * 1024, `bomb is ${size} bytes`);
    const id = await prepareAndPut(t, file, { contentType: 'audio/flac', filename: 'song.flac' });
    const { asset, seconds, peakTmpBytes } = await runToEnd(id, 30_000);
    assert.equal(asset.status, 'FAILED');
    assert.equal(asset.error.code, 'TOO_LONG');
    assert.ok(seconds < 10, `took ${seconds} s`);
    assert.ok(peakTmpBytes < 2 * MB, `TMPDIR held ${peakTmpBytes} bytes`);
    assert.deepEqual((await t.s3.listKeys()).filter((k) => k.includes(id)), []);
  });

  // WAV ignores what follows its data chunk; the MP3 decoder skips the
  // payload as broken frames (no -xerror for mp3): both must decode.
  const polyglots: [string, string[], Buffer, boolean][] = [
    ['a WAV with a PHP script and an ELF binary appended', ['-c:a', 'pcm_s16le'], Buffer.concat([PHP, ELF]), true],
    ['an MP3 with a PHP script and an ELF binary appended', ['-c:a', 'libmp3lame', '-b:a', '64k'], Buffer.concat([PHP, ELF]), true],
  ];
  for (const [name, codec, payload, mustDecode] of polyglots) {
    it(`serves nothing but a freshly encoded M4A for ${name}, and deletes the original`, async () => {
      const ext = codec.includes('pcm_s16le') ? 'wav' : 'mp3';
      const clean = path.join(dir, `clean.${ext}`);
      await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', ...codec, clean]);
      const polyglot = Buffer.concat([await readFile(clean), payload]);
      const id = await prepareAndPut(t, polyglot, { filename: 'shell.php', contentType: 'audio/mpeg' });
      const { asset } = await runToEnd(id, 60_000);
      if (asset.status === 'FAILED' && !mustDecode) {
        assert.equal(asset.url, null);
        assert.deepEqual((await t.s3.listKeys()).filter((k) => k.includes(id)), []);
        return;
      }
      assert.equal(asset.status, 'DONE', JSON.stringify(asset));
      const output = Buffer.from(await (await fetch(asset.url)).arrayBuffer());
      assert.equal(output.subarray(4, 8).toString('latin1'), 'ftyp');
      for (const marker of ['<?php', 'system(', 'ELF-PAYLOAD-MARKER', '\x7fELF']) {
        assert.equal(output.indexOf(Buffer.from(marker, 'latin1')), -1, `output contains ${JSON.stringify(marker)}`);
      }
      assert.deepEqual(objectsOf(await t.s3.listKeys(), id), [`audio/${id}.m4a`, `waveform/${id}/`]);
    });
  }

  it('serves the result as audio/mp4 under a server-made file name, whatever the client called it', async () => {
    const clean = path.join(dir, 'named.wav');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=300:duration=1', clean]);
    const id = await prepareAndPut(t, clean, { filename: '../../"><script>alert(1)</script>.html', contentType: 'audio/wav' });
    const { asset } = await runToEnd(id, 60_000);
    assert.equal(asset.status, 'DONE');
    const stored = await t.s3.client.send(new HeadObjectCommand({ Bucket: t.s3.bucket, Key: `audio/${id}.m4a` }));
    assert.equal(stored.ContentType, 'audio/mp4');
    assert.equal(stored.ContentDisposition, `inline; filename="audio-${id}.m4a"`);
    const served = await fetch(asset.url);
    assert.equal(served.headers.get('content-type'), 'audio/mp4');
    assert.equal(served.headers.get('content-disposition'), `inline; filename="audio-${id}.m4a"`);
    assert.ok(!(await t.s3.listKeys()).some((k) => k.includes('script') || k.includes('..')));
  });

  it('hands out a short-lived PUT URL for uploads/<id> only, signing the type and the length', async () => {
    const r = await t.gql(PREPARE, { input: { filename: '../../etc/passwd', size: 4096, contentType: 'audio/ogg' } });
    const p = r.data.prepareAudioUpload;
    const url = new URL(p.uploadUrl);
    assert.equal(url.pathname, `/${t.s3.bucket}/uploads/${p.asset.id}`);
    assert.equal(url.searchParams.get('X-Amz-Expires'), '120');
    const signed = url.searchParams.get('X-Amz-SignedHeaders')!.split(';');
    assert.ok(signed.includes('content-type') && signed.includes('content-length') && signed.includes('host'), signed.join(';'));
  });

  async function jobsFor(id: string): Promise<number> {
    const c = new pg.Client({ connectionString: t.db.url });
    await c.connect();
    try {
      const r = await c.query(`select count(*)::int as n from pgboss.job where data->>'assetId' = $1 and name = 'process-audio'`, [id]);
      return r.rows[0].n as number;
    } finally {
      await c.end();
    }
  }

  it('never processes or serves what is PUT through an old URL after the asset FAILED', async () => {
    const audio = path.join(dir, 'replay.wav');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=500:duration=1', audio]);
    const body = await readFile(audio);
    const prepared = (await t.gql(PREPARE, { input: { filename: 'r.wav', size: body.length, contentType: 'audio/wav' } })).data.prepareAudioUpload;
    const put = (b: Buffer) => fetch(prepared.uploadUrl, { method: 'PUT', headers: { 'content-type': 'audio/wav' }, body: b });
    await put(body.subarray(0, 100)); // wrong size: FAILED SIZE_MISMATCH at completion
    const failed = (await t.gql(COMPLETE, { id: prepared.asset.id })).data.completeAudioUpload;
    assert.equal(failed.error.code, 'SIZE_MISMATCH');
    assert.equal((await put(body)).ok, true); // the URL has not expired: the storage takes it
    const again = (await t.gql(COMPLETE, { id: prepared.asset.id })).data.completeAudioUpload;
    assert.deepEqual(again, failed, 'completeAudioUpload returns the FAILED asset unchanged');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await jobsFor(prepared.asset.id), 0);
    const now = (await t.gql(ASSET, { id: prepared.asset.id })).data.asset;
    assert.equal(now.status, 'FAILED');
    assert.equal(now.url, null);
    assert.ok(!(await t.s3.listKeys()).includes(`audio/${prepared.asset.id}.m4a`));
  });

  it('never changes what is served when an old URL is replayed after the asset is DONE', async () => {
    const first = path.join(dir, 'first.wav');
    const other = path.join(dir, 'other.wav');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=700:duration=1', first]);
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=1500:duration=1', other]);
    const body = await readFile(first);
    const prepared = (await t.gql(PREPARE, { input: { filename: 'd.wav', size: body.length, contentType: 'audio/wav' } })).data.prepareAudioUpload;
    await fetch(prepared.uploadUrl, { method: 'PUT', headers: { 'content-type': 'audio/wav' }, body });
    const { asset } = await runToEnd(prepared.asset.id, 60_000);
    assert.equal(asset.status, 'DONE');
    const servedBefore = sha(new Uint8Array(await (await fetch(asset.url)).arrayBuffer()));
    await fetch(prepared.uploadUrl, { method: 'PUT', headers: { 'content-type': 'audio/wav' }, body: await readFile(other) });
    const again = (await t.gql(COMPLETE, { id: asset.id })).data.completeAudioUpload;
    assert.equal(again.status, 'DONE');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await jobsFor(asset.id), 1);
    const url = (await t.gql(ASSET, { id: asset.id })).data.asset.url;
    assert.equal(sha(new Uint8Array(await (await fetch(url)).arrayBuffer())), servedBefore);
  });

  /** digital silence in Ogg Opus at 500 bit/s, 120 ms packets: ~100 bytes a second of audio. */
  async function opusSilence(name: string, seconds: number): Promise<string> {
    const seed = path.join(dir, 'seed.opus');
    const file = path.join(dir, name);
    await ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=mono', '-t', '60', '-c:a', 'libopus', '-b:a', '500', '-frame_duration', '120', '-f', 'ogg', seed]);
    await ffmpeg(['-stream_loop', '-1', '-i', seed, '-t', String(seconds), '-c', 'copy', '-f', 'ogg', file]);
    return file;
  }

  /** Uploads a bomb and expects TOO_LONG within 10 s with TMPDIR under 2 MB; deletes it either way (a running job holds a worker). */
  async function expectBombRefused(file: string, maxBytes: number) {
    const size = (await stat(file)).size;
    assert.ok(size < maxBytes, `bomb is ${size} bytes`);
    const id = await prepareAndPut(t, file, { contentType: 'audio/ogg', filename: 'voice.opus' });
    try {
      const { asset, seconds, peakTmpBytes } = await runToEnd(id, 12_000);
      assert.equal(asset.status, 'FAILED', `still ${asset.status} after ${seconds} s, TMPDIR peak ${peakTmpBytes} bytes`);
      assert.equal(asset.error.code, 'TOO_LONG');
      assert.ok(seconds < 10, `took ${seconds} s`);
      assert.ok(peakTmpBytes < 2 * MB, `TMPDIR held ${peakTmpBytes} bytes`);
    } finally {
      await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id });
    }
  }

  it('ends a 2 MB Ogg Opus of digital silence that decodes to 10 hours TOO_LONG within seconds, TMPDIR never over 2 MB', async () => {
    await expectBombRefused(await opusSilence('bomb10h.opus', 36_000), 2.5 * MB);
  });

  // An Ogg granule count is exact: held to the one TOO_LONG rule before ffmpeg starts.
  it('ends a 1 MB Ogg Opus of digital silence that decodes to 5 hours (limit 4 h) TOO_LONG within seconds', async () => {
    await expectBombRefused(await opusSilence('bomb5h.opus', 18_000), 1.5 * MB);
  });
});
