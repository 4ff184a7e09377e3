// Reference loudness for tests: ffmpeg's own `ebur128=peak=true` over the
// same mono 44.1 kHz s16 PCM the meter sees. Parsing ffmpeg's summary from
// stderr is fine here: the input is a fixture we generated, never an upload.
import { execFile } from 'node:child_process';
import { resolveFfmpeg } from '../../src/media/ffmpeg-binary.js';
import type { Loudness } from '../../src/analysis/loudness.js';

let ffmpeg: Promise<string> | undefined;
const ffmpegPath = () => (ffmpeg ??= resolveFfmpeg(process.env.FFMPEG_PATH).then((b) => b.path));

function run(args: string[], input?: Buffer): Promise<{ stdout: Buffer; stderr: string }> {
  return ffmpegPath().then(
    (path) =>
      new Promise((resolve, reject) => {
        const child = execFile(
          path, ['-hide_banner', '-nostdin', ...args],
          { encoding: 'buffer', maxBuffer: 1 << 30, timeout: 120_000 },
          (error, stdout, stderr) => {
            if (error) reject(new Error(`ffmpeg failed: ${stderr.toString() || error.message}`));
            else resolve({ stdout, stderr: stderr.toString() });
          },
        );
        if (input) child.stdin!.end(input);
      }),
  );
}

/** Mono 44.1 kHz s16 PCM of a lavfi source graph (e.g. `sine=frequency=997`), `seconds` long. */
export async function lavfiPcm(graph: string, seconds: number, filters?: string): Promise<Int16Array> {
  const af = filters ? ['-af', filters] : [];
  const { stdout } = await run([
    '-f', 'lavfi', '-i', graph, ...af, '-t', String(seconds), '-ac', '1', '-ar', '44100', '-f', 's16le', 'pipe:1',
  ]);
  return new Int16Array(stdout.buffer, stdout.byteOffset, stdout.length >> 1).slice();
}

/** Writes a lavfi source graph to `out` as MP3 (stereo, 128k), `seconds` long. */
export async function lavfiMp3(out: string, graph: string, seconds: number, filters?: string): Promise<string> {
  const af = filters ? ['-af', filters] : [];
  await run(['-y', '-f', 'lavfi', '-i', graph, ...af, '-t', String(seconds), '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '128k', out]);
  return out;
}

/** Mono PCM of a media file at `rate` (the worker's 44.1 kHz by default). */
export async function filePcm(path: string, rate = 44_100): Promise<Int16Array> {
  // The worker's downmix: as `-ac 1` into 16-bit PCM (stereo becomes (L+R)/2).
  const graph = `[0:a:0]aresample=${rate}:rematrix_maxval=1,aformat=sample_fmts=fltp:channel_layouts=mono`;
  const { stdout } = await run(['-i', path, '-filter_complex', graph, '-f', 's16le', 'pipe:1']);
  return new Int16Array(stdout.buffer, stdout.byteOffset, stdout.length >> 1).slice();
}

/** ffmpeg's summary of `ebur128=peak=true`; integrated null when ffmpeg prints -70 or below (silence). */
export function parseEbur128Summary(stderr: string): { integrated: number | null; range: number; truePeak: number } {
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const num = (re: RegExp) => {
    const m = re.exec(summary);
    if (!m) throw new Error(`no ${re} in ebur128 summary:\n${summary}`);
    return m[1] === '-inf' ? -Infinity : Number(m[1]);
  };
  const integrated = num(/I:\s+(-?[\d.]+|-inf) LUFS/);
  return {
    integrated: integrated <= -70 ? null : integrated,
    range: num(/LRA:\s+(-?[\d.]+) LU/),
    truePeak: num(/Peak:\s+(-?[\d.]+|-inf) dBFS/),
  };
}

/** ffmpeg's ebur128 over s16 mono 44.1 kHz PCM. */
export async function ebur128(pcm: Int16Array): Promise<ReturnType<typeof parseEbur128Summary>> {
  const { stderr } = await run(
    ['-f', 's16le', '-ar', '44100', '-ac', '1', '-i', 'pipe:0', '-af', 'ebur128=peak=true', '-f', 'null', '-'],
    Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength),
  );
  return parseEbur128Summary(stderr);
}

/** Feeds `pcm` to a fresh analyser in uneven chunks, as the run step's reads arrive. */
export function feed<R>(analyser: { push(s: Int16Array): void; finish(): R }, pcm: Int16Array, chunk = 4093): R {
  for (let at = 0; at < pcm.length; at += chunk) analyser.push(pcm.subarray(at, at + chunk));
  return analyser.finish();
}

export type { Loudness };
