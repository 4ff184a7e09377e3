// Checks on produced audio: our own top-level box walk (is moov before
// mdat?) plus ffprobe for codec facts, and a reference decode for sample
// counts and peaks that does not go through the code under test.
import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { findExecutable, resolveFfmpeg } from '../../src/media/ffmpeg-binary.js';
import { open, readFile } from 'node:fs/promises';

export interface M4aInfo {
  /** Top-level box types in file order, e.g. ['ftyp', 'moov', 'free', 'mdat']. */
  boxes: string[];
  majorBrand: string;
  codec: string;
  profile: string;
  channels: number;
  sampleRate: number;
  bitRate: number;
  durationSeconds: number;
  /** The edit list's duration at 44.1 kHz (exact when the movie timescale is 44,100), or NaN. */
  durationSamples: number;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  channels?: number;
  sample_rate?: string;
  bit_rate?: string;
}

export interface ProbeResult {
  streams: ProbeStream[];
  format: { format_name?: string; duration?: string; bit_rate?: string; tags?: Record<string, string> };
}

let ffprobe: Promise<string> | undefined;

/** FFPROBE_PATH, else ffprobe on PATH, else next to the resolved ffmpeg. */
function ffprobePath(): Promise<string> {
  ffprobe ??= (async () => {
    const found = await findExecutable(process.env.FFPROBE_PATH ?? 'ffprobe');
    if (found !== null) return found;
    const ffmpeg = await resolveFfmpeg(process.env.FFMPEG_PATH);
    const sibling = await findExecutable(join(dirname(ffmpeg.path), 'ffprobe'));
    if (sibling === null) throw new Error('ffprobe not found: set FFPROBE_PATH');
    return sibling;
  })();
  return ffprobe;
}

export async function probe(path: string): Promise<ProbeResult> {
  const bin = await ffprobePath();
  const args = ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', path];
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 30_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ffprobe ${path} failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as ProbeResult);
    });
  });
}

/** Top-level MP4 box types in file order, read from their 8/16-byte headers. */
export async function readTopLevelBoxes(path: string): Promise<{ type: string; size: number }[]> {
  const file = await open(path, 'r');
  try {
    const { size: fileSize } = await file.stat();
    const boxes: { type: string; size: number }[] = [];
    const header = Buffer.alloc(16);
    for (let at = 0; at + 8 <= fileSize; ) {
      await file.read(header, 0, 16, at);
      let size = header.readUInt32BE(0);
      if (size === 1) size = Number(header.readBigUInt64BE(8));
      else if (size === 0) size = fileSize - at;
      const type = header.toString('latin1', 4, 8);
      if (size < 8 || at + size > fileSize) return [...boxes, { type: '!bad', size }];
      boxes.push({ type, size });
      at += size;
    }
    return boxes;
  } finally {
    await file.close();
  }
}

/** The edit list's first segment duration in movie-timescale units, and that timescale: what a player plays. */
async function editedLength(path: string): Promise<{ duration: number; timescale: number } | null> {
  const data = await readFile(path);
  const mvhd = data.indexOf('mvhd', 0, 'latin1');
  const elst = data.indexOf('elst', 0, 'latin1');
  if (mvhd < 0 || elst < 0 || data[mvhd + 4] !== 0 || data[elst + 4] !== 0) return null; // version 0 boxes only
  return { timescale: data.readUInt32BE(mvhd + 16), duration: data.readUInt32BE(elst + 12) };
}

export async function inspectM4a(path: string): Promise<M4aInfo> {
  const [boxes, probed, edited] = await Promise.all([readTopLevelBoxes(path), probe(path), editedLength(path)]);
  const audio = probed.streams.filter((s) => s.codec_type === 'audio');
  if (audio.length !== 1 || probed.streams.length !== 1) {
    throw new Error(`expected exactly one (audio) stream in ${path}, got ${JSON.stringify(probed.streams)}`);
  }
  const [stream] = audio as [ProbeStream];
  return {
    boxes: boxes.map((box) => box.type),
    majorBrand: probed.format.tags?.major_brand ?? '',
    codec: stream.codec_name ?? '',
    profile: stream.profile ?? '',
    channels: stream.channels ?? 0,
    sampleRate: Number(stream.sample_rate ?? 0),
    bitRate: Number(stream.bit_rate ?? probed.format.bit_rate ?? 0),
    durationSeconds: Number(probed.format.duration ?? 0),
    durationSamples: edited ? Math.round((edited.duration * 44_100) / edited.timescale) : NaN,
  };
}

/**
 * Reference decode of the first audio stream to mono s16 at 44.1 kHz (plain
 * ffmpeg, no runner): the sample count and the peak |sample| / 32768.
 */
export async function decodeMono(path: string): Promise<{ samples: number; peak: number }> {
  const { path: bin } = await resolveFfmpeg(process.env.FFMPEG_PATH);
  const args = ['-v', 'error', '-nostdin', '-i', path, '-map', '0:a:0', '-ac', '1', '-ar', '44100',
    '-f', 's16le', 'pipe:1'];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let peak = 0;
    let odd: Buffer = Buffer.alloc(0);
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const data = odd.length > 0 ? Buffer.concat([odd, chunk]) : chunk;
      const even = data.length & ~1;
      for (let i = 0; i < even; i += 2) peak = Math.max(peak, Math.abs(data.readInt16LE(i)));
      odd = data.subarray(even);
      bytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`decode of ${path} failed (${code}): ${stderr}`));
      else resolve({ samples: bytes / 2, peak: peak / 32768 });
    });
  });
}
