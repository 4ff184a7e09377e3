// Finds the ffmpeg binary once at start-up: FFMPEG_PATH, else the machine's
// (Debian's is security-maintained), else the static build npm brought.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, isAbsolute, join } from 'node:path';

export interface FfmpegBinary {
  path: string;
  /** First line of `ffmpeg -version`. */
  version: string;
  source: 'config' | 'path' | 'npm';
  /** Its mp4 muxer takes `-movie_timescale` (absent from old builds, the npm one among them). */
  movieTimescale: boolean;
  warning?: string;
}

const VERSION_TIMEOUT_MS = 10_000;

export const NPM_FFMPEG_WARNING =
  'Using the ffmpeg bundled by @ffmpeg-installer/ffmpeg: a 2018 static build with ' +
  'years of unpatched decoder bugs. Fine for trying the service out, not for untrusted ' +
  'input in production: install the system ffmpeg (apt-get install ffmpeg) or set FFMPEG_PATH.';

/** Absolute path of an executable: as given when it contains a '/', else searched on PATH. */
export async function findExecutable(name: string, searchPath: string = process.env.PATH ?? ''): Promise<string | null> {
  const candidates = name.includes('/') ? [name] : searchPath.split(delimiter).filter(isAbsolute).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return null;
}

/** What our own binary prints for `args` (its version, its help: never a file's text). */
function ask(path: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, ['-hide_banner', ...args], { timeout: VERSION_TIMEOUT_MS, env: { LANG: 'C' }, maxBuffer: 1 << 20 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
}

/** First line of `<path> -version`; rejects with the reason when it does not run. */
export async function ffmpegVersion(path: string): Promise<string> {
  const first = (await ask(path, ['-version'])).split('\n', 1)[0]?.trim() ?? '';
  if (!first.startsWith('ffmpeg version')) throw new Error(`"${path} -version" did not print an ffmpeg version line`);
  return first;
}

/** Whether `-movie_timescale` is among the ipod muxer's options (absent from old builds). */
export function probeMovieTimescale(path: string): Promise<boolean> {
  return ask(path, ['-h', 'muxer=ipod']).then((help) => /^\s*-movie_timescale\b/m.test(help), () => false);
}

async function describe(path: string, source: FfmpegBinary['source']): Promise<FfmpegBinary> {
  // One after the other: two ffmpeg processes at once would set the worker's start-up memory peak.
  const version = await ffmpegVersion(path);
  return { path, version, source, movieTimescale: await probeMovieTimescale(path) };
}

async function npmFfmpegPath(): Promise<string | null> {
  try {
    // CommonJS package that throws (a string) when its platform binary is missing.
    const require = createRequire(import.meta.url);
    const installer = require('@ffmpeg-installer/ffmpeg') as { path: string };
    return installer.path;
  } catch {
    return null;
  }
}

export async function resolveFfmpeg(configuredPath?: string): Promise<FfmpegBinary> {
  if (configuredPath !== undefined && configuredPath !== '') {
    const path = await findExecutable(configuredPath);
    if (path === null) {
      throw new Error(`FFMPEG_PATH=${configuredPath}: no executable file there (or on PATH)`);
    }
    try {
      return await describe(path, 'config');
    } catch (error) {
      throw new Error(`FFMPEG_PATH=${configuredPath} does not run as ffmpeg: ${reason(error)}`);
    }
  }
  const onPath = await findExecutable('ffmpeg');
  let broken = '';
  if (onPath !== null) {
    try {
      return await describe(onPath, 'path');
    } catch (error) {
      broken = ` (${onPath} is on PATH but does not run: ${reason(error)})`;
    }
  }
  const bundled = await npmFfmpegPath();
  if (bundled !== null) {
    try {
      return { ...(await describe(bundled, 'npm')), warning: NPM_FFMPEG_WARNING + broken };
    } catch (error) {
      throw new Error(`no ffmpeg on PATH and the bundled one does not run: ${reason(error)}`);
    }
  }
  throw new Error(
    'no ffmpeg found: set FFMPEG_PATH, install ffmpeg on PATH, or reinstall @ffmpeg-installer/ffmpeg',
  );
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
