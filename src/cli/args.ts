// `npm run upload -- <file> [--bars N] [--url URL] [--token JWT]`: parsing and
// defaults, pure so the rules are plain to read (and to test).
import { extname } from 'node:path';

export interface CliOptions {
  file: string;
  bars: number;
  url: string;
  /** null: ask the service's development endpoint (/dev/token). */
  token: string | null;
}

export const USAGE = `usage: npm run upload -- <file> [--bars N] [--url URL] [--token JWT]
  --bars N     waveform bars to print (1..1024, default 32)
  --url URL    the service (env API_URL, default http://127.0.0.1:4000)
  --token JWT  bearer token (env AUTH_TOKEN; default: the development token from /dev/token)`;

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): CliOptions {
  const rest = [...argv];
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  while (rest.length) {
    const arg = rest.shift()!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (!['bars', 'url', 'token'].includes(name)) throw new Error(`unknown option --${name}`);
    const value = inline ?? rest.shift();
    if (value === undefined) throw new Error(`--${name} needs a value`);
    flags[name] = value;
  }
  if (positional.length !== 1) throw new Error(`expected one file, got ${positional.length}`);
  const bars = Number(flags['bars'] ?? 32);
  if (!Number.isInteger(bars) || bars < 1 || bars > 1024) throw new Error(`--bars must be an integer in 1..1024, got ${flags['bars']}`);
  return {
    file: positional[0]!,
    bars,
    url: (flags['url'] ?? env['API_URL'] ?? 'http://127.0.0.1:4000').replace(/\/+$/, ''),
    token: flags['token'] ?? env['AUTH_TOKEN'] ?? null,
  };
}

// Only a first filter for the service (it decides by magic bytes); anything
// unknown goes as application/octet-stream, which it accepts.
const TYPES: Record<string, string> = {
  '.mp3': 'audio/mpeg', '.m4a': 'audio/mp4', '.aac': 'audio/aac', '.wav': 'audio/wav', '.flac': 'audio/flac',
  '.ogg': 'audio/ogg', '.oga': 'audio/ogg', '.opus': 'audio/ogg', '.webm': 'audio/webm', '.mp4': 'video/mp4',
  '.amr': 'audio/amr', '.aif': 'audio/aiff', '.aiff': 'audio/aiff', '.caf': 'audio/x-caf',
};

export function contentTypeFor(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** A waveform as a one-line sparkline, for a terminal. */
export function sparkline(values: number[]): string {
  const blocks = ' ▁▂▃▄▅▆▇█';
  return values.map((v) => blocks[Math.round((Math.max(0, Math.min(100, v)) / 100) * (blocks.length - 1))]).join('');
}
