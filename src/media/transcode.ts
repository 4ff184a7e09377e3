import { rm } from 'node:fs/promises';
import { buildPipelinedTranscodeArgs, buildTranscodeArgs, type TranscodeArgsOptions } from './ffmpeg-args.js';
import { type FfmpegLimits, type FfmpegResult, runFfmpeg } from './ffmpeg-runner.js';
import { writeFaststartM4a } from './m4a-file.js';
import { M4aPartsWriter, PartUploadError, type PartUpload } from './m4a-parts.js';
import { readTopLevelBoxes, isFaststart } from './mp4-boxes.js';
import { type Envelope, PeakReducer } from './peaks.js';
import { createPcmConsumer } from './pcm.js';

export const OUTPUT_SAMPLE_RATE = 44_100;

/**
 * A long output starts going to storage only after this: a voice note is
 * done before, and takes the ordinary path without a single extra read.
 */
const PARTS_START_DELAY_MS = 1000;

/** Raised inside the PCM callback to stop ffmpeg the moment the limit is passed. */
class TooLongError extends Error {}

export interface TranscodeRequest {
  ffmpegPath: string;
  inputUrl: string;
  demuxer: string;
  /** The M4A to write; ffmpeg's ADTS goes next to it (`<outputPath>.aac`) and is removed. */
  outputPath: string;
  maxDurationSeconds: number;
  signal: AbortSignal;
  limits?: FfmpegLimits;
  stallTimeoutMs?: number;
  /** An exact duration known before ffmpeg starts (e.g. Ogg granules: media/ogg-duration.ts), or null. */
  expectedDurationSeconds?: number | null;
  /** Decoded seconds so far and the container's declared duration (if any). */
  onProgress?: (decodedSeconds: number, declaredSeconds: number | null) => void;
  /**
   * Where a long output is stored while ffmpeg runs (m4a-parts.ts). Without
   * it, or for an output under two parts, the M4A is written to `outputPath`.
   */
  upload?: { partBytes: number; open: () => Promise<PartUpload>; startDelayMs?: number };
  /**
   * Decode and encode in two processes joined by a pipe (ffmpeg-args.ts), so
   * they overlap on two cores: for a worker with a core to spare. Same
   * decode, same bytes out.
   */
  pipelined?: boolean;
}

export type TranscodeOutcome =
  /** `stored`: the M4A went to `upload` (else it is at `outputPath`). */
  | { kind: 'done'; samples: number; durationSeconds: number; envelope: Envelope; stored: boolean }
  | { kind: 'store-failed'; error: Error }
  | { kind: 'too-long'; reason: string }
  | { kind: 'aborted' }
  | { kind: 'failed'; ffmpeg: FfmpegResult; samples: number };

/**
 * One decode (in one ffmpeg process, or a decoder piping into an encoder):
 * the AAC file and the PCM that feeds the peak reducer come from the same
 * decoded signal. Duration is the decoded sample count, never a header. A
 * declared duration far over the limit ends it before anything big is
 * decoded or written.
 */
export async function transcodeAudio(r: TranscodeRequest): Promise<TranscodeOutcome> {
  const refusal = (seconds: number) =>
    // A header may be off by a little (VBR estimates): refuse only far beyond.
    seconds > r.maxDurationSeconds * 1.5 + 5
      ? `declared duration ${seconds.toFixed(0)} s is over the limit of ${r.maxDurationSeconds} s`
      : null;
  const expected = r.expectedDurationSeconds ?? null;
  // An exact count (not an estimate) is held to the limit itself, plus a second of slack.
  const early =
    expected !== null && expected > r.maxDurationSeconds + 1
      ? `the stream holds ${expected.toFixed(0)} s, over the limit of ${r.maxDurationSeconds} s`
      : null;
  if (early) return { kind: 'too-long', reason: early };
  const reducer = new PeakReducer();
  const consume = createPcmConsumer(reducer);
  const maxSamples = r.maxDurationSeconds * OUTPUT_SAMPLE_RATE;
  const local = new AbortController();
  const abortLocal = () => local.abort();
  r.signal.addEventListener('abort', abortLocal, { once: true });
  let tooLong: string | null = null;
  let declared: number | null = expected;
  const adtsPath = `${r.outputPath}.aac`;
  const parts = r.upload
    ? new M4aPartsWriter({ adtsPath, partBytes: r.upload.partBytes, openUpload: r.upload.open, startDelayMs: r.upload.startDelayMs ?? PARTS_START_DELAY_MS })
    : null;
  // What ended the follower early, if anything (kept, not thrown: nothing awaits it until ffmpeg exits).
  const follower: { error: unknown } = { error: null };
  let following: Promise<void> | undefined;

  try {
    const argsOptions: TranscodeArgsOptions = { inputUrl: r.inputUrl, demuxer: r.demuxer, adtsPath, maxDurationSeconds: r.maxDurationSeconds };
    const pipeline = r.pipelined ? buildPipelinedTranscodeArgs(argsOptions) : null;
    const exited = runFfmpeg({
      ffmpegPath: r.ffmpegPath,
      args: pipeline?.decoder ?? buildTranscodeArgs(argsOptions),
      ...(pipeline ? { encoderArgs: pipeline.encoder } : {}),
      signal: local.signal,
      ...(r.limits ? { limits: r.limits } : {}),
      ...(r.stallTimeoutMs ? { stallTimeoutMs: r.stallTimeoutMs } : {}),
      onDeclaredDuration: (seconds) => {
        declared ??= seconds;
        tooLong = refusal(seconds);
        if (tooLong) local.abort();
      },
      onPcm: (chunk) => {
        consume(chunk);
        if (reducer.sampleCount > maxSamples) {
          throw new TooLongError(`decoded audio passed the limit of ${r.maxDurationSeconds} s`);
        }
        r.onProgress?.(reducer.sampleCount / OUTPUT_SAMPLE_RATE, declared);
      },
    });
    // A follower that fails (storage refused a part) stops ffmpeg: this attempt is over.
    following = parts?.follow(exited, local.signal).catch((e: unknown) => {
      follower.error = e;
      local.abort();
    });
    const result = await exited;
    await following;
    if (follower.error) throw follower.error; // a PartUploadError becomes store-failed below
    if (tooLong) return { kind: 'too-long', reason: tooLong };
    if (result.aborted) return { kind: 'aborted' };
    const samples = reducer.sampleCount;
    // Exit 0 with nothing decoded happens (e.g. a server without Range support).
    if (result.exitCode !== 0 || samples === 0) return { kind: 'failed', ffmpeg: result, samples };
    // The decoded sample count sets the M4A's edit list: it plays exactly the
    // decoded audio, without the encoder's priming and end padding.
    const timing = { durationSamples: samples, sampleRate: OUTPUT_SAMPLE_RATE, movieTimescale: OUTPUT_SAMPLE_RATE };
    const stored = (await parts?.finish(timing)) ?? null;
    if (stored === null) {
      await writeFaststartM4a({ adtsPath, outputPath: r.outputPath, ...timing });
      // Our own writer's output is still checked like any file: moov before mdat.
      if (!isFaststart(await readTopLevelBoxes(r.outputPath).catch(() => []))) return { kind: 'failed', ffmpeg: result, samples };
    }
    return { kind: 'done', samples, durationSeconds: samples / OUTPUT_SAMPLE_RATE, envelope: reducer.result(), stored: stored !== null };
  } catch (e) {
    if (e instanceof TooLongError) return { kind: 'too-long', reason: e.message };
    if (e instanceof PartUploadError) return { kind: 'store-failed', error: e };
    throw e;
  } finally {
    r.signal.removeEventListener('abort', abortLocal);
    local.abort(); // ffmpeg has exited; this stops a follower still reading
    await following; // settled before its file is closed; it never rejects
    // Unless completed, a started upload is aborted: a failed or abandoned attempt leaves no object.
    await parts?.discard();
    await rm(adtsPath, { force: true });
  }
}
