// Our ADTS -> faststart M4A writer against the real ffmpeg: the same lavfi
// source goes through ffmpeg once, written three ways like the worker does
// (ADTS for our muxer, ffmpeg's own `-f ipod -movflags +faststart` M4A as the
// reference, and s16le PCM whose length is the real sample count). ffmpeg's
// native AAC encoder is deterministic, so both M4As carry the same frames and
// must decode to the same PCM, byte for byte.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findExecutable, resolveFfmpeg } from '../../src/media/ffmpeg-binary.js';
import { writeFaststartM4a } from '../../src/media/m4a-file.js';
import { isFaststart, readTopLevelBoxes } from '../../src/media/mp4-boxes.js';
import { inspectM4a } from '../helpers/inspect-audio.js';

const RATE = 44_100;
const AAC = ['-c:a', 'aac', '-profile:a', 'aac_low', '-b:a', '64k', '-ac', '1', '-ar', String(RATE)];

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 60_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${path.basename(bin)} ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** SHA-256 and length of the s16le PCM ffmpeg decodes from `file`, streamed rather than held. */
function decodePcm(ffmpeg: string, file: string): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-v', 'error', '-nostdin', '-i', file, '-f', 's16le', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { hash.update(chunk); bytes += chunk.length; });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ sha256: hash.digest('hex'), bytes }) : reject(new Error(`decode ${file}: ${stderr}`))));
  });
}

interface Packet { pts: number; dts: number; duration: number; size: number; pos: number; flags: string }

async function packets(ffprobe: string, file: string): Promise<Packet[]> {
  // JSON rather than CSV: the first packet's skip-samples side data adds a row to CSV.
  const json = await run(ffprobe, ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'packet=pts,dts,duration,size,pos,flags', '-of', 'json', file]);
  return (JSON.parse(json) as { packets: Array<Record<keyof Packet, string | number>> }).packets.map((p) => ({
    pts: Number(p.pts), dts: Number(p.dts), duration: Number(p.duration), size: Number(p.size), pos: Number(p.pos), flags: String(p.flags),
  }));
}

/** The bytes of the box at `boxPath` (e.g. moov/trak/.../stsz) inside the file's moov, found by walking box headers. */
async function sampleTableBox(file: string, boxPath: string): Promise<Buffer> {
  const moov = (await readTopLevelBoxes(file)).find((b) => b.type === 'moov')!;
  const handle = await open(file, 'r');
  const buf = Buffer.alloc(moov.size);
  try { await handle.read(buf, 0, moov.size, moov.offset); } finally { await handle.close(); }
  let [start, end] = [8, buf.length];
  let found: Buffer | undefined;
  for (const type of boxPath.split('/').slice(1)) {
    found = undefined;
    for (let at = start; at < end; at += buf.readUInt32BE(at)) {
      if (buf.toString('latin1', at + 4, at + 8) === type) { found = buf.subarray(at, at + buf.readUInt32BE(at)); [start, end] = [at + 8, at + found.length]; break; }
    }
    assert.ok(found, `${file}: no ${type} on ${boxPath}`);
  }
  return found!;
}

const STBL = 'moov/trak/mdia/minf/stbl';

const CASES = [
  // 441 samples: one priming frame plus one real one, the shortest useful file.
  { name: 'a 10 ms blip (two AAC frames)', source: `sine=frequency=1000:sample_rate=${RATE}:duration=0.01` },
  // 54441 samples = 1234.49 ms: the edit list has to round.
  { name: 'a tone ending mid-millisecond', source: `sine=frequency=440:sample_rate=${RATE},atrim=end_sample=54441` },
  // 44032 + 1024 priming = 44 x 1024: the last frame is full, one stts run.
  { name: 'a tone that fills its last frame exactly', source: `sine=frequency=300:sample_rate=${RATE},atrim=end_sample=44032` },
  // ~2.4 MB of AAC: three 1 MiB chunks.
  { name: 'five minutes of pink noise', source: `anoisesrc=color=pink:amplitude=0.3:seed=7:sample_rate=${RATE}:duration=300` },
];

describe('ADTS to faststart M4A against ffmpeg', () => {
  let dir: string;
  let ffmpeg: string;
  let ffprobe: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'm4a-mux-'));
    ffmpeg = (await resolveFfmpeg(process.env.FFMPEG_PATH)).path;
    const probe = await findExecutable(process.env.FFPROBE_PATH ?? 'ffprobe')
      ?? await findExecutable(path.join(path.dirname(ffmpeg), 'ffprobe'));
    assert.ok(probe, 'ffprobe not found: set FFPROBE_PATH');
    ffprobe = probe;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** One decode, three outputs, like the worker: ADTS, ffmpeg's M4A, PCM. Returns their paths and the sample count. */
  async function encode(name: string, source: string) {
    const file = (ext: string) => path.join(dir, `${name}.${ext}`);
    await run(ffmpeg, ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', source,
      '-map', '0:a', ...AAC, '-f', 'adts', file('aac'),
      '-map', '0:a', ...AAC, '-movflags', '+faststart', '-f', 'ipod', file('ffmpeg.m4a'),
      '-map', '0:a', '-c:a', 'pcm_s16le', '-ac', '1', '-ar', String(RATE), '-f', 's16le', file('pcm')]);
    const samples = (await stat(file('pcm'))).size / 2;
    await rm(file('pcm'));
    return { adts: file('aac'), reference: file('ffmpeg.m4a'), ours: file('ours.m4a'), samples };
  }

  CASES.forEach(({ name, source }, i) => {
    it(`muxes ${name} into an M4A that decodes exactly like ffmpeg's own`, async () => {
      const { adts, reference, ours, samples } = await encode(`case${i}`, source);
      const result = await writeFaststartM4a({ adtsPath: adts, outputPath: ours, durationSamples: samples, sampleRate: RATE });
      assert.equal(result.bytes, (await stat(ours)).size);

      const info = await inspectM4a(ours);
      assert.deepEqual(info.boxes, ['ftyp', 'moov', 'mdat']);
      assert.ok(isFaststart(await readTopLevelBoxes(ours)));
      assert.deepEqual([info.majorBrand, info.codec, info.profile, info.channels, info.sampleRate], ['M4A ', 'aac', 'LC', 1, RATE]);
      assert.ok(Math.abs(info.durationSeconds - samples / RATE) <= 0.001, `duration ${info.durationSeconds} vs ${samples / RATE}`);

      // Same PCM proves the priming skip (edit list), the frame order and every size/offset.
      const [mine, theirs] = await Promise.all([decodePcm(ffmpeg, ours), decodePcm(ffmpeg, reference)]);
      assert.equal(mine.bytes, theirs.bytes);
      assert.equal(mine.sha256, theirs.sha256, 'decoded PCM differs from ffmpeg’s own M4A');

      // Packet by packet, as ffmpeg's demuxer sees them: same sizes and
      // timestamps; positions shifted by the header length difference. The
      // last duration comes from the edit list end, rounded to a ms by each.
      const [a, b] = await Promise.all([packets(ffprobe, ours), packets(ffprobe, reference)]);
      assert.equal(a.length, result.frames);
      assert.equal(a.length, b.length);
      const shift = a[0]!.pos - b[0]!.pos;
      a.forEach((p, k) => {
        const q = b[k]!;
        assert.deepEqual([p.pts, p.dts, p.size, p.flags, p.pos - shift], [q.pts, q.dts, q.size, q.flags, q.pos], `packet ${k}`);
        if (k < a.length - 1) assert.equal(p.duration, q.duration, `packet ${k} duration`);
        else assert.ok(Math.abs(p.duration - q.duration) <= Math.ceil(RATE / 1000), `last packet duration ${p.duration} vs ${q.duration}`);
      });

      // The sample tables themselves: byte-identical to ffmpeg's, chunk offsets shifted.
      for (const box of ['stts', 'stsc', 'stsz', 'sgpd', 'sbgp']) {
        assert.deepEqual(await sampleTableBox(ours, `${STBL}/${box}`), await sampleTableBox(reference, `${STBL}/${box}`), box);
      }
      const offsets = async (file: string) => {
        const stco = await sampleTableBox(file, `${STBL}/stco`);
        return Array.from({ length: stco.readUInt32BE(12) }, (_, c) => stco.readUInt32BE(16 + 4 * c));
      };
      const [ourOffsets, theirOffsets] = await Promise.all([offsets(ours), offsets(reference)]);
      assert.equal(ourOffsets[0], result.headerBytes);
      assert.deepEqual(ourOffsets.map((o) => o - shift), theirOffsets);
    });
  });

  it('rejects an empty ADTS file and leaves no output behind', async () => {
    const adts = path.join(dir, 'empty.aac');
    const out = path.join(dir, 'empty.m4a');
    await writeFile(adts, '');
    await assert.rejects(writeFaststartM4a({ adtsPath: adts, outputPath: out, durationSamples: 1 }), /no ADTS frames \(empty input\)/);
    await assert.rejects(access(out));
  });

  it('rejects an ADTS file cut inside its last frame, and a sample count the frames cannot hold', async () => {
    const { adts, samples } = await encode('cut', `sine=frequency=500:sample_rate=${RATE}:duration=0.5`);
    const out = path.join(dir, 'cut.m4a');
    await assert.rejects(writeFaststartM4a({ adtsPath: adts, outputPath: out, durationSamples: samples + 1024 }), /exceeds what \d+ AAC frames hold/);
    await assert.rejects(writeFaststartM4a({ adtsPath: adts, outputPath: out, durationSamples: samples, sampleRate: 48_000 }), /AAC is at 44100 Hz/);
    const whole = await readFile(adts);
    await writeFile(adts, whole.subarray(0, whole.length - 3));
    await assert.rejects(writeFaststartM4a({ adtsPath: adts, outputPath: out, durationSamples: samples }), /truncated input/);
    await assert.rejects(access(out));
  });
});
