// Loudness for assets that reached DONE before the meter existed (issue 20,
// item 5): a low-priority scheduled job decodes each one's stored M4A once
// and records what it measures. Those figures are of the AAC's decode, not of
// the PCM that was encoded: integrated within ~0.5 LU of it, the true peak
// up to a few dB off (the encoder moves peaks). Null until then.
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { LoudnessMeter } from '../analysis/loudness.js';
import type { AssetRepository } from '../db/asset.repository.js';
import { makeJobDir } from '../jobs/work-dirs.js';
import type { Logger } from '../log.js';
import { runMedia } from '../media/run.js';
import { loudnessFields } from '../renditions/job-renditions.js';
import { outputKey } from '../storage/keys.js';
import type { Storage } from '../storage/s3.js';

export interface BackfillConfig {
  ffmpegPath: string;
  movieTimescale: boolean;
  tmpDir: string;
  maxDurationSeconds: number;
  jobTimeoutSeconds: number;
}

export interface BackfillResult {
  measured: number;
  failed: number;
  /** Stopped early: processing jobs need the worker. */
  yielded: boolean;
}

/** Assets measured per scheduled run at most: the run stays short, the next minute goes on. */
const BATCH = 5;

export class LoudnessBackfill {
  constructor(
    private readonly assets: AssetRepository,
    private readonly storage: Storage,
    private readonly config: BackfillConfig,
  ) {}

  /** Measures up to a batch of the backlog, one at a time, stopping whenever `busy()` says uploads are being processed. */
  async run(log: Logger, busy: () => boolean = () => false): Promise<BackfillResult> {
    const result: BackfillResult = { measured: 0, failed: 0, yielded: false };
    for (const id of await this.assets.loudnessBacklog(BATCH)) {
      if (busy()) return { ...result, yielded: true };
      const ok = await this.measure(id, log.child({ assetId: id }));
      if (ok) result.measured++;
      else result.failed++;
    }
    return result;
  }

  private async measure(id: string, log: Logger): Promise<boolean> {
    const workDir = await makeJobDir(this.config.tmpDir, id);
    try {
      const inputUrl = await this.storage.presignInternalGet(outputKey(id), this.config.jobTimeoutSeconds + 120);
      const done = await runMedia({
        ffmpegPath: this.config.ffmpegPath,
        plan: {
          inputUrl, demuxer: 'mov', etag: null, m4aPath: path.join(workDir, 'unused.m4a'), analyseOnly: true,
          maxDurationSeconds: this.config.maxDurationSeconds, movieTimescale: this.config.movieTimescale,
        },
        analysers: [new LoudnessMeter()] as const,
        headerSeconds: null,
        // The lowest CPU priority: uploads' ffmpeg always goes first.
        limits: { cpuSeconds: this.config.jobTimeoutSeconds + 10, nice: 19 },
        signal: AbortSignal.timeout(this.config.jobTimeoutSeconds * 1000),
      });
      if (done.kind === 'failed' && done.retryable) {
        log.warn({ reason: done.message }, 'loudness backfill: storage or ffmpeg trouble; the next run tries again');
        return false;
      }
      // A stored M4A that cannot be decoded is recorded as measured (null): it is not tried every minute forever.
      if (done.kind === 'failed') log.warn({ reason: done.message }, 'loudness backfill could not decode the stored M4A');
      await this.assets.recordLoudness(id, loudnessFields(done.kind === 'done' ? done.analyses[0] : null));
      return done.kind === 'done';
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}
