// Bench inputs, generated with ffmpeg's lavfi sources and cached under
// .data/bench/inputs (a marker file records a finished encode). The signal is
// speech-like rather than silence or a pure tone: a voiced tone with vibrato
// plus band-limited pink noise, amplitude-modulated at a syllable rate, so
// the encoders do realistic work.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WORK_DIR } from './infra.js';

export const FFMPEG = process.env.FFMPEG_PATH || 'ffmpeg';
export const INPUT_DIR = path.join(WORK_DIR, 'inputs');

function ffmpeg(args: string[], timeoutMs = 30 * 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(FFMPEG, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (error, _o, stderr) =>
      error ? reject(new Error(`ffmpeg ${args.join(' ')}: ${stderr || error.message}`)) : resolve(),
    );
  });
}

/** A speech-like signal: voiced tone + band-limited noise, syllable-rate tremolo. */
function speechLike(seconds: number, seed: number, rate = 44_100, pitchHz = 180): string[] {
  return [
    '-f', 'lavfi', '-i', `sine=frequency=${pitchHz}:sample_rate=${rate}`,
    '-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=0.5:sample_rate=${rate}:seed=${seed}`,
    '-filter_complex',
    '[0:a]vibrato=f=5:d=0.3[v];[1:a]bandpass=f=900:width_type=q:w=0.7[n];' +
      '[v][n]amix=inputs=2:weights=0.6 0.4,tremolo=f=3.7:d=0.8',
    '-t', String(seconds),
  ];
}

async function cached(name: string, make: (out: string) => Promise<void>): Promise<string> {
  await mkdir(INPUT_DIR, { recursive: true });
  const out = path.join(INPUT_DIR, name);
  if (existsSync(`${out}.ok`)) return out;
  const partial = path.join(INPUT_DIR, `partial-${name}`);
  await make(partial);
  await rename(partial, out);
  await writeFile(`${out}.ok`, new Date().toISOString());
  return out;
}

/** Podcast-style MP3: stereo 44.1 kHz, 128 kbit/s CBR. */
export function podcastMp3(seconds: number): Promise<string> {
  return cached(`podcast-${seconds}s-128k.mp3`, (out) =>
    ffmpeg([...speechLike(seconds, 7), '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '128k', '-ar', '44100', '-f', 'mp3', out]),
  );
}

/** The worker's AAC (64 kbit/s mono 44.1 kHz, as ADTS) of a podcast MP3. */
export function podcastAdts(mp3: string): Promise<string> {
  return cached(`${path.basename(mp3, '.mp3')}-64k.aac`, (out) => ffmpeg(['-i', mp3, '-vn', '-c:a', 'aac', '-b:a', '64k', '-ac', '1', '-ar', '44100', '-f', 'adts', out]));
}

/** The first `seconds` of a longer MP3, cut without re-encoding. */
export function cutMp3(source: string, seconds: number): Promise<string> {
  return cached(`cut-${seconds}s-${path.basename(source)}`, (out) => ffmpeg(['-i', source, '-t', String(seconds), '-c', 'copy', '-f', 'mp3', out]));
}

export type VoiceFormat = 'opus' | 'webm' | 'm4a';

export interface VoiceNote {
  path: string;
  format: VoiceFormat;
  seconds: number;
  contentType: string;
}

const VOICE_FORMATS: { format: VoiceFormat; contentType: string; args: string[] }[] = [
  // What phones and browsers record: Opus in Ogg (WhatsApp, Telegram), Opus in
  // WebM (MediaRecorder), AAC in M4A (iOS).
  { format: 'opus', contentType: 'audio/ogg', args: ['-ar', '48000', '-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg'] },
  { format: 'webm', contentType: 'audio/webm', args: ['-ar', '48000', '-c:a', 'libopus', '-b:a', '48k', '-f', 'webm'] },
  { format: 'm4a', contentType: 'audio/mp4', args: ['-ar', '44100', '-c:a', 'aac', '-b:a', '96k', '-movflags', '+faststart', '-f', 'ipod'] },
];

/** Note i: 5-30 s (a fixed spread), formats in turn. */
export function voiceNoteSpec(i: number): { format: VoiceFormat; seconds: number } {
  return { format: VOICE_FORMATS[i % VOICE_FORMATS.length]!.format, seconds: 5 + ((i * 11) % 26) };
}

export async function voiceNotes(count: number, onProgress?: (done: number) => void): Promise<VoiceNote[]> {
  const notes: VoiceNote[] = [];
  for (let i = 0; i < count; i++) {
    const { format, seconds } = voiceNoteSpec(i);
    const f = VOICE_FORMATS.find((v) => v.format === format)!;
    const rate = f.args[1] === '48000' ? 48_000 : 44_100;
    const file = await cached(`voice-${i}-${seconds}s.${format}`, (out) =>
      ffmpeg([...speechLike(seconds, 100 + i, rate, 120 + (i % 7) * 20), '-ac', '1', ...f.args, out]),
    );
    notes.push({ path: file, format, seconds, contentType: f.contentType });
    onProgress?.(i + 1);
  }
  return notes;
}

/** The bare transcode of a local file: the baseline every ratio is against. */
export function bareTranscodeArgs(input: string, output: string): string[] {
  return ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', input, '-vn', '-c:a', 'aac', '-b:a', '64k', '-ac', '1', '-ar', '44100', '-movflags', '+faststart', output];
}

export async function ffmpegVersion(): Promise<string> {
  return new Promise((resolve) => {
    execFile(FFMPEG, ['-hide_banner', '-version'], (error, stdout) => resolve(error ? 'unknown' : stdout.split('\n', 1)[0]!.trim()));
  });
}
