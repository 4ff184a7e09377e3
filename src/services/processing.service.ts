// One processing attempt, as an orchestrator: check the original, run the
// media step, store the outputs, record the result. What happens to a file
// is decided in src/media (one MediaResult); this file maps that result to
// the asset once (`doneFields`, `settle`).
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { PcmAnalyser } from '../analysis/analyser.js';
import { PeakReducer, encodeEnvelope } from '../analysis/peaks.js';
import { WaveformLevelsAnalyser } from '../analysis/waveform-files.js';
import type { AssetPatch, AssetRepository } from '../db/asset.repository.js';
import type { AudioAssetEntity } from '../db/audio-asset.entity.js';
import { ASSET_ERROR_MESSAGES, AssetErrorCode, AssetStatus } from '../domain/asset-status.js';
import type { ProcessAudioJob } from '../jobs/queue.js';
import { makeJobDir } from '../jobs/work-dirs.js';
import type { Logger } from '../log.js';
import { checkOriginal } from '../media/check.js';
import type { Done, Failed, OutputFile } from '../media/result.js';
import { failed, originalChanged, retryable } from '../media/result.js';
import { type AnalysesOf, runMedia } from '../media/run.js';
import { assetObjectKeys, outputHeaders, outputKey, uploadKey } from '../storage/keys.js';
import type { Storage } from '../storage/s3.js';
import { niceFor } from '../domain/fairness.js';
import { deleteWaveformObjects, waveformLevelsOf, waveformOutputs } from '../storage/waveform-objects.js';

export interface ProcessingConfig {
  ffmpegPath: string;
  /** The ffmpeg in use takes `-movie_timescale` (probed at start-up). */
  movieTimescale: boolean;
  tmpDir: string;
  maxDurationSeconds: number;
  jobTimeoutSeconds: number;
}

export interface Attempt {
  job: ProcessAudioJob;
  retryCount: number;
  retryLimit: number;
  /** The queue's stop (expiry, shutdown) or the asset's deletion. */
  signal: AbortSignal;
  log: Logger;
}

/** Thrown to make the queue retry the job with backoff. */
export class RetryableError extends Error {}

/** How an attempt left the asset (metrics; no second read of the row). */
export type ProcessOutcome =
  /** `processes`: how this attempt ran ffmpeg (absent when an earlier attempt did). */
  | { kind: 'done'; durationSeconds: number | null; processes?: 1 | 2 }
  | { kind: 'failed'; code: string | null }
  | { kind: 'deleted' }
  | { kind: 'other' };

/** Progress events at most this often per asset, none in the first second (contract: a few a second). */
const PROGRESS_INTERVAL_MS = 250;
const PROGRESS_QUIET_START_MS = 1000;

/** The analysers of one job, created fresh for it; their results arrive in Done.analyses in this order. */
function jobAnalysers(workDir: string) {
  return [new PeakReducer(), new WaveformLevelsAnalyser(workDir)] as const satisfies readonly PcmAnalyser[];
}
type JobDone = Done<AnalysesOf<ReturnType<typeof jobAnalysers>>>;

/** The files a finished job stores. */
function jobOutputs(assetId: string, done: JobDone): OutputFile[] {
  const [, levels] = done.analyses;
  return [{ key: outputKey(assetId), path: done.m4aPath, ...outputHeaders(assetId) }, ...waveformOutputs(assetId, levels)];
}

/** Done, as the asset records it: the one mapping of a finished run to the row. */
function doneFields(done: JobDone, detectedType: string): AssetPatch {
  const [envelope, levels] = done.analyses;
  return {
    detectedType, durationSeconds: done.durationSeconds, envelope: encodeEnvelope(envelope), waveformLevels: waveformLevelsOf(levels),
  };
}

function outcomeOf(asset: AudioAssetEntity | null): ProcessOutcome {
  if (!asset) return { kind: 'deleted' };
  if (asset.status === AssetStatus.DONE) return { kind: 'done', durationSeconds: asset.durationSeconds };
  if (asset.status === AssetStatus.FAILED) return { kind: 'failed', code: asset.errorCode };
  return { kind: 'other' };
}

type Stored = { kind: 'stored'; processes: 1 | 2 };

export class ProcessingService {
  constructor(
    private readonly assets: AssetRepository,
    private readonly storage: Storage,
    private readonly config: ProcessingConfig,
  ) {}

  /** Runs one attempt; says how the asset ended up (for metrics), or throws RetryableError. */
  async process(a: Attempt): Promise<ProcessOutcome> {
    const id = a.job.assetId;
    // The guarded move is also the existence check: one round trip in the common case.
    const started = await this.assets.moveTo(id, AssetStatus.PROCESSING, {}, [AssetStatus.QUEUED, AssetStatus.PROCESSING]);
    if (!started) return this.leftovers(id);
    // A previous attempt stored the output and recorded the result, then died.
    if (started.durationSeconds !== null && (await this.storage.head(outputKey(id)))) return this.finish(a);

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.config.jobTimeoutSeconds * 1000);
    const workDir = await makeJobDir(this.config.tmpDir, id);
    let result: Failed | Stored;
    try {
      result = await this.attempt(a, started.size, workDir, AbortSignal.any([a.signal, timeout.signal]));
    } catch (e) {
      a.log.error({ err: e }, 'processing attempt failed unexpectedly');
      result = retryable('unexpected error');
    } finally {
      clearTimeout(timer);
      // Before anything is published: an ended asset never has temp files.
      await rm(workDir, { recursive: true, force: true });
    }
    if (timeout.signal.aborted && result.kind !== 'stored') result = failed(AssetErrorCode.TIMEOUT);
    return result.kind === 'stored' ? this.finish(a, result.processes) : this.settle(a, result);
  }

  /** Check, run, store and record; the result is stored and recorded when this returns 'stored'. */
  private async attempt(a: Attempt, size: number, workDir: string, signal: AbortSignal): Promise<Failed | Stored> {
    const id = a.job.assetId;
    const original = uploadKey(id);
    const etag = a.job.etag ?? (await this.storage.head(original))?.etag ?? null;
    const [checked, inputUrl] = await Promise.all([
      checkOriginal((start, end) => this.storage.getRange(original, start, end, etag), size),
      this.storage.presignInternalGet(original, this.config.jobTimeoutSeconds + 120),
    ]);
    if (checked.kind === 'failed') return checked;
    const result = await runMedia({
      ffmpegPath: this.config.ffmpegPath,
      plan: {
        inputUrl, demuxer: checked.demuxer, etag, m4aPath: path.join(workDir, 'audio.m4a'),
        maxDurationSeconds: this.config.maxDurationSeconds, movieTimescale: this.config.movieTimescale,
      },
      analysers: jobAnalysers(workDir),
      headerSeconds: checked.headerSeconds,
      // CPU time can't exceed the wall-clock budget on one core; the margin lets the job's own timer speak first.
      // A long file's ffmpeg yields the CPU to a voice note's (domain/fairness.ts); judged by the probe, else the size.
      limits: { cpuSeconds: this.config.jobTimeoutSeconds + 10, nice: niceFor(checked.headerSeconds, size) },
      signal,
      onProgress: this.progressReporter(a),
    });
    // Our own check, whatever the storage did with If-Match: the version read is still the one checked.
    const unchanged = await this.originalUnchanged(original, etag);
    if (unchanged !== true) return unchanged;
    if (result.kind === 'failed') {
      a.log.info({ code: result.code, reason: result.message }, 'media run failed');
      return result;
    }
    // Store and record side by side. Either may land without the other if
    // the process dies here; the next attempt redoes the work unless both did.
    const [stored, recorded] = await Promise.all([
      Promise.all(jobOutputs(id, result).map((file) => this.storage.uploadFile(file))).then(() => true, (e: unknown) => {
        a.log.warn({ err: e }, 'storing the outputs failed');
        return false;
      }),
      this.assets.moveTo(id, AssetStatus.PROCESSING, doneFields(result, checked.mime), [AssetStatus.PROCESSING]),
    ]);
    if (!stored && recorded) return retryable('storing the outputs failed');
    // Not recorded: the asset was deleted meanwhile; `finish` finds that out and removes what was written.
    return { kind: 'stored', processes: result.processes ?? 1 };
  }

  private async originalUnchanged(key: string, etag: string | null): Promise<true | Failed> {
    try {
      const head = await this.storage.head(key);
      return head === null || etag === null || head.etag === etag ? true : originalChanged();
    } catch (e) {
      return retryable(`storage did not answer: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private progressReporter(a: Attempt): (fraction: number) => void {
    // No progress in the first second: a voice note is done before anyone
    // could read it, and each update is a write plus an event to every subscriber.
    let lastAt = Date.now() + PROGRESS_QUIET_START_MS - PROGRESS_INTERVAL_MS;
    // Only a value above the last one is news (a slow start would otherwise publish 0).
    let sent = 0;
    return (fraction) => {
      const now = Date.now();
      if (now - lastAt < PROGRESS_INTERVAL_MS) return;
      const progress = Math.min(0.99, Math.round(fraction * 100) / 100);
      if (progress <= sent) return;
      [lastAt, sent] = [now, progress];
      this.assets.raiseProgress(a.job.assetId, progress).catch((e) => a.log.warn({ err: e }, 'progress update failed'));
    };
  }

  /** The original goes before DONE is published: a DONE asset has nothing but its outputs (contract). */
  private async finish(a: Attempt, processes?: 1 | 2): Promise<ProcessOutcome> {
    const id = a.job.assetId;
    await this.storage.delete(uploadKey(id));
    const done = await this.assets.moveTo(id, AssetStatus.DONE, { progress: 1 }, [AssetStatus.PROCESSING]);
    if (!done) {
      a.log.info('asset deleted while processing: removing what was written');
      await this.removeObjects(id);
      return { kind: 'deleted' };
    }
    a.log.info({ durationSeconds: done.durationSeconds, processes }, 'done');
    return processes ? { kind: 'done', durationSeconds: done.durationSeconds, processes } : outcomeOf(done);
  }

  /** A Failed, as the asset records it: retried while attempts remain, else FAILED with its code. */
  private async settle(a: Attempt, result: Failed): Promise<ProcessOutcome> {
    const id = a.job.assetId;
    if (!(await this.assets.findById(id))) {
      a.log.info('asset deleted while processing: removing what was written');
      await this.removeObjects(id);
      return { kind: 'deleted' };
    }
    if (result.retryable && a.retryCount < a.retryLimit) {
      a.log.warn({ reason: result.message, retryCount: a.retryCount }, 'attempt failed; will retry');
      throw new RetryableError(`attempt ended with: ${result.message}; retrying`);
    }
    // Objects go first: a subscriber that sees FAILED finds nothing left.
    await this.removeObjects(id).catch((e) => a.log.warn({ err: e }, 'could not delete the stored objects'));
    if (result.detectedType !== undefined) {
      await this.assets.moveTo(id, AssetStatus.PROCESSING, { detectedType: result.detectedType }, [AssetStatus.PROCESSING]);
    }
    const ended = await this.assets.fail(id, result.code, ASSET_ERROR_MESSAGES[result.code], [AssetStatus.PROCESSING]);
    a.log.info({ code: result.code, reason: result.message }, 'failed');
    return ended ? outcomeOf(ended) : { kind: 'deleted' };
  }

  /** The job of an asset that is not QUEUED/PROCESSING: clear what its state says must not exist. */
  private async leftovers(id: string): Promise<ProcessOutcome> {
    const asset = await this.assets.findById(id);
    if (!asset || asset.status === AssetStatus.FAILED) await this.removeObjects(id);
    else if (asset.status === AssetStatus.DONE) await this.storage.delete(uploadKey(id)); // finished, original maybe left
    return outcomeOf(asset);
  }

  private async removeObjects(id: string): Promise<void> {
    await Promise.all([...assetObjectKeys(id).map((key) => this.storage.delete(key)), deleteWaveformObjects(this.storage, id)]);
  }
}
