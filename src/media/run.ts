// One media run: spawn ffmpeg as planned (plan.ts), supervise it, feed every
// analyser the decoded PCM, and end in one MediaResult. The outcome comes from
// the exit status and our own counts, and from ffmpeg's text output only the
// one line no file can forge (ffmpeg-stderr.ts).
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { ANALYSIS_SAMPLE_RATE, type PcmAnalyser } from '../analysis/analyser.js';
import { createPcmConsumer } from '../analysis/pcm.js';
import { AssetErrorCode } from '../domain/asset-status.js';
import { type FfmpegLimits, type FfmpegResult, runFfmpeg } from './ffmpeg-runner.js';
import { OUTPUT_SAMPLE_RATE, type PlanInput, planRun } from './plan.js';
import { type Done, type Failed, type MediaResult, failed, isTooLong, retryable, tooLong } from './result.js';

/** What each analyser's finish() returns, in the analysers' order. */
export type AnalysesOf<A extends readonly PcmAnalyser[]> = { -readonly [K in keyof A]: Awaited<ReturnType<A[K]['finish']>> };

export interface RunRequest<A extends readonly PcmAnalyser[]> {
  ffmpegPath: string;
  /** Facts and settings for the plan (plan.ts); the run decides one process or two. */
  plan: Omit<PlanInput, 'pipelined'>;
  /** Created per job by the caller; each sees every decoded sample, in order. */
  analysers: A;
  /** A length the file states in its headers (header-duration.ts), or null. */
  headerSeconds: number | null;
  /** A long file (domain/fairness.ts): the only kind worth a second process (see below). */
  longJob: boolean;
  /** Per job (the nice level is the scheduler's); unset fields take the runner's defaults. */
  limits: FfmpegLimits;
  /** The job's private dir, the only one ffmpeg may write to; by default the M4A's dir. */
  workDir?: string;
  signal: AbortSignal;
  /** Decoded seconds over the header's length, when it has one. */
  onProgress?: (fraction: number) => void;
}

export type RunResult<A extends readonly PcmAnalyser[]> = MediaResult<AnalysesOf<A>> & { processes?: 1 | 2 };

/** Raised inside the PCM callback to stop ffmpeg the moment the limit is passed. */
class TooLongError extends Error {}

// A long file's run that starts alone in this process gets the idle core too
// (decoder and AAC encoder as two piped processes, the same bytes out). Under
// load every core already has a run, and a second process would only cost
// CPU; a voice note would wait for the second ffmpeg's start-up, which costs
// more than the split gains below about a minute of audio (findings 19).
let runsInProgress = 0;
const SPARE_CORES = availableParallelism() > 1;

export async function runMedia<A extends readonly PcmAnalyser[]>(r: RunRequest<A>): Promise<RunResult<A>> {
  const max = r.plan.maxDurationSeconds;
  if (r.headerSeconds !== null && isTooLong(r.headerSeconds, max)) return tooLong(r.headerSeconds, max);
  const pipelined = r.longJob && SPARE_CORES && runsInProgress === 0 && !r.plan.analyseOnly;
  runsInProgress++;
  try {
    const plan = planRun({ ...r.plan, pipelined });
    let samples = 0;
    const consume = createPcmConsumer({
      push: (chunk) => {
        for (const analyser of r.analysers) analyser.push(chunk);
        samples += chunk.length;
      },
    });
    let ffmpeg: FfmpegResult;
    try {
      ffmpeg = await runFfmpeg({
        ffmpegPath: r.ffmpegPath,
        args: plan.decoder,
        workDir: r.workDir ?? path.dirname(r.plan.m4aPath),
        readOnlyPaths: r.plan.caFile !== undefined ? [r.plan.caFile] : [],
        ...(plan.encoder ? { encoderArgs: plan.encoder } : {}),
        signal: r.signal,
        limits: r.limits,
        onPcm: (chunk) => {
          consume(chunk);
          if (isTooLong(samples / ANALYSIS_SAMPLE_RATE, max)) throw new TooLongError();
          if (r.headerSeconds) r.onProgress?.(samples / ANALYSIS_SAMPLE_RATE / r.headerSeconds);
        },
      });
    } catch (e) {
      if (e instanceof TooLongError) return tooLong(samples / ANALYSIS_SAMPLE_RATE, max);
      throw e;
    }
    const ending = judge(ffmpeg, samples);
    if (ending) return ending;
    if (isTooLong(samples / OUTPUT_SAMPLE_RATE, max)) return tooLong(samples / OUTPUT_SAMPLE_RATE, max);
    const analyses = (await Promise.all(r.analysers.map((a) => a.finish()))) as AnalysesOf<A>;
    const done: Done<AnalysesOf<A>> = {
      kind: 'done', samples, durationSeconds: samples / OUTPUT_SAMPLE_RATE, m4aPath: r.plan.m4aPath, analyses,
    };
    return { ...done, processes: plan.encoder ? 2 : 1 };
  } finally {
    runsInProgress--;
  }
}

/** How a run that was not DONE ended, from what we measured; null when it did well. */
export function judge(ffmpeg: FfmpegResult, samples: number): Failed | null {
  const ended = judgeEnding(ffmpeg, samples);
  // ffmpeg's own words go to the log with the reason, and nowhere else.
  return ended && ffmpeg.stderrTail ? { ...ended, message: `${ended.message}; stderr: ${ffmpeg.stderrTail.slice(-500).trim()}` } : ended;
}

function judgeEnding(ffmpeg: FfmpegResult, samples: number): Failed | null {
  if (ffmpeg.aborted) return retryable('stopped before ffmpeg finished');
  // The kernel stopped it at one of our limits: the file asked for too much.
  if (ffmpeg.limitHit) return failed(AssetErrorCode.UNREADABLE_AUDIO, 'ffmpeg hit a resource limit');
  // Not the file's doing: the storage stopped delivering it (a restart, a cut connection, an expired URL).
  if (ffmpeg.inputFailed) return retryable('reading the original from storage failed');
  if (ffmpeg.stalled) return failed(AssetErrorCode.UNREADABLE_AUDIO, 'ffmpeg stalled: no audio for too long');
  if (ffmpeg.signal) return retryable(`ffmpeg was killed by ${ffmpeg.signal}`);
  if (ffmpeg.exitCode !== 0) return failed(AssetErrorCode.UNREADABLE_AUDIO, `ffmpeg exited with ${ffmpeg.exitCode}`);
  // Exit 0 with nothing decoded happens (a video-only file, a server without Range support).
  if (samples === 0) return failed(AssetErrorCode.UNREADABLE_AUDIO, 'no audio was decoded');
  return null;
}
