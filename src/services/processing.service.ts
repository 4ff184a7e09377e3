import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { AssetRepository } from '../db/asset.repository.js';
import type { AudioAssetEntity } from '../db/audio-asset.entity.js';
import { makeJobDir } from '../jobs/work-dirs.js';
import { ASSET_ERROR_MESSAGES, AssetStatus } from '../domain/asset-status.js';
import { type AttemptEvent, classifyFfmpegFailure, decide } from '../domain/job-outcome.js';
import type { Logger } from '../log.js';
import { detectObjectFileType } from '../media/gate.js';
import { encodeEnvelope } from '../media/peaks.js';
import { oggDurationSeconds } from '../media/ogg-duration.js';
import { transcodeAudio } from '../media/transcode.js';
import { outputHeaders, outputKey, uploadKey } from '../storage/keys.js';
import { FILE_PART_BYTES, type Storage } from '../storage/s3.js';

export interface ProcessingConfig {
  ffmpegPath: string;
  tmpDir: string;
  maxDurationSeconds: number;
  jobTimeoutSeconds: number;
}

export interface Attempt {
  assetId: string;
  retryCount: number;
  retryLimit: number;
  /** pg-boss's signal: expiry or shutdown. */
  signal: AbortSignal;
  log: Logger;
  /** Decode and encode in two processes (a core to spare: media/transcode.ts). */
  pipelined?: boolean;
}

/** Thrown to make pg-boss retry the job with backoff. */
export class RetryableError extends Error {}

/** Progress events at most this often per asset (contract: a few a second). */
const PROGRESS_INTERVAL_MS = 250;
/** ... and none before the job has run this long. */
const PROGRESS_QUIET_START_MS = 1000;

/** The M4A went to storage while ffmpeg ran (long files), or as a whole file after it. */
export type StoredHow = 'streamed' | 'whole';
/** An attempt that stored and recorded its result (the asset is finished next). */
type Stored = { kind: 'stored'; how: StoredHow };

/** How an attempt left the asset (metrics; no second read of the row). */
export type ProcessOutcome =
  /** `stored`: how this attempt stored the M4A (absent when an earlier attempt did). */
  | { kind: 'done'; durationSeconds: number | null; stored?: StoredHow }
  | { kind: 'failed'; code: string | null }
  | { kind: 'deleted' }
  | { kind: 'other' };

function outcomeOf(asset: AudioAssetEntity | null): ProcessOutcome {
  if (!asset) return { kind: 'deleted' };
  if (asset.status === AssetStatus.DONE) return { kind: 'done', durationSeconds: asset.durationSeconds };
  if (asset.status === AssetStatus.FAILED) return { kind: 'failed', code: asset.errorCode };
  return { kind: 'other' };
}

/**
 * One processing attempt: gate, transcode, store, finish. Expected endings
 * are decided by domain/job-outcome.ts; only "retry" escapes as an error.
 */
export class ProcessingService {
  constructor(
    private readonly assets: AssetRepository,
    private readonly storage: Storage,
    private readonly config: ProcessingConfig,
  ) {}

  /** Runs one attempt; says how the asset ended up (for metrics), or throws RetryableError. */
  async process(a: Attempt): Promise<ProcessOutcome> {
    // The guarded move is also the existence check: one round trip in the
    // common case (QUEUED -> PROCESSING), a read only when nothing moved.
    const started = await this.assets.moveTo(a.assetId, AssetStatus.PROCESSING, {}, [AssetStatus.QUEUED, AssetStatus.PROCESSING]);
    if (!started) {
      const asset = await this.assets.findById(a.assetId);
      if (!asset) await this.removeObjects(a.assetId); // deleted while queued
      else if (asset.status === AssetStatus.DONE) await this.storage.delete(uploadKey(a.assetId)); // finished, original maybe left
      else if (asset.status === AssetStatus.FAILED) await this.removeObjects(a.assetId);
      return outcomeOf(asset);
    }
    // A previous attempt stored the output and recorded the result, then died.
    if (started.durationSeconds !== null && (await this.storage.head(outputKey(a.assetId)))) return this.finish(a);

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.config.jobTimeoutSeconds * 1000);
    const signal = AbortSignal.any([a.signal, timeout.signal]);
    let workDir: string | null = null;
    let event: AttemptEvent | Stored;
    try {
      event = await this.attempt(a, started.size, signal, async () => (workDir = await this.makeWorkDir(a.assetId)));
    } catch (e) {
      a.log.error({ err: e }, 'processing attempt failed unexpectedly');
      event = { kind: 'internal' };
    } finally {
      clearTimeout(timer);
      // Before anything is published: an ended asset never has temp files.
      if (workDir) await rm(workDir, { recursive: true, force: true });
    }
    if (timeout.signal.aborted && event.kind !== 'stored') event = { kind: 'timeout' };
    return event.kind === 'stored' ? this.finish(a, event.how) : this.settle(a, event);
  }

  /**
   * The result is stored and recorded; the original goes before DONE is
   * published, so a DONE asset has nothing but its M4A (contract). A crash in
   * between is finished by the next attempt (see `process`).
   */
  private async finish(a: Attempt, stored?: StoredHow): Promise<ProcessOutcome> {
    await this.storage.delete(uploadKey(a.assetId));
    const done = await this.assets.moveTo(a.assetId, AssetStatus.DONE, { progress: 1 }, [AssetStatus.PROCESSING]);
    if (!done) {
      a.log.info('asset deleted while processing: removing what was written');
      await this.removeObjects(a.assetId);
      return { kind: 'deleted' };
    }
    a.log.info({ durationSeconds: done.durationSeconds, stored }, 'done');
    const outcome = outcomeOf(done);
    return outcome.kind === 'done' && stored ? { ...outcome, stored } : outcome;
  }

  /** Returns the event to settle on, or 'stored' when the result is stored and recorded. */
  private async attempt(a: Attempt, size: number, signal: AbortSignal, makeWorkDir: () => Promise<string>): Promise<AttemptEvent | Stored> {
    const original = uploadKey(a.assetId);
    let gate;
    let head: Uint8Array | null = null; // the gate's first read, reused for Ogg
    try {
      gate = await detectObjectFileType(async (start, end) => {
        const bytes = await this.storage.getRange(original, start, end);
        if (start === 0) head = bytes;
        return bytes;
      }, size);
    } catch (e) {
      a.log.warn({ err: e }, 'could not read the original for the magic-byte check');
      return { kind: 'storage-unavailable' };
    }
    if (!gate.ok) {
      a.log.info({ detected: gate.detected, reason: gate.reason }, 'rejected by the magic-byte gate');
      await this.assets.moveTo(a.assetId, AssetStatus.PROCESSING, { detectedType: gate.detected }, [AssetStatus.PROCESSING]);
      return { kind: 'rejected-type' };
    }

    // Independent steps, side by side: each is a round trip or a syscall.
    const [expectedDurationSeconds, dir, inputUrl] = await Promise.all([
      gate.demuxer === 'ogg' ? this.oggDuration(original, size, head) : null,
      makeWorkDir(),
      this.storage.presignInternalGet(original, this.config.jobTimeoutSeconds + 120),
    ]);
    const outputPath = path.join(dir, 'output.m4a');
    const output = { key: outputKey(a.assetId), headers: outputHeaders(a.assetId) };
    // No progress in the first second: a voice note is done before anyone
    // could read it, and each update is a write plus an event to every subscriber.
    let lastProgressAt = Date.now() + PROGRESS_QUIET_START_MS - PROGRESS_INTERVAL_MS;
    const outcome = await transcodeAudio({
      ffmpegPath: this.config.ffmpegPath,
      inputUrl,
      demuxer: gate.demuxer,
      outputPath,
      maxDurationSeconds: this.config.maxDurationSeconds,
      signal,
      expectedDurationSeconds,
      pipelined: a.pipelined ?? false,
      // A long M4A is stored while ffmpeg runs; a short one below, from outputPath.
      upload: { partBytes: FILE_PART_BYTES, open: () => this.storage.openMultipart(output.key, output.headers) },
      onProgress: (decoded, declared) => {
        const now = Date.now();
        if (!declared || now - lastProgressAt < PROGRESS_INTERVAL_MS) return;
        lastProgressAt = now;
        const progress = Math.min(0.99, Math.round((decoded / declared) * 100) / 100);
        this.assets.raiseProgress(a.assetId, progress).catch((e) => a.log.warn({ err: e }, 'progress update failed'));
      },
    });
    switch (outcome.kind) {
      case 'too-long':
        a.log.info({ reason: outcome.reason }, 'too long');
        return { kind: 'too-long' };
      case 'aborted':
        return { kind: 'aborted' };
      case 'store-failed':
        a.log.warn({ err: outcome.error }, 'storing the output failed');
        return { kind: 'storage-unavailable' };
      case 'failed':
        a.log.info({ exitCode: outcome.ffmpeg.exitCode, signal: outcome.ffmpeg.signal, stderr: outcome.ffmpeg.stderrTail.slice(-1500) }, 'ffmpeg failed');
        return outcome.samples === 0 && outcome.ffmpeg.exitCode === 0 ? { kind: 'unreadable' } : classifyFfmpegFailure(outcome.ffmpeg);
    }
    // Store (unless it was streamed already) and record side by side. Either may land without the other if the
    // process dies here; the next attempt redoes the work unless both did
    // (`process` checks the recorded duration AND the stored object).
    const [stored, recorded] = await Promise.all([
      (outcome.stored ? Promise.resolve() : this.storage.putFile(output.key, outputPath, output.headers))
        .then(
          () => true,
          (e: unknown) => {
            a.log.warn({ err: e }, 'storing the output failed');
            return false;
          },
        ),
      this.assets.moveTo(
        a.assetId,
        AssetStatus.PROCESSING,
        { detectedType: gate.mime, durationSeconds: outcome.durationSeconds, envelope: encodeEnvelope(outcome.envelope) },
        [AssetStatus.PROCESSING],
      ),
    ]);
    if (!stored && recorded) return { kind: 'storage-unavailable' };
    // Not recorded: the asset was deleted meanwhile; `finish` finds that out
    // (its move to DONE fails) and removes what was written, once.
    return { kind: 'stored', how: outcome.stored ? 'streamed' : 'whole' };
  }

  private async settle(a: Attempt, event: AttemptEvent): Promise<ProcessOutcome> {
    if (!(await this.assets.findById(a.assetId))) {
      a.log.info('asset deleted while processing: removing what was written');
      await this.removeObjects(a.assetId);
      return { kind: 'deleted' };
    }
    const decision = decide(event, a);
    if (decision.action === 'retry') {
      a.log.warn({ event: event.kind, retryCount: a.retryCount }, 'attempt failed; will retry');
      throw new RetryableError(`attempt ended with ${event.kind}; retrying`);
    }
    // Objects go first: a subscriber that sees FAILED finds nothing left.
    await this.removeObjects(a.assetId).catch((e) => a.log.warn({ err: e }, 'could not delete the stored objects'));
    const failed = await this.assets.fail(a.assetId, decision.code, ASSET_ERROR_MESSAGES[decision.code], [AssetStatus.PROCESSING]);
    a.log.info({ code: decision.code }, 'failed');
    return failed ? outcomeOf(failed) : { kind: 'deleted' };
  }

  private async removeObjects(id: string): Promise<void> {
    await Promise.all([this.storage.delete(uploadKey(id)), this.storage.delete(outputKey(id))]);
  }

  /** Ogg's duration from its first and last pages (the gate's bytes + one ranged read); null when unknown. */
  private async oggDuration(key: string, size: number, gateHead: Uint8Array | null): Promise<number | null> {
    const [head, tail] = await Promise.all([
      gateHead ?? this.storage.getRange(key, 0, Math.min(size, 4096) - 1),
      this.storage.getRange(key, Math.max(0, size - 65_536), size - 1),
    ]);
    return oggDurationSeconds(head.subarray(0, 4096), tail);
  }

  private makeWorkDir(id: string): Promise<string> {
    return makeJobDir(this.config.tmpDir, id);
  }
}
