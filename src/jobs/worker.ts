import type { PgBoss } from 'pg-boss';
import type { Config } from '../config/config.js';
import type { AssetRepository } from '../db/asset.repository.js';
import type { Logger } from '../log.js';
import { resolveFfmpeg } from '../media/ffmpeg-binary.js';
import { ProcessingService } from '../services/processing.service.js';
import type { Storage } from '../storage/s3.js';
import { PROCESS_AUDIO_QUEUE, PROCESS_AUDIO_RETRY_LIMIT, type ProcessAudioData } from './queue.js';

export interface RunningWorker {
  stop(): Promise<void>;
}

export interface WorkerDeps {
  boss: PgBoss;
  assets: AssetRepository;
  storage: Storage;
  config: Config;
  log: Logger;
}

/** The process-audio consumer: one job = one attempt of ProcessingService. */
export async function startWorker(d: WorkerDeps): Promise<RunningWorker> {
  const ffmpeg = await resolveFfmpeg(d.config.ffmpegPath ?? undefined);
  d.log.info({ ffmpeg: ffmpeg.path, version: ffmpeg.version, source: ffmpeg.source }, 'ffmpeg in use');
  if (ffmpeg.warning) d.log.warn(ffmpeg.warning);
  const processing = new ProcessingService(d.assets, d.storage, {
    ffmpegPath: ffmpeg.path,
    tmpDir: d.config.tmpDir,
    maxDurationSeconds: d.config.maxDurationSeconds,
    jobTimeoutSeconds: d.config.jobTimeoutSeconds,
  });
  await d.boss.work<ProcessAudioData>(
    PROCESS_AUDIO_QUEUE,
    { localConcurrency: d.config.workerConcurrency, batchSize: 1 },
    async ([job]) => {
      if (!job) return;
      const log = d.log.child({ jobId: job.id, assetId: job.data.assetId, attempt: job.retryCount });
      await processing.process({
        assetId: job.data.assetId,
        retryCount: job.retryCount,
        retryLimit: PROCESS_AUDIO_RETRY_LIMIT,
        signal: job.signal,
        log,
      });
    },
  );
  return {
    async stop() {
      await d.boss.offWork(PROCESS_AUDIO_QUEUE);
    },
  };
}
