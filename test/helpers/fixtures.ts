// Audio fixtures generated on demand with ffmpeg's lavfi sources, so the
// suite ships no binary files and every expected duration is known exactly.
import { execFile } from 'node:child_process';
import { stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveFfmpeg } from '../../src/media/ffmpeg-binary.js';

export type FixtureKind =
  | 'wav' | 'wav-8k-mono' | 'flac' | 'mp3' | 'mp3-cover' | 'm4a' | 'm4a-moov-end'
  | 'm4a-6ch' | 'ogg-opus' | 'webm-opus' | 'mp4-video' | 'mp4-video-only' | 'sequence'
  // hostile or broken inputs
  | 'mp3-garbage' | 'm4a-truncated' | 'random-bytes';

export interface FixtureSpec {
  kind: FixtureKind;
  /** Length of the audio; `sequence` splits it into 4 equal segments. Default 2. */
  seconds?: number;
  /** File name inside `dir`; default `<kind>.<ext>`. */
  fileName?: string;
  frequencyHz?: number;
  /** Size of `random-bytes` / `mp3-garbage` (default 64 KiB). */
  bytes?: number;
  /** `m4a-truncated`: share of the file kept (default 0.5, which cuts the moov off). */
  keepFraction?: number;
  seed?: number;
}

export const FIXTURE_EXTENSIONS: Record<FixtureKind, string> = {
  wav: 'wav', 'wav-8k-mono': 'wav', flac: 'flac', mp3: 'mp3', 'mp3-cover': 'mp3',
  m4a: 'm4a', 'm4a-moov-end': 'm4a', 'm4a-6ch': 'm4a', 'ogg-opus': 'ogg',
  'webm-opus': 'webm', 'mp4-video': 'mp4', 'mp4-video-only': 'mp4', sequence: 'wav',
  'mp3-garbage': 'mp3', 'm4a-truncated': 'm4a', 'random-bytes': 'bin',
};

/** `sequence` segment amplitudes, in order: silence, full scale, silence, half. */
export const SEQUENCE_AMPLITUDES = [0, 0.999, 0, 0.5] as const;

const NO_AUDIO: ReadonlySet<FixtureKind> = new Set<FixtureKind>([
  'mp4-video-only', 'mp3-garbage', 'm4a-truncated', 'random-bytes',
]);

/**
 * Samples the fixture decodes to at `sampleRate` (the worker's 44.1 kHz by
 * default): measured exact for WAV, FLAC, MP3 (LAME gapless tag) and Opus
 * (pre-skip, end trim); AAC may add up to `sampleSlack`. Null when the file
 * has no decodable audio.
 */
export function expectedSamples(spec: FixtureSpec, sampleRate = 44_100): number | null {
  if (NO_AUDIO.has(spec.kind)) return null;
  return Math.round((spec.seconds ?? 2) * sampleRate);
}

const AAC: ReadonlySet<FixtureKind> = new Set<FixtureKind>(['m4a', 'm4a-moov-end', 'm4a-6ch', 'mp4-video']);

/**
 * Extra samples a decode may legitimately add: ffmpeg 5.1 trims AAC priming
 * through the edit list but keeps the last frame's padding (< 1024 samples).
 */
export function sampleSlack(spec: FixtureSpec, sampleRate = 44_100): number {
  return AAC.has(spec.kind) ? Math.ceil((1024 * sampleRate) / 44_100) : 0;
}

let ffmpeg: Promise<string> | undefined;

function ffmpegPath(): Promise<string> {
  ffmpeg ??= resolveFfmpeg(process.env.FFMPEG_PATH).then((binary) => binary.path);
  return ffmpeg;
}

async function run(args: string[]): Promise<void> {
  const path = await ffmpegPath();
  await new Promise<void>((resolve, reject) => {
    const all = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args];
    execFile(path, all, { timeout: 180_000 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`fixture ffmpeg failed: ${stderr || error.message}`));
      else resolve();
    });
  });
}

/** Deterministic bytes (mulberry32), so a failing hostile fixture can be reproduced. */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

function sine(seconds: number, frequency: number, rate = 44_100): string[] {
  return ['-f', 'lavfi', '-i', `sine=frequency=${frequency}:sample_rate=${rate}:duration=${seconds}`];
}

function sequenceSource(seconds: number, frequency: number): string[] {
  // Segment edges by sample index (n), not time, so a caller can put them
  // exactly on envelope bucket edges (e.g. 179200 samples: 4 x 44800 = 4 x 1400 x 32).
  const segment = Math.round((seconds * 44_100) / 4);
  const [, full, , half] = SEQUENCE_AMPLITUDES;
  const tone = (amplitude: number): string => `${amplitude}*sin(2*PI*${frequency}*t)`;
  const expr =
    `if(lt(n,${segment}),0,if(lt(n,${2 * segment}),${tone(full)},` +
    `if(lt(n,${3 * segment}),0,${tone(half)})))`;
  return ['-f', 'lavfi', '-i', `aevalsrc='${expr}':sample_rate=44100:duration=${seconds}`];
}

function sixChannelSource(seconds: number): string[] {
  const tones = [220, 330, 440, 550, 110, 660].map((hz) => `0.3*sin(2*PI*${hz}*t)`).join('|');
  return ['-f', 'lavfi', '-i', `aevalsrc='${tones}':channel_layout=5.1:sample_rate=44100:duration=${seconds}`];
}

// -t after the inputs trims audio to the exact sample, whatever the frame size.
async function encode(spec: FixtureSpec, out: string, dir: string): Promise<void> {
  const s = spec.seconds ?? 2;
  const f = spec.frequencyHz ?? 440;
  const t = ['-t', String(s)];
  const aac = ['-c:a', 'aac', '-b:a', '96k'];
  switch (spec.kind) {
    case 'wav': return run([...sine(s, f), ...t, '-ac', '2', '-c:a', 'pcm_s16le', out]);
    case 'wav-8k-mono': return run([...sine(s, f, 8000), ...t, '-ac', '1', '-c:a', 'pcm_s16le', out]);
    case 'flac': return run([...sine(s, f), ...t, '-ac', '2', '-c:a', 'flac', out]);
    case 'mp3': return run([...sine(s, f), ...t, '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '128k', out]);
    case 'mp3-cover': {
      // Two steps: a still image as its own input is one frame by nature.
      const cover = join(dir, `${spec.fileName ?? 'mp3-cover'}.cover.png`);
      await run(['-f', 'lavfi', '-i', 'color=c=red:size=64x64', '-frames:v', '1', cover]);
      return run([
        ...sine(s, f), '-i', cover, '-map', '0:a', '-map', '1:v', ...t,
        '-c:a', 'libmp3lame', '-b:a', '128k', '-c:v', 'png', '-disposition:v', 'attached_pic',
        '-id3v2_version', '3', '-metadata', 'title=Fixture with cover',
        '-metadata:s:v', 'comment=Cover (front)', out,
      ]);
    }
    case 'm4a': return run([...sine(s, f), ...t, ...aac, '-movflags', '+faststart', out]);
    case 'm4a-moov-end': return run([...sine(s, f), ...t, ...aac, out]);
    case 'm4a-6ch': return run([...sixChannelSource(s), ...t, '-c:a', 'aac', '-b:a', '256k', out]);
    case 'ogg-opus': return run([...sine(s, f), ...t, '-c:a', 'libopus', '-b:a', '64k', '-f', 'ogg', out]);
    case 'webm-opus': return run([...sine(s, f), ...t, '-c:a', 'libopus', '-b:a', '64k', '-f', 'webm', out]);
    case 'mp4-video':
      return run([
        '-f', 'lavfi', '-i', `testsrc=size=160x120:rate=10:duration=${s}`, ...sine(s, f),
        '-map', '0:v', '-map', '1:a', ...t, '-c:v', 'mpeg4', ...aac, '-movflags', '+faststart', out,
      ]);
    case 'mp4-video-only':
      return run(['-f', 'lavfi', '-i', `testsrc=size=160x120:rate=10:duration=${s}`, ...t, '-c:v', 'mpeg4', out]);
    case 'sequence': return run([...sequenceSource(s, f), ...t, '-ac', '1', '-c:a', 'pcm_s16le', out]);
    case 'mp3-garbage': {
      // A valid MPEG-1 Layer III frame header (128 kbit/s, 44.1 kHz), then noise:
      // passes a magic-byte check, fails (or loops) in the decoder.
      const header = Buffer.from([0xff, 0xfb, 0x90, 0x64]);
      const body = pseudoRandomBytes((spec.bytes ?? 65_536) - header.length, spec.seed);
      return writeFile(out, Buffer.concat([header, body]));
    }
    case 'm4a-truncated': {
      await run([...sine(s, f), ...t, ...aac, out]);
      const { size } = await stat(out);
      return truncate(out, Math.floor(size * (spec.keepFraction ?? 0.5)));
    }
    case 'random-bytes':
      return writeFile(out, pseudoRandomBytes(spec.bytes ?? 65_536, spec.seed));
  }
}

/** Writes the fixture into `dir` and returns its path. */
export async function makeAudio(dir: string, spec: FixtureSpec): Promise<string> {
  const out = join(dir, spec.fileName ?? `${spec.kind}.${FIXTURE_EXTENSIONS[spec.kind]}`);
  await encode(spec, out, dir);
  return out;
}
