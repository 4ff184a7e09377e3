// Runs one ffmpeg run (one process, or a decoder piped into an encoder) as
// process groups of their own, each in the sandbox sandbox.ts chooses (under
// bubblewrap as nobody, or as another user), with a scrubbed environment,
// under rlimits, and
// never lets it outlive the caller's intent: every ending that is not ffmpeg
// exiting by itself SIGKILLs every group, and the promise settles only after
// 'close' of each (all pipes shut = nothing left). Its stderr is kept for the
// logs only, redacted: a file controls part of what ffmpeg prints.
import { spawn, type ChildProcessByStdio, type StdioOptions } from 'node:child_process';
import { chown } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { findExecutable } from './ffmpeg-binary.js';
import { inputReadFailed, inputUrlOf, redactUrls } from './ffmpeg-stderr.js';
import { type PcmChannel, openPcmChannel } from './pcm-socket.js';
import { type RunState, runState } from './run-queue.js';
import { SANDBOX_ENV, type SandboxKind, type SandboxLimits, detectSandboxTools, endingSignal, sandboxCommand, sandboxKind, setSessionNice } from './sandbox.js';

/** Per run (the caller sets the nice level per job); unset fields take RUNNER_DEFAULTS. */
export type FfmpegLimits = Partial<SandboxLimits>;

export interface RunFfmpegOptions {
  ffmpegPath: string;
  args: string[];
  /** The job's private directory: the only place ffmpeg may write (its outputs live there). */
  workDir: string;
  /** Files ffmpeg must read besides the system's (a private CA file). */
  readOnlyPaths?: readonly string[];
  /**
   * Called synchronously for every stdout chunk; a throw kills ffmpeg and
   * rejects. The chunk is a view of a reused buffer: consume it, don't keep it.
   */
  onPcm: (chunk: Buffer) => void;
  /** Each child's pid, which is also its process group id (for logs, tests): the decoder's first. */
  onSpawn?: (pid: number) => void;
  signal?: AbortSignal;
  /**
   * A second ffmpeg whose stdin is the first one's fd 3 (`pipe:3`): the
   * encoder of a pipelined run (plan.ts). Same limits and
   * sandbox; a failure of either process kills both and fails the run.
   */
  encoderArgs?: string[];
  /** No PCM for this long while ffmpeg lives = stalled (killed). */
  stallTimeoutMs?: number;
  limits?: FfmpegLimits;
}

export interface FfmpegResult {
  exitCode: number | null;
  signal: string | null;
  stalled: boolean;
  aborted: boolean;
  /** Ended by an rlimit: SIGXCPU/SIGXFSZ, or a SIGKILL that was not ours. */
  limitHit: boolean;
  /** ffmpeg reported that reading its input URL failed for a transport reason (ffmpeg-stderr.ts). */
  inputFailed: boolean;
  /** For logs only. */
  stderrTail: string;
  /** The sandbox this run used, and whether its limits and nice level applied. */
  sandbox: { kind: SandboxKind; prlimit: boolean; nice: boolean };
}

export const RUNNER_DEFAULTS = {
  stallTimeoutMs: 15_000,
  cpuSeconds: 900,
  /** Debian's ffmpeg 5.1 maps ~270 MiB of libraries before reading a byte; peak VSZ ~310 MiB. */
  addressSpaceBytes: 1024 ** 3,
  /** The largest output (an M4A of the longest allowed input is far smaller). */
  fileSizeBytes: 2 * 1024 ** 3,
  /**
   * Threads count, and outside bubblewrap per user (every ffmpeg of the
   * worker's, or nobody's, user): a bound on a fork bomb, not a tight fit.
   */
  processes: 4096,
  openFiles: 256,
  nice: 10,
};

const STDERR_TAIL_CHARS = 4096;
/** Below this share of the probe window on a CPU, a runnable run is starved, not stalled. */
const STARVED_CPU_SHARE = 0.2;

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

type Ending = 'stall' | 'abort' | 'error';

type Child = ChildProcessByStdio<Writable | null, null, Readable>;

/** One process of the run, as it ended. */
interface ChildEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** We SIGKILLed its group before it exited (our stop, or the other process failed). */
  killedByUs: boolean;
  /** The last characters of its stderr, for logs. */
  stderr: string;
}

interface Supervised {
  /** In the order given: the decoder (the PCM writer) first. */
  ends: ChildEnd[];
  ending: Ending | null;
}

/** Ended by an rlimit rather than by us or by ffmpeg's own judgement. */
function endedByLimit(end: ChildEnd): boolean {
  if (end.signal === 'SIGXCPU' || end.signal === 'SIGXFSZ') return true;
  if (end.killedByUs) return false;
  return end.signal === 'SIGKILL';
}

/**
 * The exit that explains the run: the decoder's, unless it ended cleanly or
 * was stopped by us because the encoder failed first.
 */
export function primaryEnd<T extends { code: number | null; killedByUs: boolean }>(ends: readonly T[]): T {
  const [decoder, encoder] = ends;
  if (decoder === undefined) throw new Error('no process ended');
  if (encoder === undefined) return decoder;
  return decoder.code === 0 || decoder.killedByUs ? encoder : decoder;
}

/**
 * Watches the children until each has exited with its stderr closed and the
 * PCM channel is closed; rejects (after every group is dead) when a callback
 * threw. A child that fails on its own takes the others down with it.
 */
function supervise(children: Child[], pcm: PcmChannel, options: RunFfmpegOptions, stallTimeoutMs: number): Promise<Supervised> {
  return new Promise((resolve, reject) => {
    let ending: Ending | null = null;
    let failure: unknown = null;
    const ends: ChildEnd[] = children.map(() => ({ code: null, signal: null, killedByUs: false, stderr: '' }));
    const exited = children.map(() => false);
    const closed = children.map(() => false);
    // Every group whose child has not closed yet (one that exited may still
    // have grandchildren holding its pipes); a closed one is never killed
    // again: its id could have been reused.
    const killOthers = (except: number): void => {
      children.forEach((child, i) => {
        if (i === except || closed[i]) return;
        if (!exited[i]) ends[i]!.killedByUs = true;
        killGroup(child.pid);
      });
    };
    const stop = (why: Ending, error?: unknown): void => {
      if (ending === null) [ending, failure] = [why, error];
      killOthers(-1);
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
    // No PCM for the stall time, then a probe window (a third of it) in
    // which the processes were on a CPU, is a stall. Runnable yet with
    // little CPU in the probe, they are starved by higher priorities
    // (run-queue.ts), not stalled: the wait starts over. Sharing a busy CPU
    // at equal weight gets far more.
    const groups = children.flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
    const probeMs = Math.max(1, Math.round(stallTimeoutMs / 3));
    let probeStart: RunState | null = null;
    let stallTimer: NodeJS.Timeout;
    const quiet = (): void => {
      if (ending !== null) return;
      if (probeStart === null) {
        probeStart = runState(groups);
        stallTimer = setTimeout(quiet, probeMs);
        return;
      }
      const now = runState(groups);
      const starved = now.runnable && now.cpuMs - probeStart.cpuMs < probeMs * STARVED_CPU_SHARE;
      probeStart = null;
      if (starved) stallTimer = setTimeout(quiet, stallTimeoutMs);
      else stop('stall');
    };
    stallTimer = setTimeout(quiet, stallTimeoutMs);
    const onAbort = (): void => stop('abort');
    options.signal?.addEventListener('abort', onAbort, { once: true });

    pcm.onChunk = (chunk: Buffer) => {
      if (ending !== null) return; // keep draining so 'close' can come
      if (probeStart !== null) {
        probeStart = null;
        clearTimeout(stallTimer);
        stallTimer = setTimeout(quiet, stallTimeoutMs);
      } else stallTimer.refresh();
      guarded(() => options.onPcm(chunk));
    };
    // Our end of the channel ends when every holder of the child's end is gone.
    const pcmClosed = new Promise<void>((resolve) => {
      pcm.reader.once('close', () => resolve());
      pcm.reader.on('error', () => {}); // a reset is an ending like EOF; 'close' follows
    });
    const allClosed = children.map((child, i) => {
      child.stderr.setEncoding('latin1');
      child.stderr.on('data', (chunk: string) => {
        ends[i]!.stderr = (ends[i]!.stderr + chunk).slice(-STDERR_TAIL_CHARS);
      });
      // spawn failure or a failed kill; Node still emits 'close' afterwards.
      child.on('error', (error) => stop('error', error));
      child.on('exit', (code) => {
        exited[i] = true;
        // Failed on its own: sweep up anything left in its group (right away,
        // while the group id cannot have been reused), and stop the other
        // process: an encoder would end a cut stream as if it were whole.
        if (code !== 0) {
          killGroup(child.pid);
          killOthers(i);
        }
      });
      return new Promise<void>((resolve) => {
        child.on('close', (code, signal) => {
          closed[i] = true;
          Object.assign(ends[i]!, { code, signal });
          resolve();
        });
      });
    });
    void Promise.all([...allClosed, pcmClosed]).then(() => {
      clearTimeout(stallTimer);
      options.signal?.removeEventListener('abort', onAbort);
      if (ending === 'error') reject(failure);
      else resolve({ ends, ending });
    });
    for (const child of children) if (child.pid !== undefined) guarded(() => options.onSpawn?.(child.pid!));
  });
}

export async function runFfmpeg(options: RunFfmpegOptions): Promise<FfmpegResult> {
  const ffmpegPath = await findExecutable(options.ffmpegPath);
  if (ffmpegPath === null) throw new Error(`ffmpeg not found or not executable: ${options.ffmpegPath}`);
  const tools = await detectSandboxTools();
  const { stallTimeoutMs: _, ...defaults } = RUNNER_DEFAULTS;
  const limits: SandboxLimits = { ...defaults, ...options.limits };
  const command = (args: string[]) =>
    sandboxCommand({ ffmpegPath, args, workDir: options.workDir, limits, tools, readOnlyPaths: options.readOnlyPaths ?? [] });
  const kind = sandboxKind(tools);
  const sandbox = { kind, prlimit: tools.prlimit !== null, nice: tools.nice !== null };
  if (options.signal?.aborted) return { exitCode: null, signal: null, stalled: false, aborted: true, limitHit: false, inputFailed: false, stderrTail: '', sandbox };
  // As another user, ffmpeg writes its outputs into a dir the worker created.
  if (kind === 'user' && tools.runAs) await chown(options.workDir, tools.runAs.uid, tools.runAs.gid);
  const start = (args: string[], stdio: StdioOptions): Child => {
    const [program, ...argv] = command(args).argv;
    // Its own process group, so one kill(-pgid) reaches anything it starts.
    // ffmpeg needs no variables; ours hold storage and database secrets (and
    // bubblewrap's pid 1 keeps what it was started with).
    const child = spawn(program!, argv, { detached: true, env: SANDBOX_ENV, stdio }) as Child;
    setSessionNice(child.pid, limits.nice);
    return child;
  };
  const pcm = await openPcmChannel();
  // The encoder first: the decoder's fd 3 is a copy of our end of its stdin.
  const encoder = options.encoderArgs ? start(options.encoderArgs, ['pipe', 'ignore', 'pipe']) : null;
  let decoder: Child;
  try {
    // stdout: a socket read into one reused buffer (media/pcm-socket.ts).
    decoder = start(options.args, ['ignore', pcm.childEnd, 'pipe', ...(encoder?.stdin ? [encoder.stdin] : [])]);
  } catch (error) {
    killGroup(encoder?.pid);
    throw error;
  } finally {
    pcm.releaseChildEnd();
    // Only the two children may hold the pipe: EOF reaches the encoder when the decoder exits.
    encoder?.stdin?.destroy();
  }
  const run = await supervise(encoder ? [decoder, encoder] : [decoder], pcm, options, options.stallTimeoutMs ?? RUNNER_DEFAULTS.stallTimeoutMs);
  // bubblewrap exits 128 + N for an ffmpeg killed by signal N.
  const ends = run.ends.map((end) => {
    const signal = endingSignal(kind, end.code, end.signal);
    return signal === end.signal ? end : { ...end, code: null, signal };
  });
  const primary = primaryEnd(ends);
  const [decoderEnd, encoderEnd] = ends;
  return {
    exitCode: primary.code,
    signal: primary.signal,
    stalled: run.ending === 'stall',
    aborted: run.ending === 'abort',
    limitHit: ends.some(endedByLimit),
    inputFailed: inputReadFailed(decoderEnd!.stderr, inputUrlOf(options.args)),
    stderrTail: redactUrls(decoderEnd!.stderr + (encoderEnd?.stderr ? `[encoder]\n${encoderEnd.stderr}` : '')),
    sandbox,
  };
}
