// One processing attempt, as an orchestrator: check the original, run the
// media step, store the outputs, record the result. What happens to a file
// is decided in src/media (one MediaResult); this file maps that result to
// the asset once (`doneFields`, `settle`).
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { PcmAnalyser } from '../analysis/analyser.js';
import { LoudnessMeter } from '../analysis/loudness.js';
import { normalisationGainDb } from '../analysis/normalise.js';
import { PeakReducer, encodeEnvelope } from '../analysis/peaks.js';
import { WaveformLevelsAnalyser } from '../analysis/waveform-files.js';
import type { AssetPatch } from '../db/asset-row.js';
import type { AssetRepository } from '../db/asset.repository.js';
import type { AudioAssetEntity } from '../db/audio-asset.entity.js';
import { ASSET_ERROR_MESSAGES, AssetErrorCode, AssetStatus } from '../domain/asset-status.js';
import type { ProcessAudioJob } from '../jobs/queue.js';
import { makeJobDir } from '../jobs/work-dirs.js';
import type { Logger } from '../log.js';
import { checkOriginal } from '../media/check.js';
import type { Done, Failed, OutputFile } from '../media/result.js';
import { failed, originalChanged, retryable } from '../media/result.js';
import type { PlanInput } from '../media/plan.js';
import { type AnalysesOf, type RunRequest, runMedia } from '../media/run.js';
import { type RenditionPlan, loudnessFields, planRenditions } from '../renditions/job-renditions.js';
import { opusKey, outputHeaders, outputKey, uploadKey } from '../storage/keys.js';
import { RenditionFormat } from '../domain/processing-options.js';
import type { Storage } from '../storage/s3.js';
import { isLongJob, niceFor } from '../domain/fairness.js';
import { deleteAssetObjects, waveformLevelsOf, waveformObjectKeys, waveformOutputs } from '../storage/waveform-objects.js';

export interface ProcessingConfig {
  ffmpegPath: string;
  /** The ffmpeg in use takes `-movie_timescale` (probed at start-up). */
  movieTimescale: boolean;
  /** The ffmpeg in use has libopus (else OPUS_OGG renditions are skipped with a warning). */
  libopus: boolean;
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
export function jobAnalysers(workDir: string) {
  return [new PeakReducer(), new WaveformLevelsAnalyser(workDir), new LoudnessMeter()] as const satisfies readonly PcmAnalyser[];
}
type JobDone = Done<AnalysesOf<ReturnType<typeof jobAnalysers>>>;
type RunPlanInput = Omit<PlanInput, 'pipelined'>;
/** What both runs of a job share (the measuring one, then the encode). */
type RunCommon = Pick<RunRequest<readonly PcmAnalyser[]>, 'ffmpegPath' | 'headerSeconds' | 'longJob' | 'limits' | 'signal'>;

/** The files a finished job stores: the M4A, its waveform levels and its renditions. */
function jobOutputs(assetId: string, done: JobDone, renditions: RenditionPlan): OutputFile[] {
  const [, levels] = done.analyses;
  const extra = renditions.files.map(({ key, path, contentType, contentDisposition }) => ({ key, path, contentType, contentDisposition }));
  return [{ key: outputKey(assetId), path: done.m4aPath, ...outputHeaders(assetId) }, ...waveformOutputs(assetId, levels), ...extra];
}

/** Done, as the asset records it: the one mapping of a finished run to the row. */
function doneFields(done: JobDone, detectedType: string, renditionSizes: Record<string, number>): AssetPatch {
  const [envelope, levels, loudness] = done.analyses;
  return {
    detectedType, durationSeconds: done.durationSeconds, envelope: encodeEnvelope(envelope), waveformLevels: waveformLevelsOf(levels),
    ...loudnessFields(loudness), loudnessMeasuredAt: new Date(), renditionSizes,
  };
}

/** Bytes of each rendition file ffmpeg wrote. */
async function renditionSizes(renditions: RenditionPlan): Promise<Record<string, number>> {
  return Object.fromEntries(await Promise.all(renditions.files.map(async (f) => [f.format, (await stat(f.path)).size] as const)));
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
    if (started.durationSeconds !== null && (await this.allStored(started))) return this.finish(a);

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.config.jobTimeoutSeconds * 1000);
    const workDir = await makeJobDir(this.config.tmpDir, id);
    let result: Failed | Stored;
    try {
      result = await this.attempt(a, started, workDir, AbortSignal.any([a.signal, timeout.signal]));
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
  private async attempt(a: Attempt, asset: AudioAssetEntity, workDir: string, signal: AbortSignal): Promise<Failed | Stored> {
    const id = a.job.assetId;
    const size = asset.size;
    const original = uploadKey(id);
    const startedAt = performance.now();
    const etag = a.job.etag ?? (await this.storage.head(original))?.etag ?? null;
    const [checked, inputUrl] = await Promise.all([
      checkOriginal((start, end) => this.storage.getRange(original, start, end, etag), size),
      this.storage.presignInternalGet(original, this.config.jobTimeoutSeconds + 120),
    ]);
    if (checked.kind === 'failed') return checked;
    const checkedAt = performance.now();
    const plan: RunPlanInput = {
      inputUrl, demuxer: checked.demuxer, etag, m4aPath: path.join(workDir, 'audio.m4a'),
      maxDurationSeconds: this.config.maxDurationSeconds, movieTimescale: this.config.movieTimescale,
    };
    const renditions = planRenditions(id, asset.renditionsRequested, workDir, this.config.libopus);
    if (renditions.skipped.length) a.log.warn({ skipped: renditions.skipped }, 'renditions skipped: this ffmpeg cannot encode them');
    const common: RunCommon = {
      ffmpegPath: this.config.ffmpegPath, headerSeconds: checked.headerSeconds, signal,
      longJob: isLongJob(checked.headerSeconds, size),
      // CPU time can't exceed the wall-clock budget on one core; the margin lets the job's own timer speak first.
      // A long file's ffmpeg yields the CPU to a voice note's (domain/fairness.ts); judged by the probe, else the size.
      limits: { cpuSeconds: this.config.jobTimeoutSeconds + 10, nice: niceFor(checked.headerSeconds, size) },
    };
    const result = await this.run(a, plan, asset.loudnessTarget, renditions, common);
    // Our own check, whatever the storage did with If-Match: the version read is still the one checked.
    const unchanged = await this.originalUnchanged(original, etag);
    if (unchanged !== true) return unchanged;
    if (result.kind === 'failed') {
      a.log.info({ code: result.code, reason: result.message }, 'media run failed');
      return result;
    }
    const ranAt = performance.now();
    const sizes = await renditionSizes(renditions);
    // Store and record side by side. Either may land without the other if
    // the process dies here; the next attempt redoes the work unless both did.
    const [stored, recorded] = await Promise.all([
      Promise.all(jobOutputs(id, result, renditions).map((file) => this.storage.uploadFile(file))).then(() => true, (e: unknown) => {
        a.log.warn({ err: e }, 'storing the outputs failed');
        return false;
      }),
      this.assets.moveTo(id, AssetStatus.PROCESSING, doneFields(result, checked.mime, sizes), [AssetStatus.PROCESSING]),
    ]);
    if (!stored && recorded) return retryable('storing the outputs failed');
    // Where a job's time went, per stage (operators' first question about a slow one).
    const ms = (from: number, to = performance.now()) => Math.round(to - from);
    a.log.info({ checkMs: ms(startedAt, checkedAt), mediaMs: ms(checkedAt, ranAt), storeMs: ms(ranAt) }, 'outputs stored');
    // Not recorded: the asset was deleted meanwhile; `finish` finds that out and removes what was written.
    return { kind: 'stored', processes: result.processes ?? 1 };
  }

  /**
   * The media run. With a loudness target, a decode that only measures comes
   * first (the gain needs the whole file's loudness), then the run with that
   * gain; each is half of the progress.
   */
  private async run(
    a: Attempt, plan: RunPlanInput, target: number | null, renditions: RenditionPlan, common: RunCommon,
  ): Promise<Failed | (JobDone & { processes?: 1 | 2 })> {
    const report = this.progressReporter(a);
    let gainDb: number | undefined;
    if (target !== null) {
      const measured = await runMedia({
        ...common, plan: { ...plan, analyseOnly: true }, analysers: [new LoudnessMeter()] as const, onProgress: (f) => report(f / 2),
      });
      if (measured.kind === 'failed') return measured;
      gainDb = normalisationGainDb(measured.analyses[0], target);
      a.log.info({ measured: measured.analyses[0], gainDb }, 'loudness measured for normalisation');
    }
    const extraOutputs = renditions.files.map((f) => ({ args: f.args, path: f.path }));
    return runMedia({
      ...common, plan: { ...plan, gainDb, extraOutputs }, analysers: jobAnalysers(path.dirname(plan.m4aPath)), onProgress: target === null ? report : (f) => report(0.5 + f / 2),
    });
  }

  /** The M4A, every rendition and every waveform level the row records are in storage. */
  private async allStored(asset: AudioAssetEntity): Promise<boolean> {
    const keys = [
      outputKey(asset.id),
      ...(asset.renditionSizes[RenditionFormat.OPUS_OGG] !== undefined ? [opusKey(asset.id)] : []),
      ...waveformObjectKeys(asset.id, asset.waveformLevels ?? []),
    ];
    const heads = await Promise.all(keys.map((key) => this.storage.head(key)));
    return heads.every((h) => h !== null);
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
    await deleteAssetObjects(this.storage, id);
  }
}
