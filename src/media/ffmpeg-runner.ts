// Runs one ffmpeg transcode as its own process group, in a scrubbed
// environment, under rlimits, and never lets it outlive the caller's intent:
// every ending that is not ffmpeg exiting by itself SIGKILLs the whole group,
// and the promise settles only after 'close' (all pipes shut = nothing left).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { findExecutable } from './ffmpeg-binary.js';
import { type PcmChannel, openPcmChannel } from './pcm-socket.js';

export interface FfmpegLimits {
  /** RLIMIT_CPU soft limit (ffmpeg gets SIGXCPU and stops); hard = soft + 5 s. */
  cpuSeconds?: number;
  /**
   * RLIMIT_AS. Debian's ffmpeg 5.1 maps ~270 MiB of shared libraries before
   * reading a byte; measured peak VSZ 288 MiB (10-minute MP3), 310 MiB
   * (2-hour MP3). The 2018 static build needs far less.
   */
  addressSpaceBytes?: number;
  nice?: number;
}

export interface RunFfmpegOptions {
  ffmpegPath: string;
  args: string[];
  /**
   * Called synchronously for every stdout chunk; a throw kills ffmpeg and
   * rejects. The chunk is a view of a reused buffer: consume it, don't keep it.
   */
  onPcm: (chunk: Buffer) => void;
  /** stderr lines with URL query strings (presigned signatures) redacted. */
  onStderrLine?: (line: string) => void;
  /** The input's declared `Duration:`, as soon as ffmpeg prints it. */
  onDeclaredDuration?: (seconds: number) => void;
  /** The child's pid, which is also its process group id (for logs, tests). */
  onSpawn?: (pid: number) => void;
  signal?: AbortSignal;
  /** No PCM for this long while ffmpeg lives = stalled (killed). */
  stallTimeoutMs?: number;
  limits?: FfmpegLimits;
  cwd?: string;
}

export interface FfmpegResult {
  exitCode: number | null;
  signal: string | null;
  stalled: boolean;
  aborted: boolean;
  /** Ended by an rlimit: SIGXCPU/SIGKILL from the kernel, or out of memory. */
  limitHit: boolean;
  stderrTail: string;
  declaredDurationSeconds: number | null;
  /** Which sandbox wrappers were found and used for this run. */
  sandbox: { prlimit: boolean; nice: boolean };
}

export const RUNNER_DEFAULTS = {
  stallTimeoutMs: 15_000,
  cpuSeconds: 900,
  addressSpaceBytes: 1024 ** 3,
  nice: 10,
};

const STDERR_TAIL_BYTES = 4096;
const MAX_LINE_CHARS = 2048;
// ffmpeg's own SIGXCPU handler logs this and exits 255 after writing trailers.
const SIGXCPU_LINE = /received signal 24\b/;
// Under RLIMIT_AS: malloc failures, or the loader unable to map a library.
const OUT_OF_MEMORY = /Cannot allocate memory|Out of memory|std::bad_alloc|failed to map segment/i;

/** `  Duration: 01:02:03.45, start: ...` -> 3723.45; `Duration: N/A` -> null. */
export function parseDurationLine(line: string): number | null {
  const match = /^\s*Duration:\s*(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)\s*(?:,|$)/.exec(line);
  if (match === null) return null;
  const [, h, m, s] = match;
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

/**
 * Removes query strings from URLs: a presigned signature must not reach the
 * logs. SigV4 parameters are also caught on their own, in case a long line
 * was cut between the URL and its query.
 */
export function redactUrls(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?'"]*)\?[^\s'"]*/gi, '$1?<redacted>')
    .replace(/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s'"]*/gi, '$1<redacted>');
}

interface SandboxTools {
  prlimit: string | null;
  nice: string | null;
}

let sandboxTools: Promise<SandboxTools> | undefined;

/** Looked up once per process; absent tools mean running without them. */
export function findSandboxTools(): Promise<SandboxTools> {
  sandboxTools ??= (async () => ({
    prlimit: await findExecutable('prlimit', '/usr/bin:/bin:/usr/sbin:/sbin'),
    nice: await findExecutable('nice', '/usr/bin:/bin'),
  }))();
  return sandboxTools;
}

/** The argv that runs ffmpeg under the available limits (prlimit and nice exec it: same pid). */
export function wrapCommand(
  ffmpegPath: string,
  args: readonly string[],
  limits: Required<FfmpegLimits>,
  tools: SandboxTools,
): string[] {
  const argv = [ffmpegPath, ...args];
  if (tools.nice !== null) argv.unshift(tools.nice, '-n', String(limits.nice));
  if (tools.prlimit !== null) {
    const cpu = Math.ceil(limits.cpuSeconds);
    argv.unshift(
      tools.prlimit,
      `--cpu=${cpu}:${cpu + 5}`,
      `--as=${Math.floor(limits.addressSpaceBytes)}`,
      '--core=0',
      '--',
    );
  }
  return argv;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

class StderrReader {
  private partial = '';
  tail = '';
  declared: number | null = null;
  sawLimit = false;

  constructor(private readonly options: RunFfmpegOptions) {}

  push(chunk: string): void {
    const lines = (this.partial + chunk).split(/\r?\n|\r/);
    this.partial = (lines.pop() ?? '').slice(-MAX_LINE_CHARS);
    for (const line of lines) this.line(line);
  }

  flush(): void {
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
  }

  private line(raw: string): void {
    const line = redactUrls(raw.slice(0, MAX_LINE_CHARS));
    this.tail = (this.tail + line + '\n').slice(-STDERR_TAIL_BYTES);
    if (SIGXCPU_LINE.test(line) || OUT_OF_MEMORY.test(line)) this.sawLimit = true;
    if (this.declared === null) {
      const seconds = parseDurationLine(line);
      if (seconds !== null) {
        this.declared = seconds;
        this.options.onDeclaredDuration?.(seconds);
      }
    }
    this.options.onStderrLine?.(line);
  }
}

type Ending = 'stall' | 'abort' | 'error';

interface Supervised {
  code: number | null;
  signal: NodeJS.Signals | null;
  ending: Ending | null;
  stderr: StderrReader;
}

/** Ended by an rlimit rather than by us or by ffmpeg's own judgement. */
function endedByLimit(run: Supervised): boolean {
  if (run.signal === 'SIGXCPU' || run.signal === 'SIGXFSZ') return true;
  if (run.ending !== null) return false; // our SIGKILL
  return run.signal === 'SIGKILL' || run.stderr.sawLimit;
}

/**
 * Watches one child until it has exited and its stdout channel and stderr are
 * closed; rejects (after the group is dead) when a callback threw.
 */
function supervise(child: ChildProcessByStdio<null, null, Readable>, pcm: PcmChannel, options: RunFfmpegOptions,
  stallTimeoutMs: number): Promise<Supervised> {
  return new Promise((resolve, reject) => {
    const stderr = new StderrReader(options);
    let ending: Ending | null = null;
    let failure: unknown = null;
    const stop = (why: Ending, error?: unknown): void => {
      if (ending === null) [ending, failure] = [why, error];
      killGroup(child.pid);
    };
    // A throwing caller callback ends the run instead of crashing the process
    // from inside a stream event handler.
    const guarded = (callback: () => void): void => {
      try {
        callback();
      } catch (error) {
        stop('error', error);
      }
    };
    const stallTimer = setTimeout(() => stop('stall'), stallTimeoutMs);
    const onAbort = (): void => stop('abort');
    options.signal?.addEventListener('abort', onAbort, { once: true });

    pcm.onChunk = (chunk: Buffer) => {
      if (ending !== null) return; // keep draining so 'close' can come
      stallTimer.refresh();
      guarded(() => options.onPcm(chunk));
    };
    // Our end of the channel ends when every holder of the child's end is gone.
    const pcmClosed = new Promise<void>((resolve) => {
      pcm.reader.once('close', () => resolve());
      pcm.reader.on('error', () => {}); // a reset is an ending like EOF; 'close' follows
    });
    child.stderr.setEncoding('latin1');
    child.stderr.on('data', (chunk: string) => {
      if (ending === null) guarded(() => stderr.push(chunk));
    });
    // spawn failure or a failed kill; Node still emits 'close' afterwards.
    child.on('error', (error) => stop('error', error));
    // ffmpeg failed on its own: sweep up anything left in its group (right
    // away, while the group id cannot have been reused).
    child.on('exit', (code) => {
      if (code !== 0) killGroup(child.pid);
    });
    child.on('close', async (code, signal) => {
      await pcmClosed;
      clearTimeout(stallTimer);
      options.signal?.removeEventListener('abort', onAbort);
      try {
        if (ending === null) stderr.flush();
      } catch (error) {
        [ending, failure] = ['error', error];
      }
      if (ending === 'error') reject(failure);
      else resolve({ code, signal, ending, stderr });
    });
    if (child.pid !== undefined) guarded(() => options.onSpawn?.(child.pid!));
  });
}

export async function runFfmpeg(options: RunFfmpegOptions): Promise<FfmpegResult> {
  const ffmpegPath = await findExecutable(options.ffmpegPath);
  if (ffmpegPath === null) {
    throw new Error(`ffmpeg not found or not executable: ${options.ffmpegPath}`);
  }
  const tools = await findSandboxTools();
  const limits: Required<FfmpegLimits> = {
    cpuSeconds: options.limits?.cpuSeconds ?? RUNNER_DEFAULTS.cpuSeconds,
    addressSpaceBytes: options.limits?.addressSpaceBytes ?? RUNNER_DEFAULTS.addressSpaceBytes,
    nice: options.limits?.nice ?? RUNNER_DEFAULTS.nice,
  };
  const sandbox = { prlimit: tools.prlimit !== null, nice: tools.nice !== null };
  if (options.signal?.aborted) {
    return {
      exitCode: null, signal: null, stalled: false, aborted: true, limitHit: false,
      stderrTail: '', declaredDurationSeconds: null, sandbox,
    };
  }
  const [command, ...argv] = wrapCommand(ffmpegPath, options.args, limits, tools);
  const pcm = await openPcmChannel();
  let child: ChildProcessByStdio<null, null, Readable>;
  try {
    child = spawn(command!, argv, {
      // Its own process group, so one kill(-pgid) reaches anything it starts.
      detached: true,
      // stdout: a socket read into one reused buffer (media/pcm-socket.ts).
      stdio: ['ignore', pcm.childEnd, 'pipe'],
      // ffmpeg needs no variables; ours hold storage and database secrets,
      // and http_proxy would silently reroute the input.
      env: { LC_ALL: 'C' },
      cwd: options.cwd,
    });
  } finally {
    pcm.releaseChildEnd();
  }
  const run = await supervise(child, pcm, options, options.stallTimeoutMs ?? RUNNER_DEFAULTS.stallTimeoutMs);
  return {
    exitCode: run.code,
    signal: run.signal,
    stalled: run.ending === 'stall',
    aborted: run.ending === 'abort',
    limitHit: endedByLimit(run),
    stderrTail: run.stderr.tail,
    declaredDurationSeconds: run.stderr.declared,
    sandbox,
  };
}
