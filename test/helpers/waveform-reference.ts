// An independent reference for waveform data: the PCM straight from
// `ffmpeg -ac 1 -ar 44100 -f s16le`, and audiowaveform's min/max pairs of it
// computed the obvious way (no streaming, no coarser-from-finer shortcut).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import WaveformData from 'waveform-data';
import type { WaveformLevelFile } from '../../src/analysis/waveform-files.js';
import { resolveFfmpeg } from '../../src/media/ffmpeg-binary.js';

/** Mono s16 PCM of the first audio stream at 44.1 kHz, decoded by plain ffmpeg. */
export async function referencePcm(path: string): Promise<Int16Array> {
  const { path: bin } = await resolveFfmpeg(process.env.FFMPEG_PATH);
  const { stdout } = await promisify(execFile)(
    bin,
    ['-v', 'error', '-nostdin', '-i', path, '-map', '0:a:0', '-ac', '1', '-ar', '44100', '-f', 's16le', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 1 << 30 },
  );
  const copy = Buffer.from(stdout);
  return new Int16Array(copy.buffer, copy.byteOffset, copy.length >> 1);
}

/** audiowaveform's 8-bit pairs: min and max of each spp samples, divided by 256 toward zero; [min0, max0, min1, ...]. */
export function referencePairs(pcm: Int16Array, samplesPerPixel: number): Int8Array {
  const out = new Int8Array(2 * Math.ceil(pcm.length / samplesPerPixel));
  for (let p = 0, start = 0; start < pcm.length; p++, start += samplesPerPixel) {
    let min = pcm[start]!;
    let max = min;
    const end = Math.min(pcm.length, start + samplesPerPixel);
    for (let i = start + 1; i < end; i++) {
      const s = pcm[i]!;
      if (s < min) min = s;
      else if (s > max) max = s;
    }
    out[2 * p] = Math.trunc(min / 256);
    out[2 * p + 1] = Math.trunc(max / 256);
  }
  return out;
}

/** Largest difference between two pair lists of the same length. */
export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** A WAV at 48 kHz (so the decode resamples, and downmixes when stereo) whose loudness rises and falls, so pairs differ along the file. */
export async function makeSwellWav(out: string, seconds = 100, channels: 1 | 2 = 2): Promise<void> {
  const { path: bin } = await resolveFfmpeg(process.env.FFMPEG_PATH);
  await promisify(execFile)(bin, [
    '-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `sine=f=220:r=48000:d=${seconds}`,
    '-af', `volume='0.05+0.9*abs(sin(0.4*t))':eval=frame${channels === 2 ? ',pan=stereo|c0=c0|c1=0.5*c0' : ''}`,
    '-c:a', 'pcm_s16le', out,
  ]);
}

/** Checks every level against waveform-data.js and the reference; `samples` is the audio's length (its `duration` x 44,100). */
export async function checkLevels(levels: { samplesPerPixel: number; dat: Buffer; json: unknown }[], pcm: Int16Array, samples: number) {
  // The level rule, worked out here on its own: 256, then x4 down to the first with at most 4,096 pairs.
  const plan = [256];
  while (Math.ceil(samples / plan.at(-1)!) > 4096) plan.push(plan.at(-1)! * 4);
  assert.deepEqual(levels.map((l) => l.samplesPerPixel), plan);
  const duration = samples / 44_100;
  for (const l of levels) {
    const ab = l.dat.buffer.slice(l.dat.byteOffset, l.dat.byteOffset + l.dat.length) as ArrayBuffer;
    const fromDat = WaveformData.create(ab);
    const fromJson = WaveformData.create(l.json as Parameters<typeof WaveformData.create>[0]);
    const reference = referencePairs(pcm, l.samplesPerPixel);
    for (const wd of [fromDat, fromJson]) {
      assert.equal(wd.sample_rate, 44_100);
      assert.equal(wd.scale, l.samplesPerPixel);
      assert.equal(wd.bits, 8);
      assert.equal(wd.channels, 1);
      assert.ok(Math.abs(wd.duration - duration) <= l.samplesPerPixel / 44_100, `level ${l.samplesPerPixel}: ${wd.duration} vs ${duration}`);
      const ch = wd.channel(0);
      const pairs = ch.min_array().flatMap((min, i) => [min, ch.max_sample(i)]);
      assert.ok(maxDifference(pairs, reference) <= 1, `level ${l.samplesPerPixel} differs from the reference by more than one 8-bit step`);
    }
  }
  const coarsest = levels.at(-1)!;
  assert.ok(WaveformData.create(coarsest.json as never).length <= 4096);
  if (levels.length > 1) assert.ok(WaveformData.create(levels.at(-2)!.json as never).length > 4096);
}

export async function readLevelFiles(files: WaveformLevelFile[]) {
  return Promise.all(
    files.map(async (f) => ({ samplesPerPixel: f.samplesPerPixel, dat: await readFile(f.datPath), json: JSON.parse(await readFile(f.jsonPath, 'utf8')) })),
  );
}

/**
 * An asset's stored keys, with its waveform levels (`256.dat`, `256.json`,
 * `1024.dat`, ...) as one `waveform/<id>/` entry, sorted: what a DONE asset
 * keeps is `[audio/<id>.m4a, waveform/<id>/]`.
 */
export function objectsOf(keys: readonly string[], id: string): string[] {
  const level = new RegExp(`^waveform/${id}/\\d+\\.(dat|json)$`);
  return [...new Set(keys.filter((k) => k.includes(id)).map((k) => (level.test(k) ? `waveform/${id}/` : k)))].sort();
}
