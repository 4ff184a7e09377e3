// The streamed M4A (m4a-parts.ts) against our file writer (m4a-file.ts),
// whose output is proven against ffmpeg's own in m4a-mux.test.ts: the parts,
// in part-number order, must be that file byte for byte, however the ADTS
// arrives. The parts go to an in-memory PartUpload (the seam the storage
// implements; storage.test.ts runs the real multipart calls on s3rver).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { resolveFfmpeg } from '../../src/media/ffmpeg-binary.js';
import { writeFaststartM4a } from '../../src/media/m4a-file.js';
import { M4aPartsWriter, PartUploadError, type PartUpload } from '../../src/media/m4a-parts.js';
import { transcodeAudio } from '../../src/media/transcode.js';

const RATE = 44_100;
const PART = 64 * 1024;

/** Parts kept in memory, with what happened when; `failOn` makes that part's upload throw. */
class MemoryUpload implements PartUpload {
  readonly parts = new Map<number, Buffer>();
  readonly order: number[] = [];
  completed = false;
  aborted = false;
  constructor(private readonly failOn: number | null = null) {}
  async put(partNumber: number, body: readonly Uint8Array[]): Promise<void> {
    await sleep(1);
    if (partNumber === this.failOn) throw new Error(`part ${partNumber} refused`);
    this.parts.set(partNumber, Buffer.concat(body)); // a copy: the writer reuses its buffers
    this.order.push(partNumber);
  }
  async complete(): Promise<void> { this.completed = true; }
  async abort(): Promise<void> { this.aborted = true; }
  object(): Buffer {
    return Buffer.concat([...this.parts].sort(([a], [b]) => a - b).map(([, part]) => part));
  }
}

function run(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 60_000 }, (error, _stdout, stderr) => (error ? reject(new Error(stderr || error.message)) : resolve()));
  });
}

describe('M4A streamed as multipart parts', () => {
  let dir: string;
  let ffmpeg: string;
  let adts: Buffer;
  let reference: Buffer;
  const samples = 30 * RATE;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'm4a-parts-'));
    ffmpeg = (await resolveFfmpeg(process.env.FFMPEG_PATH)).path;
    // 30 s of noise: ~240 KB of AAC, i.e. a few 64 KiB parts.
    const source = path.join(dir, 'source.aac');
    await run(ffmpeg, ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=0.3:seed=3:sample_rate=${RATE}:duration=30`,
      '-c:a', 'aac', '-b:a', '64k', '-ac', '1', '-ar', String(RATE), '-f', 'adts', source]);
    adts = await readFile(source);
    const out = path.join(dir, 'reference.m4a');
    await writeFaststartM4a({ adtsPath: source, outputPath: out, durationSamples: samples, sampleRate: RATE, movieTimescale: RATE });
    reference = await readFile(out);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Writes the ADTS file in uneven pieces with pauses (pieces cut frames and headers anywhere), like ffmpeg. */
  async function writeSlowly(file: string, pieces: number[]): Promise<void> {
    await writeFile(file, '');
    for (let at = 0, k = 0; at < adts.length; k++) {
      const size = pieces[k % pieces.length]!;
      await appendFile(file, adts.subarray(at, at + size));
      at += size;
      await sleep(2);
    }
  }

  it('uploads the payload while the ADTS is written and the header part last: the same bytes as the file writer', async () => {
    const file = path.join(dir, 'slow.aac');
    const upload = new MemoryUpload();
    let partsBeforeTheEnd = -1;
    const writer = new M4aPartsWriter({ adtsPath: file, partBytes: PART, openUpload: async () => upload, pollMs: 3, readBytes: 10_000 });
    const written = writeSlowly(file, [7, 5000, 3, 40_001, 9]).then(() => { partsBeforeTheEnd = upload.order.length; });
    await writer.follow(written);
    const stored = await writer.finish({ durationSamples: samples, sampleRate: RATE, movieTimescale: RATE });
    await writer.discard();

    assert.ok(stored);
    assert.ok(partsBeforeTheEnd >= 1, 'no part was uploaded while the file was still being written');
    assert.equal(upload.order.at(-1), 1, 'the header part goes last');
    assert.ok(upload.completed && !upload.aborted);
    const parts = [...upload.parts.keys()].sort((a, b) => a - b);
    assert.deepEqual(parts, Array.from({ length: parts.length }, (_, k) => k + 1));
    for (const n of parts.slice(0, -1)) assert.ok(upload.parts.get(n)!.length >= PART, `part ${n} is under the part size`);
    assert.equal(stored.bytes, reference.length);
    assert.equal(stored.parts, parts.length);
    assert.ok(upload.object().equals(reference), 'the streamed object differs from the file writer’s M4A');
  });

  it('opens no upload for an output under two parts: the caller writes the file', async () => {
    const file = path.join(dir, 'short.aac');
    let opened = false;
    const writer = new M4aPartsWriter({ adtsPath: file, partBytes: adts.length, openUpload: async () => { opened = true; return new MemoryUpload(); }, pollMs: 3 });
    await writer.follow(writeSlowly(file, [30_000]));
    assert.equal(await writer.finish({ durationSamples: samples, sampleRate: RATE, movieTimescale: RATE }), null);
    await writer.discard();
    assert.equal(opened, false);
  });

  it('reads nothing when ffmpeg is done before the start delay', async () => {
    const file = path.join(dir, 'quick.aac');
    await writeFile(file, adts);
    let opened = false;
    const writer = new M4aPartsWriter({ adtsPath: file, partBytes: PART, openUpload: async () => { opened = true; return new MemoryUpload(); }, startDelayMs: 5_000 });
    const started = Date.now();
    await writer.follow(Promise.resolve());
    assert.ok(Date.now() - started < 1_000);
    assert.equal(await writer.finish({ durationSamples: samples, sampleRate: RATE, movieTimescale: RATE }), null);
    assert.equal(opened, false);
  });

  it('a refused part stops following with a PartUploadError, and discard aborts the upload', async () => {
    const file = path.join(dir, 'refused.aac');
    const upload = new MemoryUpload(3);
    const writer = new M4aPartsWriter({ adtsPath: file, partBytes: PART, openUpload: async () => upload, pollMs: 3 });
    const written = writeSlowly(file, [20_000]);
    await assert.rejects(writer.follow(written), (e: unknown) => e instanceof PartUploadError && /part 3/.test((e as Error).message));
    await written;
    await writer.discard();
    assert.ok(upload.aborted && !upload.completed);
  });

  it('a storage that cannot start the upload is a PartUploadError too', async () => {
    const file = path.join(dir, 'no-storage.aac');
    const writer = new M4aPartsWriter({ adtsPath: file, partBytes: PART, openUpload: async () => { throw new Error('connection refused'); }, pollMs: 3 });
    await assert.rejects(writer.follow(writeSlowly(file, [20_000])), PartUploadError);
    await writer.discard();
  });

  describe('inside transcodeAudio, with the real ffmpeg writing', () => {
    let input: string;
    let server: Server;
    before(async () => {
      const file = path.join(dir, 'input.wav');
      await run(ffmpeg, ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=0.3:seed=9:sample_rate=${RATE}:duration=120`, file]);
      // ffmpeg only reads http(s) inputs (ffmpeg-args.ts): a plain file server, no ranges needed for WAV.
      const wav = await readFile(file);
      server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': wav.length }).end(wav));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      input = `http://127.0.0.1:${(server.address() as AddressInfo).port}/input.wav`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const transcode = (name: string, upload?: PartUpload, signal = new AbortController().signal) =>
      transcodeAudio({
        ffmpegPath: ffmpeg, inputUrl: input, demuxer: 'wav', outputPath: path.join(dir, `${name}.m4a`),
        maxDurationSeconds: 600, signal,
        ...(upload ? { upload: { partBytes: PART, open: async () => upload, startDelayMs: 0 } } : {}),
      });

    it('stores the same bytes as the ordinary path, and leaves no files', async () => {
      const upload = new MemoryUpload();
      const [streamed, written] = [await transcode('streamed', upload), await transcode('written')];
      assert.equal(streamed.kind, 'done');
      assert.equal(written.kind, 'done');
      assert.ok(streamed.kind === 'done' && streamed.stored && written.kind === 'done' && !written.stored);
      assert.ok(upload.completed && upload.parts.size >= 3);
      // ffmpeg's AAC encoder is deterministic: the same input gives the same frames.
      assert.ok(upload.object().equals(await readFile(path.join(dir, 'written.m4a'))), 'streamed object differs');
      await assert.rejects(stat(path.join(dir, 'streamed.m4a')), { code: 'ENOENT' });
      await assert.rejects(stat(path.join(dir, 'streamed.m4a.aac')), { code: 'ENOENT' });
    });

    it('a refused part ends the transcode as store-failed and aborts the upload', async () => {
      const upload = new MemoryUpload(2);
      const outcome = await transcode('refused', upload);
      assert.equal(outcome.kind, 'store-failed');
      assert.ok(upload.aborted && !upload.completed);
      await assert.rejects(stat(path.join(dir, 'refused.m4a.aac')), { code: 'ENOENT' });
    });

    it('an aborted transcode aborts its upload', async () => {
      const upload = new MemoryUpload();
      const abort = new AbortController();
      const outcome = transcode('aborted', upload, abort.signal);
      while (upload.order.length === 0) await sleep(5);
      abort.abort();
      assert.equal((await outcome).kind, 'aborted');
      assert.ok(upload.aborted && !upload.completed);
    });
  });
});
