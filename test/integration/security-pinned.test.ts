// What ffmpeg may decode, and what it decodes: only the audio decoders of the
// accepted containers, only the version of the original that was checked,
// and an outcome that nothing printed from the file's tags can change.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveFfmpeg } from '../../src/media/ffmpeg-binary.js';
import { ASSET, COMPLETE, PREPARE, prepareAndPut, startTestApp, type TestApp } from '../helpers/app.js';

async function ffmpeg(args: string[]): Promise<void> {
  const { path: bin } = await resolveFfmpeg(process.env.FFMPEG_PATH);
  await new Promise<void>((resolve, reject) =>
    execFile(bin, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], { timeout: 120_000 }, (e, _o, err) =>
      e ? reject(new Error(err || e.message)) : resolve(),
    ),
  );
}

async function waitForEnd(t: TestApp, id: string, timeoutMs = 60_000) {
  const started = Date.now();
  for (;;) {
    const asset = (await t.gql(ASSET, { id })).data.asset;
    if (asset.status === 'DONE' || asset.status === 'FAILED' || Date.now() - started > timeoutMs) return asset;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Attempts this worker has handed back to the queue for a retry. */
async function retries(t: TestApp): Promise<number> {
  const text = await (await fetch(`${t.app.url}/metrics`)).text();
  return Number(/^audio_jobs_total\{outcome="retry",code=""\} (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Lines ffmpeg itself prints for storage, network and decode trouble, and for a long input. */
const IMITATED = [
  '[http @ 0x55d0] HTTP error 503 Service Unavailable',
  'Server returned 5XX Server Error reply',
  'Connection refused',
  'Connection reset by peer',
  // The form of ffmpeg's failed-read line, with a URL the file cannot know.
  'http://127.0.0.1:9000/audio/uploads/x?X-Amz-Signature=0000: Input/output error',
  'Invalid data found when processing input',
  '  Duration: 99:00:00.00, start: 0.000000, bitrate: 1 kb/s',
  'received signal 24; Cannot allocate memory',
].join('\n');

describe('ffmpeg decodes only what was checked, and decides nothing from what it prints', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    t = await startTestApp();
    dir = await mkdtemp(path.join(tmpdir(), 'security-pinned-'));
  });
  after(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const tagged: [string, string, string[]][] = [
    ['an MP3 whose ID3 title', 'mp3', ['-c:a', 'libmp3lame', '-b:a', '64k']],
    ['an Ogg Vorbis whose comment', 'ogg', ['-c:a', 'libvorbis']],
    ['an M4A whose title tag', 'm4a', ['-c:a', 'aac', '-b:a', '64k']],
    ['a FLAC whose Vorbis comment', 'flac', ['-c:a', 'flac']],
    ['an Opus whose comment', 'opus', ['-c:a', 'libopus']],
  ];
  for (const [name, ext, codec] of tagged) {
    it(`ends ${name} imitates ffmpeg's I/O, network and decode errors DONE, on the first attempt`, async () => {
      const file = path.join(dir, `tagged.${ext}`);
      await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', ...codec,
        '-metadata', `title=${IMITATED}`, '-metadata', `comment=${IMITATED}`, '-metadata', `artist=${IMITATED}`, file]);
      const id = await prepareAndPut(t, file, { contentType: 'application/octet-stream' });
      const retriedBefore = await retries(t);
      assert.equal((await t.gql(COMPLETE, { id })).errors, undefined);
      const asset = await waitForEnd(t, id);
      assert.equal(await retries(t), retriedBefore, 'no attempt was retried');
      assert.equal(asset.status, 'DONE', JSON.stringify(asset));
      assert.ok(Math.abs(asset.duration - 2) < 0.05, `duration ${asset.duration}`);
      assert.equal(asset.progress, 1);
    });
  }

  it('ends a Matroska file of RealAudio 1.0 FAILED: its decoder is not among the allowed ones', async () => {
    const file = path.join(dir, 'real.mka');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=3:sample_rate=8000', '-c:a', 'real_144', file]);
    const id = await prepareAndPut(t, file, { contentType: 'audio/x-matroska' });
    await t.gql(COMPLETE, { id });
    const asset = await waitForEnd(t, id);
    assert.equal(asset.status, 'FAILED', JSON.stringify(asset));
    assert.equal(asset.error.code, 'UNREADABLE_AUDIO');
    assert.deepEqual((await t.s3.listKeys()).filter((k) => k.includes(id)), []);
  });
});

describe('a second PUT through the upload URL after completion is never processed', () => {
  it('ends FAILED UNREADABLE_AUDIO, and no audio of the second file is produced', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'security-swap-'));
    // The API alone first, so the swap lands before any worker runs the job.
    const api = await startTestApp({ role: 'api' });
    let worker: TestApp | undefined;
    try {
      const [first, second] = [path.join(dir, 'first.wav'), path.join(dir, 'second.wav')];
      await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=700:duration=1', first]);
      await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=1500:duration=1', second]);
      assert.equal((await stat(first)).size, (await stat(second)).size);
      const body = await readFile(first);
      const prepared = (await api.gql(PREPARE, { input: { filename: 'a.wav', size: body.length, contentType: 'audio/wav' } })).data.prepareAudioUpload;
      const put = async (file: string) =>
        (await fetch(prepared.uploadUrl, { method: 'PUT', headers: { 'content-type': 'audio/wav' }, body: await readFile(file) })).ok;
      assert.ok(await put(first));
      assert.equal((await api.gql(COMPLETE, { id: prepared.asset.id })).data.completeAudioUpload.status, 'QUEUED');
      assert.ok(await put(second), 'the URL is still valid: the storage takes the second PUT');
      worker = await startTestApp({ role: 'worker', db: api.db, s3: api.s3, tmpDir: api.tmpDir });
      const asset = await waitForEnd(api, prepared.asset.id);
      assert.equal(asset.status, 'FAILED', JSON.stringify(asset));
      assert.equal(asset.error.code, 'UNREADABLE_AUDIO');
      assert.equal(asset.url, null);
      assert.deepEqual((await api.s3.listKeys()).filter((k) => k.includes(prepared.asset.id)), []);
    } finally {
      await worker?.stop();
      await api.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
