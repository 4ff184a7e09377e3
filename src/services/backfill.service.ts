// What an asset DONE before a feature existed lacks, made from its stored
// M4A by a low-priority scheduled job: loudness (issue 20, item 5) and
// waveform levels (issue 19, item 7), both from one decode. These figures are
// of the AAC's decode, not of the PCM that was encoded: integrated loudness
// within ~0.5 LU of it, the true peak up to a few dB off (the encoder moves
// peaks), waveform pairs within an 8-bit step or two. Null until then.
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { LoudnessMeter } from '../analysis/loudness.js';
import { WaveformLevelsAnalyser } from '../analysis/waveform-files.js';
import type { AssetRepository, BackfillItem } from '../db/asset.repository.js';
import { makeJobDir } from '../jobs/work-dirs.js';
import type { Logger } from '../log.js';
import { runMedia } from '../media/run.js';
import { loudnessFields } from '../renditions/job-renditions.js';
import { outputKey } from '../storage/keys.js';
import type { Storage } from '../storage/s3.js';
import { deleteWaveformObjects, waveformLevelsOf, waveformOutputs } from '../storage/waveform-objects.js';
import type { ProcessingConfig } from './processing.service.js';

/** What a backfill run needs of the processing settings: the same ffmpeg, limits and temp dir. */
export type BackfillConfig = Omit<ProcessingConfig, 'libopus'>;

export interface BackfillResult {
  /** Assets that got everything they lacked. */
  measured: number;
  failed: number;
  /** Stopped early: processing jobs need the worker. */
  yielded: boolean;
}

/** Assets backfilled per scheduled run at most: the run stays short, the next minute goes on. */
const BATCH = 5;

export class DoneAssetBackfill {
  constructor(
    private readonly assets: AssetRepository,
    private readonly storage: Storage,
    private readonly config: BackfillConfig,
  ) {}

  /** Works through up to a batch of the backlog, one asset at a time, stopping whenever `busy()` says uploads are being processed. */
  async run(log: Logger, busy: () => boolean = () => false): Promise<BackfillResult> {
    const result: BackfillResult = { measured: 0, failed: 0, yielded: false };
    for (const item of await this.assets.backfillBacklog(BATCH)) {
      if (busy()) return { ...result, yielded: true };
      const ok = await this.fill(item, log.child({ assetId: item.id }));
      if (ok) result.measured++;
      else result.failed++;
    }
    return result;
  }

  private async fill(item: BackfillItem, log: Logger): Promise<boolean> {
    const workDir = await makeJobDir(this.config.tmpDir, item.id);
    try {
      const inputUrl = await this.storage.presignInternalGet(outputKey(item.id), this.config.jobTimeoutSeconds + 120);
      // Both analysers run whatever is missing: the decode is the cost, they add little to it.
      const done = await runMedia({
        ffmpegPath: this.config.ffmpegPath,
        plan: {
          inputUrl, demuxer: 'mov', etag: null, m4aPath: path.join(workDir, 'unused.m4a'), analyseOnly: true,
          maxDurationSeconds: this.config.maxDurationSeconds, movieTimescale: this.config.movieTimescale,
        },
        analysers: [new LoudnessMeter(), new WaveformLevelsAnalyser(workDir)] as const,
        headerSeconds: null,
        longJob: false, // a decode alone: no encoder to split off
        // The lowest CPU priority: uploads' ffmpeg always goes first.
        limits: { cpuSeconds: this.config.jobTimeoutSeconds + 10, nice: 19 },
        signal: AbortSignal.timeout(this.config.jobTimeoutSeconds * 1000),
      });
      if (done.kind === 'failed' && done.retryable) {
        log.warn({ reason: done.message }, 'backfill: storage or ffmpeg trouble; the next run tries again');
        return false;
      }
      // A stored M4A that cannot be decoded is recorded as done with (null loudness, no levels):
      // it is not tried every minute forever.
      if (done.kind === 'failed') log.warn({ reason: done.message }, 'backfill could not decode the stored M4A');
      const [loudness, levels] = done.kind === 'done' ? done.analyses : [null, []];
      // Level files first: a recorded level is always there to fetch.
      if (item.needsLevels) await Promise.all(waveformOutputs(item.id, levels).map((file) => this.storage.uploadFile(file)));
      const recorded = await this.assets.recordBackfill(item.id, {
        ...(item.needsLoudness ? { loudness: loudnessFields(loudness) } : {}),
        ...(item.needsLevels ? { levels: waveformLevelsOf(levels) } : {}),
      });
      // Not recorded: no DONE row is left (DONE is final), so the asset was deleted meanwhile; its level files go again.
      if (!recorded && item.needsLevels) await deleteWaveformObjects(this.storage, item.id);
      return done.kind === 'done';
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}
